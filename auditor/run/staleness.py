"""One nightly staleness report, from inputs to the written folder: what ``audit report
staleness`` does, callable from Python (:func:`run_staleness`) without the command line.

The inputs go through the same worker as ``audit check`` (:mod:`auditor.run.parse`), which here
also runs the staleness rules on its chunk and sends back only the findings and one small
:class:`~auditor.staleness.RecordSummary` per record: whole records never cross a process
boundary (Ignite pages given by name excepted: they are merged and checked in the parent) and
are dropped as soon as their chunk is checked, so memory stays flat however many studies
there are.

Which snapshot is reported: the store's latest snapshot of every study (its index says which,
and each file's hash is checked before it is parsed); for files and folders given by name, the
latest of each study's snapshots found there, by Ignite modification date, then last update
submitted date, then path. Put a large Ignite export in the store first (``audit snapshot
add``): stored snapshots are complete and are checked in the workers.

The result does not depend on the number of processes, the engine, or the order chunks finish in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.atomic import atomic_write
from auditor.errors import InputError
from auditor.findings import Finding
from auditor.history import record_history
from auditor.inputs import InputUnit, list_inputs
from auditor.nightly import RULES_FILE, LegendEntry, NightChanges, NightPage
from auditor.readers.ignite_text import merge_module_pages
from auditor.records import Record, is_valid_nct_id
from auditor.reports.diff_html import render_html as render_diff_page
from auditor.reports.findings import REPORTERS
from auditor.reports.folder import write_folder
from auditor.reports.history_render import render_html as render_history
from auditor.reports.night_files import (
    CHANGES_CSV,
    CHANGES_JSON,
    changes_csv,
    changes_json,
    changes_markdown,
    rules_text,
)
from auditor.reports.nightly_html import render_night
from auditor.reports.nights_index import INDEX_FILE, render_index
from auditor.reports.staleness_md import render_markdown
from auditor.rules import RuleSet
from auditor.rules.compile import keys_read
from auditor.rules.explain import explain_text
from auditor.rules.spec import RuleSpec
from auditor.run.cache import RecordCache
from auditor.run.changes import Tonight, tonight_changes
from auditor.run.check import TableCheck
from auditor.run.empty import refuse_empty
from auditor.run.executor import default_jobs, get_executor, validate_engine
from auditor.run.nights import every_night, load_history, load_previous, previous_folder
from auditor.run.parse import ParsedChunk, ParseJob, parse_chunks, rows_of, store_units
from auditor.staleness import (
    SUMMARY_KEYS,
    RecordSummary,
    StalenessReport,
    build_report,
    intern_text,
    stale_entries,
    summarize,
)
from auditor.store import Store
from auditor.table import python_values, records_table, with_derived
from auditor.text import plural
from auditor.values import PartialDate, parse_date

if TYPE_CHECKING:
    import pandas as pd

#: Files per task: big enough that the rule engine's per-call cost is noise.
DEFAULT_CHUNK_SIZE = 1000


@dataclass(frozen=True)
class Outcome:
    report: StalenessReport
    folder: Path
    files: int
    changes: NightChanges | None = None

    def summary_line(self) -> str:
        """The one line a cron mail shows."""
        r = self.report
        text = f"staleness {r.as_of.isoformat()}: {plural(r.records, 'record')}, {len(r.stale):,} stale"
        if r.previous_as_of is not None:
            text += f" ({len(r.newly_stale):,} new, {len(r.fixed):,} fixed, {r.still_stale:,} still)"
        if self.changes is not None:
            c = self.changes
            text += f"; {plural(len(c.changed), 'study', 'studies')} changed ({c.material:,} material)"
        if r.input_errors:
            text += f", {plural(len(r.input_errors), 'input')} with errors"
        return text + f"; wrote {self.folder}/"


@dataclass(slots=True)
class Collected:
    """Every study's latest summary, the findings on exactly those snapshots, input errors."""

    summaries: list[RecordSummary]
    findings: list[Finding]
    errors: list[str]
    files: int


def staleness_job(rules: RuleSet, *, as_of: date, params: Mapping[str, str], fast: bool = True) -> ParseJob:
    """The worker's job: the registry keys the rules and the report read (by projection when
    ``fast``: only those fields of plain JSON/XML), checked in the worker."""
    record_rules = rules.scope("record")
    keys = keys_read(record_rules) | SUMMARY_KEYS
    return ParseJob(keys=keys, project=fast, check=TableCheck(record_rules, as_of, dict(params)))


@dataclass(slots=True)
class _Latest:
    """The latest summary of each study seen so far and the findings on exactly that snapshot."""

    summaries: dict[str, RecordSummary] = field(default_factory=dict)
    findings: dict[str, list[Finding]] = field(default_factory=dict)

    def keep(self, summaries: Iterable[RecordSummary], findings: Iterable[Finding]) -> None:
        grouped: dict[tuple[str, str], list[Finding]] = {}
        for finding in findings:
            grouped.setdefault((finding.nct_id, finding.snapshot), []).append(finding)
        for summary in summaries:
            current = self.summaries.get(summary.nct_id)
            if current is None or summary.rank > current.rank:
                self.summaries[summary.nct_id] = summary
                self.findings[summary.nct_id] = grouped.get((summary.nct_id, summary.snapshot), [])


def collect(
    units: Sequence[InputUnit],
    job: ParseJob,
    *,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: Callable[[int], None] | None = None,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> Collected:
    """Parse and check ``units`` on ``jobs`` processes (``1``: in this process), or as tasks on a
    Dask cluster (``engine="dask"``: the one at ``scheduler``, or a local cluster of ``jobs``
    workers). The result is the same, bit for bit, whichever engine and however many workers."""
    validate_engine(engine, scheduler)
    executor = get_executor(engine, jobs=max(1, jobs), scheduler=scheduler)
    latest = _Latest()
    errors: list[str] = []
    ignite: list[Record] = []
    files = 0
    chunk: ParsedChunk
    for chunk in parse_chunks(units, job, executor, chunk_size=max(1, chunk_size)):
        latest.keep(chunk.summaries, chunk.findings)
        errors.extend(e.one_line() for e in chunk.errors())
        ignite.extend(chunk.ignite)
        files += len(chunk.units)
        if on_progress is not None:
            on_progress(len(chunk.units))
    if ignite and job.check is not None:
        merged = list(merge_module_pages(ignite))
        latest.keep([summarize(r) for r in merged], job.check(rows_of(merged, job)))
    ordered = sorted(latest.summaries)
    return Collected(
        summaries=[latest.summaries[n] for n in ordered],
        findings=[f for n in ordered for f in latest.findings[n]],
        errors=errors,
        files=files,
    )


def collect_cached(
    cache: RecordCache,
    paths: Sequence[str | Path],
    units: Sequence[InputUnit],
    rules: RuleSet,
    *,
    as_of: date,
    params: Mapping[str, str],
    jobs: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Collected:
    """:func:`collect` through the Parquet cache of ``audit check --cache``: only inputs whose
    content changed since the cache last saw them are parsed (a night re-reads what the registry
    updated, not all of it); every row is checked again, since staleness depends on the night.
    The summaries and findings are :func:`collect`'s, value for value (``tests/test_staleness_cache.py``)."""
    job = staleness_job(rules, as_of=as_of, params=params)  # what the workers would read and check
    assert job.keys is not None and job.check is not None
    identity = {"nct_id", "snapshot", "source_format", "ignite_modified"}  # ignite_modified: rank
    columns = with_derived(job.keys | identity, records_table([]).columns)
    run = cache.table(paths, jobs=jobs, chunk_size=chunk_size, columns=columns, project=True, units=units)
    latest = _Latest()
    latest.keep(summaries_from_table(run.table), job.check(run.table) if len(run.table) else [])
    ordered = sorted(latest.summaries)
    return Collected(
        summaries=[latest.summaries[n] for n in ordered],
        findings=[f for n in ordered for f in latest.findings[n]],
        errors=[e.one_line() for e in run.errors],
        files=run.stats.inputs,
    )


def summaries_from_table(table: pd.DataFrame) -> list[RecordSummary]:
    """:func:`auditor.staleness.summarize` of each row's record, from its table columns: a
    value as its text, an explicitly empty one as ``""``, one that did not fit its type as the
    text written (a verified date that is not a date: parsed as the reader would, else none)."""
    count = len(table)

    def cells(column: str) -> list[Any]:
        return python_values(table[column]) if column in table.columns else [None] * count

    def texts(key: str) -> list[str]:
        out = []
        for value, missing, raw, precision in zip(
            cells(key),
            cells(key + "__missing"),
            cells(key + "__raw"),
            cells(key + "__precision"),
            strict=True,
        ):
            if value is not None and precision is not None:
                out.append(_partial(value, precision).isoformat())
            elif value is not None:
                out.append(" ".join(str(value).split()))
            elif missing is None and raw is not None:
                out.append(" ".join(raw.split()))
            else:
                out.append("")
        return out

    verified = [
        _partial(value, precision)
        if value is not None
        else (None if raw is None or missing is not None else parse_date(raw))
        for value, precision, raw, missing in zip(
            cells("status_verified_date"),
            cells("status_verified_date__precision"),
            cells("status_verified_date__raw"),
            cells("status_verified_date__missing"),
            strict=True,
        )
    ]
    modified = [None if v is None else v.isoformat() for v in cells("ignite_modified")]
    return [
        RecordSummary(
            nct_id=nct_id,
            overall_status=intern_text(status),
            last_known_status=intern_text(last_known),
            status_verified=day,
            lead_sponsor=sponsor,
            brief_title=title,
            snapshot=snapshot,
            rank=(changed or "", updated, snapshot),
        )
        for nct_id, snapshot, status, last_known, day, sponsor, title, changed, updated in zip(
            cells("nct_id"),
            cells("snapshot"),
            texts("overall_status"),
            texts("last_known_status"),
            verified,
            texts("lead_sponsor"),
            texts("brief_title"),
            modified,
            texts("last_update_submit_date"),
            strict=True,
        )
    ]


def _partial(value: datetime, precision: str | None) -> PartialDate:
    if precision == "year":
        return PartialDate(value.year)
    if precision == "month":
        return PartialDate(value.year, value.month)
    return PartialDate(value.year, value.month, value.day)


def path_units(paths: Iterable[str | Path]) -> tuple[list[InputUnit], list[str]]:
    """Every input under ``paths`` (:func:`auditor.inputs.list_inputs`) and the listing errors."""
    units: list[InputUnit] = []
    errors: list[str] = []
    for item in list_inputs(paths):
        if isinstance(item, InputError):
            errors.append(item.one_line())
        else:
            units.append(item)
    return units, errors


def run_staleness(
    rules: RuleSet,
    *,
    as_of: date,
    params: Mapping[str, str],
    paths: Sequence[str | Path] = (),
    store: Path | None = None,
    out: Path,
    jobs: int | None = None,
    table_limit: int = 5000,
    nights: int = 14,
    chunk_size: int | None = None,
    with_history: bool = False,
    progress: Any = None,
    engine: str = "pandas",
    scheduler: str | None = None,
    allow_empty: bool = False,
    pair_rules: RuleSet | None = None,
    pair_params: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Outcome:
    """Read, check, compare with the previous report, and write ``out/<as_of>/`` and the index
    of nights ``out/index.html``.

    With the store (no ``paths``) the report is the store as of ``as_of``: each study's latest
    snapshot captured on or before that day (:meth:`auditor.store.Store.summary`), so a past
    night made again after later nights were added is the same bytes. With a previous report
    under ``out``, the night also says what changed in the registry since that night
    (:func:`auditor.run.changes.tonight_changes`, running ``pair_rules`` with ``pair_params``
    over the pairs).

    No record read at all is :class:`~auditor.run.empty.NoRecordsError` (nothing written)
    unless ``allow_empty``: a report of nothing would show every stale study "fixed".

    ``progress``: an :class:`auditor.progress.Progress` (or anything with ``set_total`` and
    ``update``); ``engine`` / ``scheduler``: where the chunks are parsed and checked.
    ``cache_dir``: parse through that Parquet cache (:func:`collect_cached`; the pandas engine,
    no progress bar), so that a night parses only the snapshots that are new since the last."""
    store_path = store or Path("snapshots")
    chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
    errors: list[str] = []
    if cache_dir is not None:  # the pandas engine on local processes: the cache's own pipeline
        stored = [] if paths else store_units(store_path, as_of)
        collected = collect_cached(
            RecordCache(cache_dir),
            paths,
            stored,
            rules,
            as_of=as_of,
            params=params,
            jobs=jobs,
            chunk_size=chunk_size,
        )
    else:
        if paths:
            units, errors = path_units(paths)
        else:
            units = store_units(store_path, as_of)
        if progress is not None:
            progress.set_total(len(units))
        parallel = len(units) > chunk_size or engine == "dask"
        workers = (jobs or default_jobs()) if parallel else 1
        collected = collect(
            units,
            staleness_job(rules, as_of=as_of, params=params),
            jobs=workers,
            chunk_size=chunk_size,
            on_progress=None if progress is None else progress.update,
            engine=engine,
            scheduler=scheduler,
        )
    refuse_empty(
        len(collected.summaries),
        [*errors, *collected.errors],
        allow_empty=allow_empty,
        nothing="no report written",
    )
    found = previous_folder(out, as_of)
    tonight = None
    if found is not None and not paths:
        tonight = tonight_changes(
            store_path,
            previous_as_of=found[0],
            as_of=as_of,
            summaries=collected.summaries,
            rules=pair_rules if pair_rules is not None else RuleSet(()),
            params=pair_params,
            history_pages=with_history,
            jobs=jobs or default_jobs(),
            engine=engine,
            scheduler=scheduler,
        )
    changes = None if tonight is None else tonight.changes
    report = build_report(
        collected.summaries,
        collected.findings,
        as_of=as_of,
        rule_ids=rules.ids,
        params=effective_params(rules, params),
        previous=load_previous(*found, rules.ids) if found else None,
        history=load_history(out, as_of, rules.ids, nights),
        input_errors=[*errors, *collected.errors, *(tonight.errors if tonight else ())],
        changed=None if changes is None else len(changes.changed),
        material=None if changes is None else changes.material,
    )
    page, extra = night_page(
        store_path if with_history and not paths else None,
        report,
        tonight,
        rules=rules,
        pair_rules=pair_rules,
        previous=found[0] if found else None,
        table_limit=table_limit,
    )
    files = night_files(
        report,
        page,
        table_limit=table_limit,
        extra=extra,
        explained=rules_text(explain_text(rule) for rule in rules_shown(rules, pair_rules, changes)),
    )
    # every night's counts are read before anything is written: an unreadable one stops the run
    nights_index = render_index(
        [*(n for n in every_night(out, rules.ids) if n.as_of != as_of), report.tonight]
    )
    folder = write_folder(out, as_of.isoformat(), files)
    atomic_write(out / INDEX_FILE, nights_index)
    return Outcome(report=report, folder=folder, files=collected.files, changes=changes)


def night_page(
    history_store: Path | None,
    report: StalenessReport,
    tonight: Tonight | None,
    *,
    rules: RuleSet,
    pair_rules: RuleSet | None,
    previous: date | None,
    table_limit: int,
) -> tuple[NightPage, dict[str, str | bytes]]:
    """What the page shows beyond staleness, and the pages beside it: tonight's diff pages and,
    with ``history_store``, the history pages of the records listed (:func:`history_wanted`)."""
    changes = None if tonight is None else tonight.changes
    extra: dict[str, str | bytes] = {} if tonight is None else dict(tonight.pages)
    local: frozenset[str] = frozenset()
    if history_store is not None:
        wanted = history_wanted(report, changes, limit=table_limit)
        extra.update(history_pages(history_store, wanted, as_of=report.as_of))
        local = frozenset(wanted)
    page = NightPage(
        changes=changes,
        legend=legend_of(rules_shown(rules, pair_rules, changes)),
        previous=previous,
        local_history=local,
    )
    return page, extra


def effective_params(rules: RuleSet, given: Mapping[str, str]) -> dict[str, str]:
    """Every parameter of the selected rules with the value used (given, else the default)."""
    out: dict[str, str] = {}
    for rule in rules:
        for name, default in rule.params.items():
            out.setdefault(name, str(given.get(name, default)))
    return dict(sorted(out.items()))


def history_wanted(report: StalenessReport, changes: NightChanges | None, *, limit: int) -> list[str]:
    """The records that get a history page: the stale and fixed records the page lists and every
    study of tonight's changes (so that each changed study's history link has a page). NCT IDs
    are validated before they become file names."""
    shown = report.stale if limit <= 0 else report.stale[:limit]
    wanted = {s.nct_id for s in shown} | {f.nct_id for f in report.fixed if f.after is not None}
    if changes is not None:
        wanted |= {s.nct_id for s in changes.studies if s.diff.state in ("changed", "only_new")}
    return sorted(n for n in wanted if is_valid_nct_id(n))


def history_pages(
    store: Path, nct_ids: Iterable[str], *, as_of: date | None = None
) -> dict[str, str | bytes]:
    """``history/<NCT>.html`` for each record (``audit history``'s HTML page of its snapshots in
    the store as of ``as_of``), linking back to the night and to each step's diff page,
    ``history/<NCT>-<step>.html``."""
    pages: dict[str, str | bytes] = {}
    with Store(store) as opened:
        for nct_id in nct_ids:
            timeline = record_history(opened, nct_id, as_of=as_of, keep_results=True)
            back = (
                "../index.html",
                "← the night" if as_of is None else f"← the night of {as_of.isoformat()}",
            )
            steps: dict[tuple[str, int], str] = {}
            for step in timeline.steps:
                if step.result is None:
                    continue
                name = f"{nct_id}-{step.number}.html"
                steps[(nct_id, step.number)] = name
                nav = [(f"{nct_id}.html#step-{step.number}", f"← history of {nct_id}"), back]
                pages[f"history/{name}"] = render_diff_page(step.result, nav=nav)
            pages[f"history/{nct_id}.html"] = render_history([timeline], nav=[back], step_diffs=steps)
    return pages


def night_files(
    report: StalenessReport,
    page: NightPage,
    *,
    table_limit: int,
    extra: Mapping[str, str | bytes] | None = None,
    explained: str | None = None,
) -> dict[str, bytes]:
    """Every file of a night's folder, by name: the page, report.md, findings, summary.json
    (with the changes' counts), stale.json and, with tonight's changes, changes.json,
    changes.csv; ``explained``: rules.txt, the explain text of the legend's rules; ``extra``
    (diff and history pages)."""
    stale_doc = {
        "schema": "auditor-stale-list/1",
        "as_of": report.as_of.isoformat(),
        "stale": stale_entries(report),
        "fixed": [f.to_dict() for f in report.fixed],
    }
    summary = report.summary_dict()
    summary["changes"] = None if page.changes is None else page.changes.summary_dict()
    summary["history"] = [n.to_dict() for n in report.history]
    files: dict[str, str | bytes] = {
        "report.md": render_markdown(
            report, changes=[] if page.changes is None else changes_markdown(page.changes)
        ),
        "findings.json": _text(REPORTERS["json"](list(report.findings))),
        "findings.csv": _text(REPORTERS["csv"](list(report.findings))),
        "summary.json": _dumps(summary),
        "stale.json": _dumps(stale_doc),
    }
    if page.changes is not None:
        files[CHANGES_JSON] = changes_json(page.changes)
        files[CHANGES_CSV] = changes_csv(page.changes)
    if explained is not None:
        files[RULES_FILE] = explained
    page = replace(page, files=tuple(files))
    html = render_night(report, page, table_limit=table_limit)
    out = {"index.html": html, **files, **(extra or {})}
    return {name: text.encode("utf-8") if isinstance(text, str) else text for name, text in out.items()}


def rules_shown(rules: RuleSet, pair_rules: RuleSet | None, changes: NightChanges | None) -> list[RuleSpec]:
    """The rules the page shows: the staleness rules, then the pair rules with a finding tonight."""
    shown = list(rules)
    if pair_rules is not None and changes is not None:
        fired = {f.rule_id for f in changes.pair_findings}
        shown += [rule for rule in pair_rules if rule.id in fired]
    return shown


def legend_of(shown: Iterable[RuleSpec]) -> tuple[LegendEntry, ...]:
    return tuple(LegendEntry(r.id, r.title, r.rationale, str(r.severity), r.scope) for r in shown)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Collected",
    "Outcome",
    "collect",
    "effective_params",
    "history_pages",
    "history_wanted",
    "legend_of",
    "night_files",
    "night_page",
    "path_units",
    "rules_shown",
    "run_staleness",
    "staleness_job",
]
