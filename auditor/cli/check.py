"""``audit check PATH…``: run the rules over snapshots and fail CI at or above a severity.

Inputs are files, folders, archives and ``-`` (standard input) and, with ``--store DIR``, the
latest snapshot of every study in a snapshot store; ``--history`` adds the pair rules over every
consecutive pair of snapshots in the store plus the store's own history findings. Pair rules do
not run over the PATHs (their order in time is not known there). With neither PATHs nor
``--store``, the configuration's ``store`` is checked. The pipeline is
:func:`auditor.run.check.run_check`.

Exit codes: 0 nothing at or above ``--fail-on`` (always with ``--fail-on none`` or
``--exit-zero``); 1 something is; 2 a usage, configuration, rule-file, waiver or input error —
bad inputs are reported one line each on stderr, the good records are still checked and
reported, and the exit code is 2 at the end; no study record read at all is exit 2 too,
with nothing written, unless ``--allow-empty``. A broken rule or waiver file, or a missing optional
dependency, stops everything before any input is read. ``--baseline FILE`` (a JSON report of an
earlier run) drops the findings already recorded there, and ``--waivers FILE`` the findings
waived with a reason (:mod:`auditor.waivers`), before the exit code is decided. 3: the report
could not be written; 4: a bug (:mod:`auditor.cli`); 130: interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click

from auditor.baseline import load_baseline, new_findings
from auditor.cli.options import (
    allow_empty_option,
    any_failing,
    as_of_option,
    check_rule_names,
    engine_options,
    fail_on_option,
    ignore_rules_option,
    jobs_option,
    load_rule_set,
    naming_unread,
    param_option,
    parse_as_of,
    parse_params,
    require_engine,
    rule_infos,
    rules_option,
    threshold,
    with_config_params,
)
from auditor.cli.output import STDOUT, check_output, emit, format_option, output_option, path_option
from auditor.cli.settings import detail, invocation, note, plural
from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, UsageError
from auditor.findings import Finding, Severity
from auditor.inputs import STDIN_NAME
from auditor.reports.findings import REPORTERS, report_pieces
from auditor.reports.run_info import RuleInfo, RunInfo, Waived
from auditor.rules import RuleSet
from auditor.rules.compile import compile_rules
from auditor.run.check import CheckOutcome, run_check
from auditor.run.executor import paused_gc, validate_engine
from auditor.waivers import (
    EXPIRED_RATIONALE,
    EXPIRED_RULE,
    EXPIRED_TITLE,
    Waiver,
    apply_waivers,
    load_waivers,
    waiver_text,
)

FORMATS = tuple(REPORTERS)


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True), metavar="[PATH|-]...")
@rules_option
@click.option(
    "--select", multiple=True, metavar="ID|TAG", help="Run only these rule ids or tags (repeatable)."
)
@param_option
@as_of_option
@fail_on_option
@ignore_rules_option
@format_option(
    FORMATS, "github: workflow annotations; gitlab: Code Quality JSON; junit and sarif for CI servers."
)
@output_option
@path_option("--baseline", None, "JSON report of an earlier run: ignore its findings.")
@path_option(
    "--waivers",
    None,
    "YAML waivers (nct_id, rule, reason, expires, fingerprint): accepted findings, counted as waived.",
)
@path_option(
    "--write-waivers",
    None,
    "Write a waiver for every open finding to FILE (added to it if it exists) and exit 0.",
)
@path_option(
    "--store", "store_path", "Also check the latest snapshot of every study in this store.", folder=True
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
@path_option(
    "--cache",
    "cache_dir",
    "Parquet cache of parsed records: a rerun parses only files that changed.",
    folder=True,
)
@allow_empty_option
def command(
    paths: tuple[str, ...],
    rule_paths: tuple[str, ...],
    select: tuple[str, ...],
    ignored: tuple[str, ...],
    param_items: tuple[str, ...],
    as_of_text: str | None,
    fail_on: str,
    exit_zero: bool,
    output_format: str,
    output: str | None,
    baseline: str | None,
    waivers: str | None,
    write_waivers: str | None,
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
        store_path = invocation().config.get("store")
        if store_path is None:
            raise UsageError("give at least one PATH (or - for standard input), or --store DIR")
    if paths.count(STDIN_NAME) > 1:
        raise UsageError("standard input (-) can be read once")
    if history and store_path is None:
        raise UsageError("--history needs --store DIR")
    check_output(output)  # before an hour of work: the report must have somewhere to go
    if write_waivers is not None:
        if write_waivers == STDOUT:
            raise UsageError("--write-waivers needs a file (what it holds already is kept)")
        check_output(write_waivers)
    validate_engine(engine, scheduler)
    require_engine(engine)
    day = parse_as_of(as_of_text)
    parse_params(param_items)  # the syntax first; names are checked once the rules are selected
    catalogue = load_rule_set(rule_paths)
    if catalogue is None:
        return EXIT_INPUT
    ruleset, skipped, params = _selected(catalogue, select, ignored, param_items, history=history)
    compile_rules(list(ruleset), as_of=day, params=params)  # parameter errors before reading
    known = load_baseline(baseline) if baseline is not None else None
    waiver_list = _load_waivers(waivers, catalogue)
    detail(f"audit: {plural(len(ruleset), 'rule')} selected: {', '.join(ruleset.ids)}")
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
        findings, baselined, waived = _settled(outcome.findings, known, waiver_list, day)
        if write_waivers is not None:
            return _write_waivers(write_waivers, findings, day, outcome)
        run = RunInfo(
            fail_on=threshold(fail_on, exit_zero),
            rules=_report_rules(ruleset, waiver_list),
            checked=outcome.checked,
            waived=None if waived is None else tuple(waived),
            baselined=baselined,
            base_dir=_working_folder(),
            color=output in (None, STDOUT) and _colour(),
        )
        emit(report_pieces(output_format, findings, run), output, machine=output_format != "text")
    note(_summary(outcome, ruleset, day, findings, run))
    if skipped:  # after the summary: a refused or failed run says only what went wrong
        note(
            f"audit: note: {plural(len(skipped), 'rule')} not run, they need --store DIR --history: "
            + ", ".join(skipped)
        )
    if outcome.errors:
        note(f"audit: {plural(len(outcome.errors), 'input')} could not be read")
        return EXIT_INPUT
    return EXIT_FINDINGS if any_failing(findings, run.fail_on) else EXIT_OK


def _selected(
    catalogue: RuleSet,
    select: Sequence[str],
    ignored: Sequence[str],
    param_items: Sequence[str],
    *,
    history: bool,
) -> tuple[RuleSet, tuple[str, ...], dict[str, str]]:
    """The rules to run (``--select``, ``--ignore``; without ``--history`` the rules that need a
    store's timelines are left out and named), the ids left out, and the parameters (the
    configuration's, then ``--param``'s), checked against the rules that run."""
    ruleset = catalogue
    if select:
        check_rule_names(catalogue, select, "--select")
        ruleset = ruleset.select(select)
    if ignored:
        check_rule_names(catalogue, ignored, "--ignore")
        ruleset = ruleset.ignore(ignored)
    ruleset, skipped = ruleset.runnable(history=history)
    params = parse_params(with_config_params(param_items, ruleset), ruleset, not_run=skipped)
    return ruleset, skipped, params


def _settled(
    findings: list[Finding], known: frozenset[str] | None, waiver_list: list[Waiver] | None, day: date
) -> tuple[list[Finding], int, list[Waived] | None]:
    """The open findings once the baseline's (``--baseline``) and the waived ones
    (``--waivers``) are taken out; how many the baseline held; the waived ones with reasons."""
    baselined = 0
    if known is not None:
        findings, baselined = new_findings(findings, known)
    if waiver_list is None:
        return findings, baselined, None
    split = apply_waivers(findings, waiver_list, day)
    for unused in split.unused:
        detail(f"audit: {unused.at}: waiver matched no finding ({unused.rule}, {unused.nct_id})")
    return split.open, baselined, [Waived(f, w.reason, w.expires, w.at) for f, w in split.waived]


def _load_waivers(path: str | None, catalogue: RuleSet) -> list[Waiver] | None:
    if path is None:
        return None
    known = [e.id for e in catalogue.entries] + [EXPIRED_RULE]  # the store's history checks too
    return load_waivers(path, known)


def _report_rules(ruleset: RuleSet, waivers: list[Waiver] | None) -> tuple[RuleInfo, ...]:
    rules = rule_infos(ruleset)
    if waivers is not None:
        rules += (RuleInfo(EXPIRED_RULE, EXPIRED_TITLE, Severity.WARNING, "waiver", EXPIRED_RATIONALE),)
    return rules


def _write_waivers(path: str, findings: list[Finding], day: date, outcome: CheckOutcome) -> int:
    target = Path(path)
    existing = None
    if target.exists():
        load_waivers(target)  # a broken file is reported, not overwritten
        existing = target.read_text(encoding="utf-8")
    text, added = waiver_text(findings, existing, day)
    emit(text, path, machine=True)  # a regular file, written atomically (never standard output)
    note(f"audit: wrote {plural(added, 'waiver')} to {path} (replace each TODO reason with the real one)")
    if outcome.errors:
        note(f"audit: {plural(len(outcome.errors), 'input')} could not be read")
        return EXIT_INPUT
    return EXIT_OK


def _summary(
    outcome: CheckOutcome, ruleset: RuleSet, day: date, findings: list[Finding], run: RunInfo
) -> str:
    text = (
        f"audit: checked {plural(outcome.checked, 'snapshot')} with {plural(len(ruleset), 'rule')} "
        f"as of {day.isoformat()}: {plural(len(findings), 'finding')}"
    )
    if run.fail_on is None:
        text += " (report only: --fail-on none)"
    else:
        text += f", {run.failing(findings)} at or above {run.fail_on}"
    if run.waived:
        text += f"; {plural(len(run.waived), 'finding')} waived"
    if run.baselined:
        text += f"; {plural(run.baselined, 'finding')} already in the baseline"
    return text


def _working_folder() -> str | None:
    """What report paths are relative to; ``None`` if the working folder was deleted under us."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _colour() -> bool:
    """Colour the text report: ``--color always``, or auto on a terminal without NO_COLOR."""
    choice = invocation().color
    if choice is not None:
        return choice
    return sys.stdout.isatty()


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
