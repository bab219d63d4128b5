"""The timeline of one record: its snapshots in store order and what changed at each step.

Each step after the first is summarised from :func:`auditor.diff.compare` between the
snapshot before it and the step's snapshot: the number of changes by semantic class, and the
notable ones listed — status transitions, date changes (shifted, set, cleared, precision), any
flagged change, and every real change of a registered field (a rewritten summary, a stop reason
set); changes of unregistered list leaves (sites, references, outcomes) are counted only.
Cosmetic changes (whitespace, same value written differently) are counted but never notable.
The capture dates (``version_holder``, ``download_date``) change with every download, so they
are ignored by default and shown as the step's dates instead.

The timeline also carries the record's history-consistency findings
(:func:`auditor.history_checks.history_findings`, from the index alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.diff import Change, DiffResult, compare
from auditor.fields import registry
from auditor.findings import Finding
from auditor.history_checks import history_findings
from auditor.records import Record
from auditor.store import CAPTURE_KEYS, SnapshotEntry, Store

#: Version of the JSON shape of :meth:`RecordHistory.to_dict`.
SCHEMA_VERSION = 1
_DATE_CLASSES = frozenset({"date_shifted", "date_set", "date_cleared", "date_precision_changed"})


@dataclass(frozen=True)
class HistoryStep:
    """One snapshot of the timeline and its changes since the previous one (none for the first);
    ``result``: the whole comparison, when asked for (to render the step's diff page)."""

    number: int
    entry: SnapshotEntry
    status: str | None
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    first: bool = False
    result: DiffResult | None = field(default=None, compare=False, repr=False)

    @property
    def by_class(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[str(c.semantic)] = counts.get(str(c.semantic), 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def cosmetic(self) -> int:
        return sum(1 for c in self.changes if c.cosmetic)

    @property
    def notable(self) -> tuple[Change, ...]:
        """Status transitions, date changes and flagged changes, in record order; a change of
        the study page's summary block that repeats a body field's change is listed once."""
        registered = registry().by_key
        body = {(c.key, c.summary) for c in self.changes if not c.header}
        return tuple(
            c
            for c in self.changes
            if not (c.header and (c.key, c.summary) in body)
            if not c.cosmetic
            and (
                c.flagged
                or c.key in registered
                or str(c.semantic) == "status_transition"
                or str(c.semantic) in _DATE_CLASSES
            )
        )

    @property
    def position_note(self) -> str | None:
        """Why the step's place in the timeline is unknown (it has no ordering date at all and
        is put last, by when it was added), or ``None`` when it is known."""
        return None if self.entry.dated else "position unknown: no date in the snapshot"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            **self.entry.to_dict(),
            "status": self.status,
            "position_known": self.entry.dated,
        }
        out.pop("added", None)
        out.pop("size", None)
        if self.first:
            out["changes"] = None
        else:
            out["changes"] = {
                "total": len(self.changes),
                "cosmetic": self.cosmetic,
                "by_class": self.by_class,
                "notable": [_change_json(c) for c in self.notable],
                "notes": list(self.notes),
            }
        return out


@dataclass(frozen=True)
class RecordHistory:
    nct_id: str
    steps: tuple[HistoryStep, ...]
    findings: tuple[Finding, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "snapshots": len(self.steps),
            "steps": [s.to_dict() for s in self.steps],
            "findings": [f.to_dict() for f in self.findings],
        }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "key": change.key,
        "label": change.label,
        "class": str(change.semantic),
        "flag": change.flag,
        "days": change.days,
        "old": change.old_raw,
        "new": change.new_raw,
        "summary": change.summary,
    }


def _status(record: Record) -> str | None:
    value = record.value("overall_status")
    return None if value is None else str(value)


def record_history(
    store: Store,
    nct_id: str,
    *,
    ignore: Iterable[str] = (),
    as_of: date | None = None,
    keep_results: bool = False,
) -> RecordHistory:
    """The timeline of ``nct_id`` in ``store`` (no steps when the store has no snapshot of it);
    with ``as_of``, as the store stood that night (the snapshots captured on or before it);
    ``keep_results``: each step keeps its whole :class:`~auditor.diff.DiffResult`."""
    patterns = (*sorted(CAPTURE_KEYS), *ignore)
    steps: list[HistoryStep] = []
    previous: Record | None = None
    for number, entry in enumerate(store.snapshots_of(nct_id, as_of), start=1):
        record = store.load(entry)
        if previous is None:
            steps.append(HistoryStep(number, entry, _status(record), first=True))
        else:
            result = compare(previous, record, ignore=patterns, by_snapshot_date=False)
            kept = result if keep_results else None
            steps.append(
                HistoryStep(number, entry, _status(record), result.changes, result.notes, result=kept)
            )
        previous = record
    return RecordHistory(nct_id, tuple(steps), tuple(history_findings(store, [nct_id], as_of=as_of)))


def histories(store: Store, nct_ids: Iterable[str], *, ignore: Iterable[str] = ()) -> list[RecordHistory]:
    patterns = tuple(ignore)
    return [record_history(store, n, ignore=patterns) for n in nct_ids]


def to_document(items: Iterable[RecordHistory]) -> dict[str, Any]:
    """The documented JSON document of ``audit history --format json``."""
    return {"schema": SCHEMA_VERSION, "records": [h.to_dict() for h in items]}
