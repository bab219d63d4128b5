"""``audit diff OLD NEW``: what changed in the study between two snapshots, field by field.

The inputs may be any mix of Ignite text, ClinicalTrials.gov JSON and legacy XML, each holding
one study record. The older snapshot (by Ignite modification date) is shown first whatever the
argument order. Exit codes: 0 (also when there are changes, unless ``--exit-code``), 1 study
changes with ``--exit-code`` (metadata changes never count), 2 bad input or options (including
two different NCT IDs without ``--force``), 3 the ``--output`` file could not be written.

``--config FILE`` is YAML: ``ignore: [version_holder, last_update_post_date]`` — keys, labels or
glob patterns of keys to report as snapshot metadata instead of study changes. Colour: on for a
terminal unless ``NO_COLOR`` is set; ``--color [auto|always|never]``/``--no-color`` (every command's
option, :mod:`auditor.cli.settings`) decide explicitly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import yaml

from auditor.cli.output import STDOUT, check_output, emit
from auditor.cli.settings import invocation
from auditor.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from auditor.inputs import read_file

#: A diff config is a short list of keys.
MAX_CONFIG_BYTES = 1024 * 1024


def load_ignore_config(path: str | Path) -> list[str]:
    """The ``ignore:`` list of a diff config file; any other shape is a one-line error."""
    data = read_file(path, what="config", limit=MAX_CONFIG_BYTES, error=UsageError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError("config is not UTF-8 text", path=path) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or exc
        raise UsageError(f"invalid YAML: {problem}", path=path, line=line) from exc
    except RecursionError:
        raise UsageError("invalid YAML: nested too deeply", path=path) from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise UsageError("config must be a mapping with an 'ignore:' list", path=path)
    unknown = sorted(str(k) for k in data if k != "ignore")
    if unknown:
        raise UsageError(f"unknown config key(s): {', '.join(unknown)} (expected only 'ignore')", path=path)
    keys = data.get("ignore") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise UsageError("'ignore' must be a list of field keys", path=path)
    return keys


def use_color(flag: bool | None, to_terminal: bool) -> bool:
    """Explicit ``--color``/``--no-color`` wins; otherwise colour a terminal without NO_COLOR."""
    if flag is not None:
        return flag
    return to_terminal and not os.environ.get("NO_COLOR")


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown", "html"]),
    default="text",
    show_default=True,
    help="text for terminals; json (schema 1, documented); markdown; html (one self-contained page).",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="KEY",
    help="Report this field (key, label or glob of keys) as snapshot metadata. Repeatable.",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="YAML file with an 'ignore:' list of keys.",
)
@click.option("--force", is_flag=True, help="Diff even when the NCT IDs differ.")
@click.option("--exit-code", "exit_code", is_flag=True, help="Exit 1 when there are study changes.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write here (atomically) instead of stdout."
)
def command(
    old: str,
    new: str,
    output_format: str,
    ignore: tuple[str, ...],
    config: str | None,
    force: bool,
    exit_code: bool,
    output: str | None,
) -> int:
    """Show what changed in the study between two snapshots OLD and NEW, field by field."""
    from auditor.changes import compare
    from auditor.readers import read_one
    from auditor.reports.diff_render import render

    check_output(output)
    patterns = [*(load_ignore_config(config) if config else []), *ignore]
    before, after = read_one(old), read_one(new)
    result = compare(before, after, ignore=patterns, force=force)
    to_terminal = output in (None, STDOUT) and sys.stdout.isatty()
    colour = use_color(invocation().color, to_terminal) and output_format == "text"
    text = render(result, output_format, color=colour)
    emit(text, output, machine=output_format != "text")
    return EXIT_FINDINGS if exit_code and result.changes else EXIT_OK
