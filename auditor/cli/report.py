"""``audit report staleness``: the nightly page of stale records, what is new and what got fixed.

Reads every study's latest snapshot captured on or before ``--as-of`` in the store (or the files
and folders given), runs the staleness rules, compares with the previous report under ``--out``,
diffs the store as of that report's night against tonight and runs the pair rules over the
pairs (:mod:`auditor.run.changes`), and writes ``<out>/<as-of>/`` atomically (see
:mod:`auditor.run.staleness`), then ``<out>/index.html``, the list of every night.

Exit codes are those of ``audit check``: 0 when no finding reaches ``--fail-on`` (default
``error``), 1 when one does, 2 for a usage, rule-file or input error, 3 when the report could not
be written, 4 for a bug in the auditor. Unreadable inputs do not stop the report: it is written
with what could be read, lists the bad inputs, and the exit code is 2 so that a cron job notices.
A night with no readable record at all writes nothing and exits 2 (``--allow-empty`` accepts it).
Changes and pair findings of the night never change the exit code: they are news, not errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.options import (
    allow_empty_option,
    any_failing,
    as_of_option,
    check_rule_names,
    engine_options,
    fail_on_option,
    ignore_rules_option,
    load_rule_set,
    naming_unread,
    param_option,
    parse_as_of,
    parse_params,
    require_engine,
    rules_option,
    threshold,
    with_config_params,
)
from auditor.cli.output import number_option, path_option
from auditor.cli.settings import invocation
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, UsageError
from auditor.progress import Progress
from auditor.rules import RuleSet
from auditor.rules.compile import compile_rules
from auditor.rules.params import split_name
from auditor.run.executor import validate_engine
from auditor.run.staleness import run_staleness
from auditor.staleness import STALENESS_RULES


@click.group("report")
def command() -> None:
    """Write the nightly reports."""


@command.command("staleness")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True), metavar="[PATH|-]...")
@path_option(
    "--store",
    "store_path",
    "Snapshot store to read the latest snapshot of every study from (when no PATHS are given).",
    folder=True,
    default="snapshots",
)
@as_of_option
@param_option
@path_option(
    "--out",
    "out_path",
    "Folder of dated reports; tonight's goes in OUT/<as-of>/.",
    folder=True,
    default="reports",
)
@rules_option
@click.option(
    "--select",
    "rule_names",
    multiple=True,
    metavar="ID|TAG",
    help="Rules that make a record stale [default: unknown-status-stale, active-status-unverified].",
)
@fail_on_option
@ignore_rules_option
@number_option(
    "--table-limit",
    click.IntRange(min=0),
    5000,
    "Rows of the stale list on the page (longest unverified first; 0: all).",
)
@number_option("--nights", click.IntRange(min=1), 14, "Nights in the trend chart.")
@click.option(
    "--history-pages",
    is_flag=True,
    help="With --store: write history/<NCT>.html (the record's snapshots in the store, each step's diff"
    " beside it) for every record the page lists, and link the NCT IDs there.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker processes [default: the CPUs available].",
)
@engine_options(
    "Parse and check on local processes, or as tasks on a Dask cluster (same report).",
    "With --engine dask: a dask.distributed scheduler (tcp://host:8786); default a local cluster"
    " of --jobs workers. The workers must be able to read the inputs.",
)
@path_option(
    "--cache",
    "cache_dir",
    "Parquet cache of parsed snapshots (as audit check --cache): a night parses only the snapshots"
    " new since the last (pandas engine).",
    folder=True,
)
@allow_empty_option
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
    exit_zero: bool,
    table_limit: int,
    nights: int,
    history_pages: bool,
    jobs: int | None,
    engine: str = "pandas",
    scheduler: str | None = None,
    allow_empty: bool = False,
    cache_dir: str | None = None,
) -> int:
    """The nightly page: which records are stale, newly stale or fixed, and what changed tonight.

    Reads every study's latest snapshot captured on or before --as-of in --store (or the files,
    folders and archives given as PATHS), and writes OUT/<as-of>/ (index.html, report.md,
    findings.json, findings.csv, summary.json, stale.json; with the store and an earlier night,
    changes.json, changes.csv and changes/<NCT>.html: what changed since that night) atomically,
    then OUT/index.html, the list of every night.
    """
    validate_engine(engine, scheduler)
    require_engine(engine)
    if cache_dir is not None and engine != "pandas":
        raise UsageError("--cache works with the pandas engine (the cache is a local folder)")
    as_of = parse_as_of(as_of_text)
    catalogue = load_rule_set(rule_paths)
    if catalogue is None:
        return EXIT_INPUT
    check_rule_names(catalogue, rule_names, "--select")
    check_rule_names(catalogue, ignored, "--ignore")
    # --ignore names rules of the catalogue: the staleness rules drop those they hold, the night's
    # pair rules the others (checked against the whole catalogue above)
    rules = catalogue.select(rule_names or STALENESS_RULES)
    rules = rules.ignore([name for name in ignored if name in _names(rules)]).scope("record")
    if not len(rules):
        raise UsageError("no single-record rule selected (pair rules do not run in this report)")
    # the night's pair rules (what changed tonight) take qualified parameters only
    # (--param date-pushed-later.years=2): a bare name is the staleness rules'
    pair_rules = catalogue.scope("pair")
    pair_rules = pair_rules.ignore([name for name in ignored if name in _names(pair_rules)])
    pair_ids = set(pair_rules.ids)
    given = parse_params(with_config_params(param_items, rules), rules, not_run=pair_ids)
    params = {k: v for k, v in given.items() if split_name(k)[0] not in pair_ids}
    pair_params = {k: v for k, v in given.items() if split_name(k)[0] in pair_ids}
    pair_rules.check_params(pair_params)
    if history_pages and paths:
        raise UsageError("--history-pages needs the store (no PATHS): the history is the store's")
    compile_rules(list(rules), as_of=as_of, params=params)  # parameter errors before any input is read
    with naming_unread(), Progress("auditing", stream=sys.stderr) as progress:
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
            allow_empty=allow_empty,
            pair_rules=pair_rules,
            pair_params=pair_params,
            cache_dir=None if cache_dir is None else Path(cache_dir),
        )
    for line in outcome.report.input_errors:
        click.echo(f"audit: error: {line}", err=True)
    if invocation().verbosity >= 0:
        click.echo(outcome.summary_line())
    if outcome.report.input_errors:
        return EXIT_INPUT
    if any_failing(outcome.report.findings, threshold(fail_on, exit_zero)):
        return EXIT_FINDINGS
    return EXIT_OK


def _names(rules: RuleSet) -> set[str]:
    """The ids and tags of ``rules`` (what ``--select`` and ``--ignore`` may name)."""
    return {r.id for r in rules} | {tag for r in rules for tag in r.tags}
