"""``audit check PATH…``: run the rules over snapshots and fail CI at or above a severity.

Inputs are files, folders and archives and, with ``--store DIR``, the latest snapshot of every
study in a snapshot store; ``--history`` adds the pair rules over every consecutive pair of
snapshots in the store plus the store's own history findings. Pair rules do not run over the
PATHs (their order in time is not known there). The pipeline is :func:`auditor.run.check.run_check`.

Exit codes: 0 nothing at or above ``--fail-on``; 1 something is; 2 a usage, rule-file or input
error — bad inputs are reported one line each on stderr, the good records are still checked and
reported, and the exit code is 2 at the end; no study record read at all is exit 2 too, with
nothing written, unless ``--allow-empty``. A broken rule file stops everything before any
input is read. ``--baseline FILE`` (a JSON report of an earlier run) drops the findings already
recorded there before the exit code is decided.
"""

from __future__ import annotations

import os

import click

from auditor.baseline import load_baseline, new_findings
from auditor.cli.options import (
    allow_empty_option,
    as_of_option,
    engine_options,
    fail_on_option,
    jobs_option,
    load_rule_set,
    naming_unread,
    param_option,
    parse_as_of,
    parse_params,
    rules_option,
)
from auditor.cli.output import check_output, emit
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, UsageError
from auditor.findings import Severity
from auditor.reports.findings import REPORTERS
from auditor.rules.compile import compile_rules
from auditor.run.check import run_check
from auditor.run.executor import paused_gc, validate_engine

FORMATS = ("text", "json", "csv", "junit", "sarif")


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@rules_option
@click.option(
    "--select", multiple=True, metavar="ID|TAG", help="Run only these rule ids or tags (repeatable)."
)
@param_option
@as_of_option
@fail_on_option
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
@engine_options(
    "Run the rules on one pandas frame, or on Dask partitions (same findings).",
    "With --engine dask: a dask.distributed scheduler (tcp://host:8786); default a local cluster.",
)
@jobs_option
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False),
    help="Parquet cache of parsed records: a rerun parses only files that changed.",
)
@allow_empty_option
def command(
    paths: tuple[str, ...],
    rule_paths: tuple[str, ...],
    select: tuple[str, ...],
    param_items: tuple[str, ...],
    as_of_text: str | None,
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
    allow_empty: bool = False,
) -> int:
    """Check snapshots against the rules; report findings; exit 1 at or above --fail-on."""
    if not paths and store_path is None:
        raise UsageError("give at least one PATH, or --store DIR")
    if history and store_path is None:
        raise UsageError("--history needs --store DIR")
    check_output(output)  # before an hour of work: the report must have somewhere to go
    day = parse_as_of(as_of_text)
    params = parse_params(param_items)  # names are checked once the rules are selected
    ruleset = load_rule_set(rule_paths)
    if ruleset is None:
        return EXIT_INPUT
    if select:
        ruleset = ruleset.select(select)
    parse_params(param_items, ruleset.param_names())
    compile_rules(list(ruleset), as_of=day, params=params)  # parameter errors before reading
    validate_engine(engine, scheduler)
    known = load_baseline(baseline) if baseline is not None else None
    if cache_dir is not None:
        _system_allocator()
    with paused_gc():  # a registry-sized run keeps millions of objects alive: see paused_gc
        with naming_unread():
            outcome = run_check(
                paths,
                ruleset,
                as_of=day,
                params=params,
                store=store_path,
                history=history,
                engine=engine,
                scheduler=scheduler,
                jobs=jobs,
                cache_dir=cache_dir,
                allow_empty=allow_empty,
            )
        for error in outcome.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        findings, suppressed = outcome.findings, 0
        if known is not None:
            findings, suppressed = new_findings(findings, known)
        emit(REPORTERS[output_format](findings), output, machine=output_format != "text")
    note = f"audit: checked {outcome.checked} snapshots with {len(ruleset)} rules as of {day.isoformat()}"
    if suppressed:
        note += f"; {suppressed} findings already in the baseline"
    click.echo(note, err=True)
    if outcome.errors:
        click.echo(f"audit: {len(outcome.errors)} inputs could not be read", err=True)
        return EXIT_INPUT
    threshold = Severity(fail_on).rank
    return EXIT_FINDINGS if any(f.severity.rank >= threshold for f in findings) else EXIT_OK


def _system_allocator() -> None:
    """Give pyarrow the C library's allocator in this process, unless the user chose one
    (``ARROW_DEFAULT_MEMORY_POOL``). Its default (mimalloc) kept the buffers a Parquet read of
    the cache had freed: a warm run over 560,000 inputs peaked at 3.4 GB instead of 2.4 GB and
    spent two more seconds in the kernel getting that memory (measured: 15.2-15.6 s against
    13.2-13.6 s wall)."""
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    import pyarrow as pa  # heavy: only with --cache

    pa.set_memory_pool(pa.system_memory_pool())
