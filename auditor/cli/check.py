"""``audit check PATH…``: run the rules over snapshots and fail CI at or above a severity.

Inputs are files, folders and archives (:func:`auditor.readers.read_paths`) and, with
``--store DIR``, the latest snapshot of every study in a snapshot store; ``--history`` adds the
pair rules over every consecutive pair of snapshots in the store plus the store's own history
findings. Pair rules do not run over the PATHs (their order in time is not known there).

Exit codes: 0 nothing at or above ``--fail-on``; 1 something is; 2 a usage, rule-file or input
error — bad inputs are reported one line each on stderr, the good records are still checked and
reported, and the exit code is 2 at the end. A broken rule file stops everything before any
input is read. ``--baseline FILE`` (a JSON report of an earlier run) drops the findings already
recorded there before the exit code is decided.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.common import parse_as_of, parse_params
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, InputError, UsageError
from auditor.findings import Severity

if TYPE_CHECKING:
    from auditor.findings import Finding
    from auditor.rules import RuleSet

FORMATS = ("text", "json", "csv", "junit", "sarif")


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(),
    help="Rule file or folder (repeatable); default: the shipped catalogue.",
)
@click.option("--select", multiple=True, help="Run only these rule ids or tags (repeatable).")
@click.option(
    "--ignore", "ignored", multiple=True, metavar="ID|TAG", help="Leave out these rules (repeatable)."
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="[RULE.]NAME=VALUE",
    help="Override a rule parameter, e.g. unknown-status-stale.years=3 (repeatable; a bare NAME sets it in "
    "every selected rule that has it, if they agree on its default).",
)
@click.option("--as-of", "as_of", help="Judge ages relative to this day (YYYY-MM-DD); default today.")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding has this severity or worse.",
)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here (atomically).")
@click.option(
    "--baseline", type=click.Path(dir_okay=False), help="JSON report of an earlier run: ignore its findings."
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False),
    help="Also check the latest snapshot of every study in this store.",
)
@click.option(
    "--history",
    is_flag=True,
    help="With --store: run the pair rules over consecutive snapshots, and the store's history checks.",
)
# --- scale options (issue 8, auditor.engines): parse on N processes, cache, Dask ---------------
@click.option(
    "--engine",
    type=click.Choice(["pandas", "dask"]),
    default="pandas",
    show_default=True,
    help="Run the rules on one pandas frame, or on Dask partitions (same findings).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="With --engine dask: a dask.distributed scheduler (tcp://host:8786); default a local cluster.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Parse inputs on N processes (default: one per CPU)."
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False),
    help="Parquet cache of parsed records: a rerun parses only files that changed.",
)
def command(
    paths: tuple[str, ...],
    rule_paths: tuple[str, ...],
    select: tuple[str, ...],
    ignored: tuple[str, ...],
    params: tuple[str, ...],
    as_of: str | None,
    fail_on: str,
    output_format: str,
    output: str | None,
    baseline: str | None,
    store_path: str | None,
    history: bool,
    engine: str = "pandas",
    scheduler: str | None = None,
    jobs: int | None = None,
    cache_dir: str | None = None,
) -> int:
    """Check snapshots against the rules; report findings; exit 1 at or above --fail-on."""
    from auditor.rules import load_rules
    from auditor.rules.spec import RuleErrors

    if not paths and store_path is None:
        raise UsageError("give at least one PATH, or --store DIR")
    if history and store_path is None:
        raise UsageError("--history needs --store DIR")
    day = parse_as_of(as_of)
    overrides = parse_params(params)  # names are checked once the rules are selected
    try:
        ruleset = load_rules(list(rule_paths) if rule_paths else None)
    except RuleErrors as exc:
        for error in exc.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        click.echo("audit: no rule was run", err=True)
        return EXIT_INPUT
    if select:
        ruleset = ruleset.select(select)
    if ignored:
        ruleset = ruleset.ignore(ignored)
    ruleset, skipped = ruleset.runnable(history=history)
    if skipped:
        names = ", ".join(skipped)
        click.echo(
            f"audit: note: {len(skipped)} rules not run, they need --store DIR --history: {names}", err=True
        )
    parse_params(params, ruleset)
    from auditor.rules.compile import compile_rules

    compile_rules(list(ruleset), as_of=day, params=overrides)  # parameter errors before reading
    known = None
    if baseline is not None:
        from auditor.baseline import load_baseline

        known = load_baseline(baseline)
    scale = None
    if engine != "pandas" or scheduler is not None or jobs is not None or cache_dir is not None:
        from auditor.engines import validate_engine

        validate_engine(engine, scheduler)
        scale = {"engine": engine, "scheduler": scheduler, "jobs": jobs, "cache_dir": cache_dir}
        if cache_dir is not None:
            _system_allocator()
    from auditor.parallel import paused_gc

    with paused_gc():  # a registry-sized run keeps millions of objects alive: see paused_gc
        findings, errors, checked = _run(paths, ruleset, overrides, day, store_path, history, scale)
        suppressed = 0
        if known is not None:
            from auditor.baseline import new_findings

            findings, suppressed = new_findings(findings, known)
        _emit(findings, output_format, output)
    note = f"audit: checked {checked} snapshots with {len(ruleset)} rules as of {day.isoformat()}"
    if suppressed:
        note += f"; {suppressed} findings already in the baseline"
    click.echo(note, err=True)
    if errors:
        click.echo(f"audit: {len(errors)} inputs could not be read", err=True)
        return EXIT_INPUT
    threshold = Severity(fail_on).rank
    return EXIT_FINDINGS if any(f.severity.rank >= threshold for f in findings) else EXIT_OK


def _system_allocator() -> None:
    """Give pyarrow the C library's allocator in this process, unless the user chose one
    (``ARROW_DEFAULT_MEMORY_POOL``). Its default (mimalloc) kept the buffers a Parquet read of
    the cache had freed: a warm run over 560,000 inputs peaked at 3.4 GB instead of 2.4 GB and
    spent two more seconds in the kernel getting that memory (measured: 15.2-15.6 s against
    13.2-13.6 s wall)."""
    import os

    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def _run(
    paths: tuple[str, ...],
    ruleset: RuleSet,
    overrides: dict[str, str],
    day: date,
    store_path: str | None,
    history: bool,
    scale: dict[str, Any] | None = None,
) -> tuple[list[Finding], list[InputError], int]:
    from auditor.check import check_pairs, check_records
    from auditor.readers import read_paths
    from auditor.records import Record

    errors: list[InputError] = []
    records: list[Record] = []
    for item in read_paths(paths) if scale is None else ():
        if isinstance(item, InputError):
            errors.append(item)
            click.echo(f"audit: error: {item.one_line()}", err=True)
        else:
            records.append(item)
    store = None
    if store_path is not None:
        from auditor.store import Store

        store = Store(store_path)
        records.extend(store.latest())
    if scale is None:
        findings = check_records(records, ruleset, params=overrides, as_of=day)
        checked = len(records)
    else:  # parallel parsing, the Parquet cache and the Dask engine (auditor.engines)
        from auditor.engines import check_inputs

        findings, errors, checked = check_inputs(
            paths, ruleset, as_of=day, params=overrides, extra_records=records, **scale
        )
        for error in errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
    if history and store is not None:
        from auditor.store import history_findings

        findings.extend(check_pairs(store.pairs(), ruleset, params=overrides, as_of=day))
        wanted = {entry.id for entry in ruleset.builtins}
        findings.extend(f for f in history_findings(store) if f.rule_id in wanted)
    return findings, errors, checked


def _emit(findings: list[Finding], output_format: str, output: str | None) -> None:
    from auditor.reports.findings import REPORTERS

    text = REPORTERS[output_format](findings)
    if output is None:
        click.echo(text, nl=False)
    else:
        from auditor.atomic import atomic_write

        atomic_write(output, text)
