"""Many studies at once: pairs of snapshots by NCT ID → one :class:`BatchResult`.

This is the Python API behind ``audit diff OLD_DIR NEW_DIR`` and ``audit diff --store``, and
the one the nightly page's "what changed tonight" section builds on::

    from auditor.diff import batch_records
    tonight = batch_records(old_records, new_records)   # paired by NCT ID
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
from typing import Any, NamedTuple

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


class Pairing(NamedTuple):
    """Two sides of a batch matched by NCT ID. ``ambiguous``: ``{nct_id: message}`` for a study
    given more than once on one side (which copy is "the" old or new one is not ours to guess)."""

    pairs: list[tuple[Record, Record]]
    only_old: list[Record]
    only_new: list[Record]
    ambiguous: dict[str, str]


def pair_records(old: Iterable[Record], new: Iterable[Record]) -> Pairing:
    """The records of both sides paired by NCT ID, each list sorted by NCT ID."""
    ambiguous: dict[str, str] = {}
    sides: list[dict[str, Record]] = []
    for name, records in (("OLD", old), ("NEW", new)):
        seen: dict[str, list[Record]] = {}
        for r in records:
            seen.setdefault(r.nct_id, []).append(r)
        for nct_id, copies in seen.items():
            if len(copies) > 1:
                paths = ", ".join(c.source.path for c in copies)
                ambiguous[nct_id] = f"{len(copies)} snapshots in {name} ({paths}): give one per study"
        sides.append({n: copies[0] for n, copies in seen.items()})
    left, right = ({n: r for n, r in side.items() if n not in ambiguous} for side in sides)
    return Pairing(
        pairs=[(left[n], right[n]) for n in sorted(left.keys() & right.keys())],
        only_old=[left[n] for n in sorted(left.keys() - right.keys())],
        only_new=[right[n] for n in sorted(right.keys() - left.keys())],
        ambiguous=dict(sorted(ambiguous.items())),
    )


def batch(
    pairs: Iterable[tuple[Record, Record]],
    *,
    only_old: Iterable[Record] = (),
    only_new: Iterable[Record] = (),
    ambiguous: dict[str, str] | None = None,
    ignore: Iterable[str] = (),
    min_grade: Grade = Grade.COSMETIC,
    ignore_order: bool = False,
) -> BatchResult:
    """Diff every pair (older snapshot first whatever the order) into one :class:`BatchResult`;
    ``ambiguous`` studies (see :class:`Pairing`) are studies in ``error``, never dropped."""
    patterns = tuple(ignore)
    studies: list[StudyDiff] = []
    for a, b in pairs:
        studies.append(_study(a, b, patterns, min_grade, ignore_order))
    studies += [StudyDiff(r.nct_id, "only_old", sponsor=_sponsor(r)) for r in only_old]
    studies += [StudyDiff(r.nct_id, "only_new", sponsor=_sponsor(r)) for r in only_new]
    studies += [StudyDiff(n, "error", error=message) for n, message in (ambiguous or {}).items()]
    studies.sort(key=lambda s: (s.nct_id, s.state))
    return BatchResult(tuple(studies), min_grade)


def batch_records(
    old: Iterable[Record],
    new: Iterable[Record],
    *,
    ignore: Iterable[str] = (),
    min_grade: Grade = Grade.COSMETIC,
    ignore_order: bool = False,
) -> BatchResult:
    """Pair two sides by NCT ID (:func:`pair_records`) and diff them (:func:`batch`)."""
    pairing = pair_records(old, new)
    return batch(
        pairing.pairs,
        only_old=pairing.only_old,
        only_new=pairing.only_new,
        ambiguous=pairing.ambiguous,
        ignore=ignore,
        min_grade=min_grade,
        ignore_order=ignore_order,
    )


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
