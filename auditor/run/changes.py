"""What changed tonight, from the store: the nightly page's "what changed" section.

The previous report's night and tonight are two states of the store (each study's latest
snapshot captured on or before that day, :meth:`auditor.store.Store.summary`). The index says
which studies differ in content between the two (:meth:`~auditor.store.Store.changed_between`:
hashes compared in one query, no file read); only those pairs are read and diffed, by
:func:`auditor.diff.batch` — the batch diff, so every count on the page is its own — in chunks
on the run's executor when there are many (``--jobs`` processes or Dask: the same result, bit
for bit). In the same pass the worker runs the catalogue's pair rules over the pairs (status
went backwards, a date pushed later …; a pair rule compares a value that changed, so an
unchanged study has no pair finding), takes the report lines the page shows while the records
are at hand, renders the study's diff page (``changes/<NCT>.html``, ``audit diff``'s HTML page)
and sends back the diff with stand-in records (NCT ID, source, Ignite dates), never whole
records. A study new to the store since the previous night is ``only_new`` (its sponsor and
title from tonight's staleness summaries: nothing is read for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from auditor.check import check_pairs
from auditor.diff import StudyDiff, batch, report_lines
from auditor.errors import AuditorError
from auditor.findings import Finding
from auditor.nightly import ChangedStudy, LineNote, NightChanges, night_changes
from auditor.records import Record, Source, is_valid_nct_id
from auditor.reports.diff_html import render_html as render_diff_page
from auditor.reports.staleness_html import history_url
from auditor.rules import RuleSet
from auditor.run.executor import get_executor, paused_gc
from auditor.staleness import RecordSummary
from auditor.store import SnapshotEntry, Store

#: Pairs per task: a diff, its page and its pair rules take a few milliseconds a study, and each
#: task builds one pair table for the pair rules (tens of milliseconds): a few hundred a task.
PAIRS_PER_TASK = 200
#: Below this many pairs the diffs run in this process (starting workers costs more).
PARALLEL_PAIRS = 256

Pair = tuple[SnapshotEntry, SnapshotEntry]


@dataclass(frozen=True, slots=True)
class ChangeJob:
    """What every chunk of pairs needs (pickled once per task): the store, the pair rules with
    their night and parameters, and what the diff pages link to."""

    store: str
    rules: RuleSet
    as_of: date
    params: Mapping[str, str] = field(default_factory=dict)
    history_pages: bool = False


@dataclass(slots=True)
class ChangeChunk:
    """One task's output: the studies, their diff pages (UTF-8 bytes by NCT ID), the pair
    rules' findings and the snapshots that could not be read."""

    studies: list[ChangedStudy] = field(default_factory=list)
    pages: dict[str, bytes] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChangeTask:
    """:func:`diff_pairs` as a picklable callable of one argument (what an executor maps)."""

    job: ChangeJob

    def __call__(self, pairs: Sequence[Pair]) -> ChangeChunk:
        return diff_pairs(pairs, self.job)


def diff_pairs(pairs: Sequence[Pair], job: ChangeJob) -> ChangeChunk:
    """Read, diff, check and render one chunk of ``(previous night, tonight)`` snapshot pairs
    (in a worker, or in this process). Never raises for a snapshot that cannot be read: the
    study is in ``error`` and the error line is returned."""
    out = ChangeChunk()
    loaded: list[tuple[Record, Record]] = []
    with paused_gc(), Store(job.store) as store:
        for old, new in pairs:
            try:
                records = (store.load(old), store.load(new))
            except AuditorError as exc:
                out.errors.append(exc.one_line())
                out.studies.append(ChangedStudy(StudyDiff(new.nct_id, "error", error=exc.message)))
                continue
            loaded.append(records)
            study = batch([records]).studies[0]
            out.studies.append(_kept(study, records[1], job, out.pages))
        out.findings = check_pairs(loaded, job.rules, as_of=job.as_of, params=job.params) if loaded else []
    return out


def _kept(study: StudyDiff, after: Record, job: ChangeJob, pages: dict[str, bytes]) -> ChangedStudy:
    """What is kept of one diffed study: the page lines, the diff page, stand-in records."""
    result = study.result
    if result is None:
        return ChangedStudy(study)
    lines = tuple(
        LineNote(str(line.grade), line.module, line.label, line.summary, line.flagged)
        for line in report_lines(result)
    )
    if study.state == "changed" and is_valid_nct_id(study.nct_id):
        page = render_diff_page(result, nav=diff_page_links(study.nct_id, job.as_of, job.history_pages))
        pages[study.nct_id] = page.encode("utf-8")
    slim = replace(result, before=stand_in(result.before), after=stand_in(result.after))
    return ChangedStudy(replace(study, result=slim), title=_title(after), lines=lines)


def diff_page_links(nct_id: str, as_of: date, history_pages: bool) -> list[tuple[str, str]]:
    """Where a night's diff page (``changes/<NCT>.html``) links to: back to its night's "what
    changed" section, and the record's history (ours when the night writes history pages for
    every changed study, else ClinicalTrials.gov's; the page's heading links there too)."""
    night = ("../index.html#changes", f"← the night of {as_of.isoformat()}")
    if history_pages:
        return [night, (f"../history/{nct_id}.html", f"history of {nct_id} in our store")]
    return [night, (history_url(nct_id) or "", f"history of {nct_id} on ClinicalTrials.gov")]


def stand_in(record: Record) -> Record:
    """A record without fields that still says which snapshot it was (for the batch's JSON)."""
    return Record(
        record.nct_id,
        Source(record.source.path, record.source.format, record.source.sha256),
        ignite_created=record.ignite_created,
        ignite_modified=record.ignite_modified,
    )


def _title(record: Record) -> str:
    value = record.value("brief_title")
    return " ".join(value.split()) if isinstance(value, str) else ""


@dataclass(frozen=True)
class Tonight:
    """Tonight's changes, the diff pages to write beside the page, and unreadable snapshots."""

    changes: NightChanges
    pages: dict[str, bytes]
    errors: tuple[str, ...]


def tonight_changes(
    store_path: Path,
    *,
    previous_as_of: date,
    as_of: date,
    summaries: Iterable[RecordSummary],
    rules: RuleSet,
    params: Mapping[str, str] | None = None,
    history_pages: bool = False,
    jobs: int = 1,
    engine: str = "pandas",
    scheduler: str | None = None,
    pairs_per_task: int = PAIRS_PER_TASK,
    parallel_pairs: int = PARALLEL_PAIRS,
) -> Tonight:
    """Every study's change between the store as of ``previous_as_of`` and as of ``as_of``
    (see the module docstring). ``summaries``: tonight's, for the studies new to the store;
    ``rules``: the pair rules to run over the pairs. ``unchanged`` counts tonight's records
    (``summaries``) whose content is the same as the previous night's. Over ``parallel_pairs``
    pairs (or on Dask) the pairs go to ``jobs`` workers, ``pairs_per_task`` at a time: the
    result is the same whatever the engine and the number of workers."""
    with Store(store_path) as store:
        found = store.changed_between(previous_as_of, as_of)
    by_nct = {s.nct_id: s for s in summaries}
    differing = {new.nct_id for _, new in found}
    pairs: list[Pair] = [(old, new) for old, new in found if old is not None]
    studies = [_new_study(new.nct_id, by_nct.get(new.nct_id)) for old, new in found if old is None]
    job = ChangeJob(str(store_path), rules.scope("pair"), as_of, dict(params or {}), history_pages)
    many = len(pairs) > parallel_pairs or (engine == "dask" and bool(pairs))
    executor = get_executor(engine, jobs=jobs if many else 1, scheduler=scheduler)
    pages: dict[str, bytes] = {}
    findings: list[Finding] = []
    errors: list[str] = []
    for chunk in executor.map(ChangeTask(job), _chunks(pairs, max(1, pairs_per_task))):
        studies.extend(chunk.studies)
        findings.extend(chunk.findings)
        errors.extend(chunk.errors)
        pages.update({f"changes/{nct}.html": page for nct, page in chunk.pages.items()})
    changes = night_changes(
        studies,
        as_of=as_of,
        previous_as_of=previous_as_of,
        unchanged=sum(1 for nct_id in by_nct if nct_id not in differing),
        pair_findings=findings,
        diff_pages=[name.removeprefix("changes/").removesuffix(".html") for name in pages],
    )
    return Tonight(changes, pages, tuple(errors))


def _new_study(nct_id: str, summary: RecordSummary | None) -> ChangedStudy:
    sponsor = summary.lead_sponsor or None if summary is not None else None
    title = summary.brief_title if summary is not None else ""
    return ChangedStudy(StudyDiff(nct_id, "only_new", sponsor=sponsor), title=title)


def _chunks(pairs: Sequence[Pair], size: int) -> Iterator[list[Pair]]:
    for start in range(0, len(pairs), size):
        yield list(pairs[start : start + size])


__all__ = [
    "PAIRS_PER_TASK",
    "ChangeChunk",
    "ChangeJob",
    "ChangeTask",
    "Tonight",
    "diff_page_links",
    "diff_pairs",
    "stand_in",
    "tonight_changes",
]
