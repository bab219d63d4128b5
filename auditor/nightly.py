"""What changed in the registry tonight: the model of the nightly page's "what changed" section.

Pure data, no I/O (the pipeline that fills it is :mod:`auditor.run.changes`). Tonight's changes
are the batch diff (:func:`auditor.diff.batch`) of each study's snapshot as of the previous
report's night against its snapshot as of tonight, both taken from the store
(:meth:`auditor.store.Store.changed_between`). Only studies whose content differs are diffed;
the others are counted as ``unchanged``. Every roll-up — studies by module, by grade, by sponsor,
the status transitions — is the :class:`~auditor.diff.BatchResult`'s own, so the page's counts
are the batch diff's by construction.

Order on the page: material changes first, and among them the status transitions, a fall into
UNKNOWN leading ("went UNKNOWN tonight"), then stops, moves backwards, re-openings and other
moves; then studies with a stop reason, date slip or enrollment change; then the other material
changes (outcomes, eligibility, arms …); then minor, administrative and cosmetic changes. Within
a group, by NCT ID.

The diffs' records are stand-ins by the time they get here (NCT ID, source and Ignite dates,
no fields): a whole record per changed study would cost more to keep than the night's page.
What the page shows of each study's diff — its report lines, its title — is taken while the
records are at hand (:class:`LineNote`, :class:`ChangedStudy`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from auditor.diff import BatchResult, Grade, StudyDiff
from auditor.findings import Finding

#: Where a status transition's alarm puts a study among the material changes.
ALARM_ORDER: dict[str, int] = {"into_unknown": 0, "stopped": 1, "backwards": 2, "reopened": 3, "forward": 4}
#: How the page says each alarm, for a change since the previous night.
ALARM_WORDS: dict[str, str] = {
    "into_unknown": "went UNKNOWN tonight",
    "stopped": "stopped",
    "backwards": "moved backwards",
    "reopened": "re-opened recruitment",
    "forward": "moved on",
}
GRADES: tuple[str, ...] = tuple(str(g) for g in Grade)  # gravest first
#: The JSON shape of ``changes.json``.
CHANGES_SCHEMA = "auditor-night-changes/1"


@dataclass(frozen=True, slots=True)
class LineNote:
    """One line of a study's diff as people read it (:func:`auditor.diff.report_lines`)."""

    grade: str
    module: str
    label: str
    summary: str
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # the fields, in this order, are the JSON shape


@dataclass(frozen=True)
class ChangedStudy:
    """One study of tonight's batch with what the page shows of it besides the diff."""

    diff: StudyDiff
    title: str = ""
    lines: tuple[LineNote, ...] = ()

    @property
    def nct_id(self) -> str:
        return self.diff.nct_id

    @property
    def gravest(self) -> str:
        """The gravest grade among the study's changes (``""`` for a study without a diff)."""
        if self.diff.result is None:
            return ""
        grades = {str(c.grade) for c in self.diff.result.changes}
        return next((g for g in GRADES if g in grades), "")

    @property
    def alarm(self) -> str | None:
        result = self.diff.result
        status = None if result is None else result.headline.status
        return None if status is None else status.alarm

    def lines_of(self, grade: str) -> tuple[LineNote, ...]:
        return tuple(line for line in self.lines if line.grade == grade)

    def order(self) -> tuple[int, int, int, str]:
        """Where the study goes on the page (see the module docstring)."""
        grade = GRADES.index(self.gravest) if self.gravest else len(GRADES)
        alarm = ALARM_ORDER.get(self.alarm or "", len(ALARM_ORDER))
        result = self.diff.result
        head = result.headline if result is not None else None
        facts = head is not None and bool(head.stop_reason or head.enrollment or head.date_slips)
        return (grade, alarm, 0 if facts else 1, self.nct_id)


@dataclass(frozen=True)
class NightChanges:
    """Tonight's changes since the previous report's night.

    ``batch``: the diffed studies (``changed``, ``unchanged`` when only metadata moved,
    ``error`` when a snapshot could not be read or compared) and the studies new to the store
    (``only_new``); ``unchanged``: studies whose content was the same both nights (not diffed);
    ``studies``: what the page shows of each study of the batch, in page order;
    ``pair_findings``: the pair rules' findings over the (previous night, tonight) pairs;
    ``diff_pages``: NCT IDs with a ``changes/<NCT>.html`` page."""

    as_of: date
    previous_as_of: date
    batch: BatchResult
    studies: tuple[ChangedStudy, ...]
    unchanged: int
    pair_findings: tuple[Finding, ...] = ()
    diff_pages: frozenset[str] = field(default_factory=frozenset)

    @property
    def changed(self) -> tuple[ChangedStudy, ...]:
        """The studies with a study change, in page order."""
        return tuple(s for s in self.studies if s.diff.state == "changed")

    def graded(self, grade: str) -> tuple[ChangedStudy, ...]:
        """The changed studies whose gravest change has ``grade``, in page order."""
        return tuple(s for s in self.changed if s.gravest == grade)

    def in_state(self, state: str) -> tuple[ChangedStudy, ...]:
        return tuple(s for s in self.studies if s.diff.state == state)

    @property
    def material(self) -> int:
        return self.batch.by_grade().get(str(Grade.MATERIAL), 0)

    def pair_findings_by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(f.rule_id for f in self.pair_findings).items()))

    def summary_dict(self) -> dict[str, Any]:
        """Headline counts (``summary.json``'s ``changes``, the index page, the trend chart)."""
        counts = self.batch.counts()
        transitions = self.batch.status_transitions()
        return {
            "previous_as_of": self.previous_as_of.isoformat(),
            "changed": counts.get("changed", 0),
            "material": self.material,
            "by_grade": self.batch.by_grade(),
            "new": counts.get("only_new", 0),
            "metadata_only": counts.get("unchanged", 0),
            "unchanged": self.unchanged,
            "errors": counts.get("error", 0),
            "status_transitions": len(transitions),
            "into_unknown": sum(1 for _, t in transitions if t.alarm == "into_unknown"),
            "pair_findings": len(self.pair_findings),
        }

    def to_dict(self) -> dict[str, Any]:
        """``changes.json``: the counts, the batch diff (``audit diff``'s batch JSON, schema 1,
        without the studies that did not change) with each study's report lines, and the pair
        findings."""
        batch = self.batch.to_dict()
        lines = {s.nct_id: [line.to_dict() for line in s.lines] for s in self.studies}
        titles = {s.nct_id: s.title for s in self.studies}
        for study in batch["studies"]:
            study["brief_title"] = titles.get(study["nct_id"], "")
            study["lines"] = lines.get(study["nct_id"], [])
            study["diff_page"] = (
                f"changes/{study['nct_id']}.html" if study["nct_id"] in self.diff_pages else None
            )
        return {
            "schema": CHANGES_SCHEMA,
            "as_of": self.as_of.isoformat(),
            "previous_as_of": self.previous_as_of.isoformat(),
            "summary": self.summary_dict(),
            "pair_findings_by_rule": self.pair_findings_by_rule(),
            "batch": batch,
            "pair_findings": [f.to_dict() for f in self.pair_findings],
        }


def night_changes(
    studies: Iterable[ChangedStudy],
    *,
    as_of: date,
    previous_as_of: date,
    unchanged: int,
    pair_findings: Iterable[Finding] = (),
    diff_pages: Iterable[str] = (),
) -> NightChanges:
    """Tonight's changes from every study of the batch (in any order: the result is ordered)."""
    ordered = sorted(studies, key=ChangedStudy.order)
    batch = BatchResult(tuple(sorted((s.diff for s in ordered), key=lambda d: (d.nct_id, d.state))))
    findings = sorted(pair_findings, key=lambda f: (f.nct_id, f.rule_id, f.fields, f.snapshot))
    return NightChanges(
        as_of=as_of,
        previous_as_of=previous_as_of,
        batch=batch,
        studies=tuple(ordered),
        unchanged=unchanged,
        pair_findings=tuple(findings),
        diff_pages=frozenset(diff_pages),
    )


# --------------------------------------------------------------------------- the whole page


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One rule shown on the page (a staleness rule, or a pair rule with a finding tonight):
    what the legend says of it. The rule's whole ``audit rules explain`` text is in
    ``rules.txt`` beside the page (:data:`RULES_FILE`)."""

    rule_id: str
    title: str
    rationale: str
    severity: str
    scope: str


#: The file beside the page with ``audit rules explain`` of every rule in the legend.
RULES_FILE = "rules.txt"


@dataclass(frozen=True)
class NightPage:
    """Everything the nightly page shows beyond the staleness report itself.

    ``changes``: tonight's changes (``None`` when the report has no previous night to compare
    with, or reads PATHS instead of the store); ``previous``: the previous report's night, which
    the page links to (the next night is found through the index of nights, so that a past
    night's page is the same bytes whenever it is made); ``files``: the files beside the page;
    ``local_history``: NCT IDs with a ``history/<NCT>.html`` page beside it."""

    changes: NightChanges | None = None
    legend: tuple[LegendEntry, ...] = ()
    previous: date | None = None
    files: tuple[str, ...] = ()
    local_history: frozenset[str] = field(default_factory=frozenset)
