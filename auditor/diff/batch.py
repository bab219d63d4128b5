"""Many studies at once: pairs of snapshots by NCT ID → one :class:`BatchResult`.

This is the Python API behind ``audit diff OLD_DIR NEW_DIR`` and ``audit diff --store``, and
the one the nightly page's "what changed tonight" section builds on::

    from auditor.diff import batch, pair_records
    pairs, only_old, only_new = pair_records(old_records, new_records)
    tonight = batch(pairs, only_old=only_old, only_new=only_new)
    for study in tonight.changed:            # StudyDiff, NCT ID order
        study.result.headline.status         # StatusTransition | None
    tonight.by_module(); tonight.by_sponsor(); tonight.to_dict()

Every pair is diffed with :func:`~auditor.diff.compare.compare` (older snapshot first, capture
dates as metadata), in one process. A pair whose NCT IDs differ, or that cannot be compared,
is a study with an ``error``, never a dropped one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditor.diff.compare import compare
from auditor.diff.grades import Grade
from auditor.diff.headline import StatusTransition
from auditor.diff.lines import without_reorders
from auditor.diff.modules import module_table
from auditor.diff.result import DiffResult
from auditor.errors import AuditorError
from auditor.records import Record

#: Version of the JSON shape of :meth:`BatchResult.to_dict`.
BATCH_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StudyDiff:
    """One study of a batch. ``state``: ``changed``, ``unchanged`` (metadata at most),
    ``only_old`` / ``only_new`` (the study is on one side only) or ``error``."""

    nct_id: str
    state: str
    result: DiffResult | None = None
    sponsor: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "state": self.state,
            "sponsor": self.sponsor,
            "error": self.error,
            "diff": None if self.result is None else self.result.to_dict(),
        }


@dataclass(frozen=True)
class BatchResult:
    """Every study of a batch, by NCT ID, and the registry-wide roll-up."""

    studies: tuple[StudyDiff, ...]
    min_grade: Grade = Grade.COSMETIC

    @property
    def changed(self) -> tuple[StudyDiff, ...]:
        return tuple(s for s in self.studies if s.state == "changed")

    def counts(self) -> dict[str, int]:
        """Studies per state."""
        return dict(sorted(Counter(s.state for s in self.studies).items()))

    def by_module(self) -> dict[str, int]:
        """Changes per History-of-Changes module, summed over the studies."""
        total: Counter[str] = Counter()
        for s in self.changed:
            assert s.result is not None
            total.update(s.result.by_module())
        return {label: total[label] for label in module_table().labels if total[label]}

    def studies_by_module(self) -> dict[str, int]:
        """How many studies changed in each module."""
        total: Counter[str] = Counter()
        for s in self.changed:
            assert s.result is not None
            total.update(s.result.by_module().keys())
        return {label: total[label] for label in module_table().labels if total[label]}

    def by_grade(self) -> dict[str, int]:
        """How many studies have at least one change of each grade (their gravest)."""
        total: Counter[str] = Counter()
        for s in self.changed:
            assert s.result is not None
            total[gravest(s.result)] += 1
        return {str(g): total[str(g)] for g in Grade if total[str(g)]}

    def by_sponsor(self) -> dict[str, int]:
        """Changed studies per lead sponsor (the newer snapshot's), most first."""
        counts = Counter(s.sponsor or "(no sponsor)" for s in self.changed)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def status_transitions(self) -> list[tuple[str, StatusTransition]]:
        """``(nct_id, transition)`` of every study whose overall status changed, alarms first."""
        order = {"into_unknown": 0, "stopped": 1, "backwards": 2, "reopened": 3, "forward": 4}
        found = [
            (s.nct_id, s.result.headline.status)
            for s in self.changed
            if s.result is not None and s.result.headline.status is not None
        ]
        return sorted(((n, t) for n, t in found if t is not None), key=lambda nt: (order[nt[1].alarm], nt[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": BATCH_SCHEMA_VERSION,
            "min_grade": str(self.min_grade),
            "summary": {
                "studies": len(self.studies),
                "by_state": self.counts(),
                "by_module": self.by_module(),
                "studies_by_module": self.studies_by_module(),
                "by_grade": self.by_grade(),
                "by_sponsor": self.by_sponsor(),
                "status_transitions": [{"nct_id": n, **t.to_dict()} for n, t in self.status_transitions()],
            },
            "studies": [s.to_dict() for s in self.studies],
        }


def gravest(result: DiffResult) -> str:
    """The gravest grade among the result's changes (``"none"`` without changes)."""
    grades = {c.grade for c in result.changes}
    for g in Grade:
        if g in grades:
            return str(g)
    return "none"


def pair_records(
    old: Iterable[Record], new: Iterable[Record]
) -> tuple[list[tuple[Record, Record]], list[Record], list[Record]]:
    """``(pairs by NCT ID, records only in old, records only in new)``, sorted by NCT ID.

    A study given twice on one side keeps its last record there (a folder holding two
    snapshots of one study is ambiguous: the caller should pass one per study).
    """
    left = {r.nct_id: r for r in old}
    right = {r.nct_id: r for r in new}
    pairs = [(left[n], right[n]) for n in sorted(left.keys() & right.keys())]
    only_old = [left[n] for n in sorted(left.keys() - right.keys())]
    only_new = [right[n] for n in sorted(right.keys() - left.keys())]
    return pairs, only_old, only_new


def batch(
    pairs: Iterable[tuple[Record, Record]],
    *,
    only_old: Iterable[Record] = (),
    only_new: Iterable[Record] = (),
    ignore: Iterable[str] = (),
    min_grade: Grade = Grade.COSMETIC,
    ignore_order: bool = False,
) -> BatchResult:
    """Diff every pair (older snapshot first whatever the order) into one :class:`BatchResult`."""
    patterns = tuple(ignore)
    studies: list[StudyDiff] = []
    for a, b in pairs:
        studies.append(_study(a, b, patterns, min_grade, ignore_order))
    studies += [StudyDiff(r.nct_id, "only_old", sponsor=_sponsor(r)) for r in only_old]
    studies += [StudyDiff(r.nct_id, "only_new", sponsor=_sponsor(r)) for r in only_new]
    studies.sort(key=lambda s: (s.nct_id, s.state))
    return BatchResult(tuple(studies), min_grade)


def _study(a: Record, b: Record, ignore: tuple[str, ...], min_grade: Grade, ignore_order: bool) -> StudyDiff:
    try:
        result = compare(a, b, ignore=ignore)
    except AuditorError as exc:
        return StudyDiff(b.nct_id, "error", sponsor=_sponsor(b), error=exc.message)
    if ignore_order:
        result = without_reorders(result)
    result = result.at_least(min_grade)
    state = "changed" if result.changes else "unchanged"
    return StudyDiff(result.nct_id, state, result, _sponsor(result.after))


def _sponsor(record: Record) -> str | None:
    value = record.value("lead_sponsor")
    return " ".join(value.split()) or None if isinstance(value, str) else None
