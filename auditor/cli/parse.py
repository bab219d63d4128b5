"""``audit parse FILE…``: read snapshots and print them as records.

Output shape (``--format json``, stable, ``"schema": 1``)::

    {"schema": 1,
     "records": [{"nct_id", "source": {"path", "format", "sha256"},
                  "ignite_created", "ignite_modified",      # ISO minutes or null
                  "truncated", "problems": [str],
                  "fields": [{"section", "label", "key", "raw", "type", "value",
                              "precision"?,   # dates: year | month | day
                              "missing"?,     # missing values: empty | none | not_applicable | other
                              "line"?}]}],
     "errors": [str]}

``--format jsonl`` writes one record object per line (streams; for large directories), and
``--format table`` one row per field. Bad inputs are reported one line each on stderr and
make the exit code 2, while every good record is still printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import click

from auditor.cli.output import check_output, emit, format_option, output_option
from auditor.errors import EXIT_INPUT, EXIT_OK, InputError
from auditor.readers import read_paths
from auditor.records import Record
from auditor.reports.findings_text import printable


@click.command("parse")
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True), metavar="PATH|-...")
@format_option(
    ("json", "jsonl", "table"), "json: one document; jsonl: one record per line; table: one row per field."
)
@output_option
def command(paths: tuple[str, ...], output_format: str, output: str | None) -> int:
    """Read Ignite text, ClinicalTrials.gov JSON or legacy XML snapshots (files, folders,
    .tar.gz/.zip archives) and print them as records."""
    check_output(output)
    errors: list[InputError] = []

    def records() -> Iterator[Record]:
        for item in read_paths(paths):
            if isinstance(item, InputError):
                errors.append(item)
                click.echo(f"audit: error: {item.one_line()}", err=True)
            else:
                yield item

    emit(_render(records(), output_format, errors), output, machine=output_format != "table")
    return EXIT_INPUT if errors else EXIT_OK


def _render(records: Iterator[Record], output_format: str, errors: list[InputError]) -> Iterator[str]:
    """The output in pieces, as the records are read (a large folder streams to stdout)."""
    if output_format == "jsonl":
        for record in records:
            yield json.dumps(record.to_dict(), ensure_ascii=False) + "\n"
    elif output_format == "table":
        yield render_table(records)
    else:
        yield '{"schema": 1, "records": ['
        for n, record in enumerate(records):
            yield ("," if n else "") + "\n" + json.dumps(record.to_dict(), ensure_ascii=False, indent=1)
        yield '\n], "errors": ' + json.dumps([e.one_line() for e in errors], ensure_ascii=False) + "}\n"


def render_table(records: Iterator[Record], width: int = 60) -> str:
    """One row per field: study, section, key, type and the value shortened to ``width``."""
    lines: list[str] = []
    for record in records:
        flags = " (truncated)" if record.truncated else ""
        lines.append(printable(f"{record.nct_id}  {record.source.format}  {record.source.path}{flags}"))
        for problem in record.problems:
            lines.append(printable(f"  ! {problem}"))
        for f in record.fields:
            shown = " ".join(f.raw.split())
            if len(shown) > width:
                shown = shown[: width - 1] + "…"
            extra = f" [{f.precision}]" if f.precision else ""
            # printable: an ESC in a record must not restyle the terminal the table is shown on
            lines.append(printable(f"  {f.section[:22]:<22} {f.key[:34]:<34} {f.type!s:<9} {shown}{extra}"))
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")
