"""``audit report staleness``: the nightly page of stale records, what is new and what got fixed.

Reads the latest snapshot of every study in the store (or the files and folders given), runs
the staleness rules, compares with the previous report under ``--out`` and writes
``<out>/<as-of>/`` atomically: ``index.html``, ``report.md``, ``findings.json``,
``findings.csv``, ``summary.json`` and ``stale.json`` (see :mod:`auditor.reports.staleness_folder`).

Exit codes are those of ``audit check``: 0 when no finding reaches ``--fail-on`` (default
``error``), 1 when one does, 2 for a usage, rule-file or input error, 3 when the report could not
be written. Unreadable inputs do not stop the report: it is written with what could be read,
lists the bad inputs, and the exit code is 2 so that a cron job notices.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import parse_as_of, parse_params
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, UsageError

SEVERITIES = ("error", "warning", "info")


@click.group("report")
def command() -> None:
    """Write the nightly reports."""


@command.command("staleness")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False),
    default="snapshots",
    show_default=True,
    help="Snapshot store to read the latest snapshot of every study from (when no PATHS are given).",
)
@click.option("--as-of", "as_of_text", metavar="DATE", help="Date the ages are measured to [default: today].")
@click.option(
    "--param",
    "param_items",
    multiple=True,
    metavar="[RULE.]NAME=VALUE",
    help="Rule parameter, e.g. unknown-status-stale.years=3 (a bare NAME sets it in every selected rule).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Folder of dated reports; tonight's goes in OUT/<as-of>/.",
)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Rule files or folders [default: the shipped catalogue].",
)
@click.option(
    "--select",
    "rule_names",
    multiple=True,
    metavar="ID|TAG",
    help="Rules that make a record stale [default: unknown-status-stale, active-status-unverified].",
)
@click.option(
    "--ignore", "ignored", multiple=True, metavar="ID|TAG", help="Leave out these rules (repeatable)."
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option(
    "--table-limit",
    type=click.IntRange(min=0),
    default=5000,
    show_default=True,
    help="Rows of the stale list on the page (longest unverified first; 0: all).",
)
@click.option(
    "--nights", type=click.IntRange(min=1), default=14, show_default=True, help="Nights in the trend chart."
)
@click.option(
    "--history-pages",
    is_flag=True,
    help="With --store: write history/<NCT>.html (the snapshots in the store) for the records listed.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: the CPUs available]."
)
@click.option(
    "--engine",
    type=click.Choice(["pandas", "dask"]),
    default="pandas",
    show_default=True,
    help="Parse and check on local processes, or as tasks on a Dask cluster (same report).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="With --engine dask: a dask.distributed scheduler (tcp://host:8786); default a local cluster"
    " of --jobs workers. The workers must be able to read the inputs.",
)
def staleness(
    paths: tuple[str, ...],
    store_path: str,
    as_of_text: str | None,
    param_items: tuple[str, ...],
    out_path: str,
    rule_paths: tuple[str, ...],
    rule_names: tuple[str, ...],
    ignored: tuple[str, ...],
    fail_on: str,
    table_limit: int,
    nights: int,
    history_pages: bool,
    jobs: int | None,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> int:
    """Which records are stale, newly stale or fixed since the previous report, as a page.

    Reads the latest snapshot of every study in --store, or the files, folders and archives
    given as PATHS, and writes OUT/<as-of>/ (index.html, report.md, findings.json,
    findings.csv, summary.json, stale.json) atomically.
    """
    from auditor.engines import validate_engine
    from auditor.findings import Severity
    from auditor.progress import Progress
    from auditor.reports.staleness_run import run_staleness
    from auditor.rules import load_rules
    from auditor.rules.compile import compile_rules
    from auditor.rules.spec import RuleErrors
    from auditor.staleness import STALENESS_RULES

    as_of = parse_as_of(as_of_text)
    try:
        catalogue = load_rules(list(rule_paths) or None)
    except RuleErrors as exc:
        for error in exc.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        click.echo("audit: no rule was run", err=True)
        return EXIT_INPUT
    rules = catalogue.select(rule_names or STALENESS_RULES)
    if ignored:
        rules = rules.ignore(ignored)
    rules = rules.scope("record")
    if not len(rules):
        raise UsageError("no single-record rule selected (pair rules do not run in this report)")
    params = parse_params(param_items, rules)
    validate_engine(engine, scheduler)
    if history_pages and paths:
        raise UsageError("--history-pages needs the store (no PATHS): the history is the store's")
    compile_rules(list(rules), as_of=as_of, params=params)  # parameter errors before any input is read
    with Progress("auditing", stream=sys.stderr) as progress:
        outcome = run_staleness(
            rules,
            as_of=as_of,
            params=params,
            paths=list(paths),
            store=Path(store_path),
            out=Path(out_path),
            jobs=jobs,
            table_limit=table_limit,
            nights=nights,
            with_history=history_pages,
            progress=progress,
            engine=engine,
            scheduler=scheduler,
        )
    for line in outcome.report.input_errors:
        click.echo(f"audit: error: {line}", err=True)
    click.echo(outcome.summary_line())
    if outcome.report.input_errors:
        return EXIT_INPUT
    threshold = Severity(fail_on).rank
    if any(f.severity.rank >= threshold for f in outcome.report.findings):
        return EXIT_FINDINGS
    return EXIT_OK
