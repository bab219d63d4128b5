"""``audit diff OLD NEW``: what changed in the study between two snapshots, field by field.

The inputs may be any mix of Ignite text, ClinicalTrials.gov JSON and legacy XML, each holding
one study record. The older snapshot (by capture date) is shown first whatever the argument
order. Two folders (or archives) ``OLD_DIR NEW_DIR`` are paired by NCT ID into one report with a
section per changed study and a registry-wide roll-up; so are two dates of a snapshot store
(``--store S --from DATE --to DATE``: each record's latest snapshot on or before each date).

Exit codes: 0 (also when there are changes, unless ``--exit-code``), 1 study changes at or
above ``--min-grade`` with ``--exit-code`` (snapshot metadata — capture dates, Ignite
timestamps, a URL that only changed scheme — never counts), 2 bad input or options (including
two different NCT IDs without ``--force``), 3 the ``--output`` file could not be written.

``--config FILE`` is YAML: ``ignore: [version_holder, last_update_post_date]`` — keys, labels or
glob patterns of keys to report as snapshot metadata instead of study changes. Colour: on for a
terminal unless ``NO_COLOR`` is set; ``--color [auto|always|never]``/``--no-color`` (every command's
option, :mod:`auditor.cli.settings`) decide explicitly.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import click
import yaml

from auditor.cli.output import (
    PAGE_FORMATS,
    STDOUT,
    check_output,
    emit,
    format_option,
    output_option,
    path_option,
)
from auditor.cli.settings import invocation
from auditor.diff import BatchResult, Grade, batch, batch_records, compare
from auditor.diff.lines import without_reorders
from auditor.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from auditor.inputs import read_file
from auditor.readers import read_one, read_path
from auditor.records import Record
from auditor.reports.diff_render import render, render_batch
from auditor.store import Store

#: A diff config is a short list of keys.
MAX_CONFIG_BYTES = 1024 * 1024


def load_ignore_config(path: str | Path) -> list[str]:
    """The ``ignore:`` list of a diff config file; any other shape is a one-line error."""
    raw = read_file(path, what="config", limit=MAX_CONFIG_BYTES, error=UsageError)
    try:
        text = raw.decode("utf-8")
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


def store_pairs(
    store: Store, start: str, end: str
) -> tuple[list[tuple[Record, Record]], list[Record], list[Record]]:
    """Each record's latest snapshot on or before ``start`` and on or before ``end`` (ISO dates)."""
    pairs: list[tuple[Record, Record]] = []
    only_old: list[Record] = []
    only_new: list[Record] = []
    for nct_id in store.nct_ids():
        entries = store.snapshots_of(nct_id)
        a = [e for e in entries if e.modified[:10] <= start]
        b = [e for e in entries if e.modified[:10] <= end]
        if a and b and a[-1] != b[-1]:
            pairs.append((store.load(a[-1]), store.load(b[-1])))
        elif b and not a:
            only_new.append(store.load(b[-1]))
    return pairs, only_old, only_new


def _iso_date(value: str | None, name: str) -> str:
    if value is None:
        raise UsageError(f"--store needs --from and --to (missing {name})")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise UsageError(f"{name} must be a date like 2026-03-01, not {value!r}") from None


@click.command("diff")
@click.argument("old", required=False, type=click.Path())
@click.argument("new", required=False, type=click.Path())
@format_option(
    PAGE_FORMATS, "text for terminals; json (schema 2, documented); markdown; html (one self-contained page)."
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="KEY",
    help="Report this field (key, label or glob of keys) as snapshot metadata. Repeatable.",
)
@path_option("--config", "config", "YAML file with an 'ignore:' list of keys.")
@click.option(
    "--min-grade",
    type=click.Choice([str(g) for g in Grade]),
    default="cosmetic",
    show_default=True,
    help="Show (and count for --exit-code) only changes at least this grave.",
)
@click.option("--ignore-order", is_flag=True, help="Say nothing of list items that only moved.")
@click.option("--details", is_flag=True, help="One line per changed field: no mass-edit summaries.")
@path_option("--store", "store_dir", "Diff two dates of this store.", folder=True)
@click.option("--from", "date_from", metavar="DATE", help="With --store: the older date (YYYY-MM-DD).")
@click.option("--to", "date_to", metavar="DATE", help="With --store: the newer date (YYYY-MM-DD).")
@click.option("--force", is_flag=True, help="Diff even when the NCT IDs differ.")
@click.option("--exit-code", "exit_code", is_flag=True, help="Exit 1 when the study (any study) changed.")
@output_option
def command(
    old: str | None,
    new: str | None,
    output_format: str,
    ignore: tuple[str, ...],
    config: str | None,
    min_grade: str,
    ignore_order: bool,
    details: bool,
    store_dir: str | None,
    date_from: str | None,
    date_to: str | None,
    force: bool,
    exit_code: bool,
    output: str | None,
) -> int:
    """Show what changed between snapshots OLD and NEW (two files, two folders, or --store dates)."""
    patterns = [*(load_ignore_config(config) if config else []), *ignore]
    grade = Grade(min_grade)
    check_output(output)
    to_terminal = output in (None, STDOUT) and sys.stdout.isatty()
    colour = use_color(invocation().color, to_terminal) and output_format == "text"
    if store_dir is not None or (old and new and (Path(old).is_dir() or Path(new).is_dir())):
        found = _batch(old, new, store_dir, date_from, date_to, patterns, grade, ignore_order)
        text = render_batch(found, output_format, color=colour, details=details)
        changed = bool(found.changed)
    else:
        if not (old and new):
            raise UsageError("give OLD and NEW (files or folders), or --store with --from and --to")
        result = compare(read_one(old), read_one(new), ignore=patterns, force=force)
        if ignore_order:
            result = without_reorders(result)
        result = result.at_least(grade)
        text = render(result, output_format, color=colour, details=details)
        changed = bool(result.changes)
    emit(text, output, machine=output_format != "text")
    return EXIT_FINDINGS if exit_code and changed else EXIT_OK


def _batch(
    old: str | None,
    new: str | None,
    store_dir: str | None,
    date_from: str | None,
    date_to: str | None,
    patterns: list[str],
    grade: Grade,
    ignore_order: bool,
) -> BatchResult:
    if store_dir is not None:
        if old or new:
            raise UsageError("--store diffs two dates of the store: give --from and --to, not OLD NEW")
        start, end = _iso_date(date_from, "--from"), _iso_date(date_to, "--to")
        with Store(store_dir) as store:
            pairs, only_old, only_new = store_pairs(store, start, end)
        return batch(
            pairs,
            only_old=only_old,
            only_new=only_new,
            ignore=patterns,
            min_grade=grade,
            ignore_order=ignore_order,
        )
    assert old is not None and new is not None
    return batch_records(
        read_path(old), read_path(new), ignore=patterns, min_grade=grade, ignore_order=ignore_order
    )
