"""The timeline of one record: its snapshots in store order and what changed at each step.

Each step after the first is summarised from :func:`auditor.diff.compare` between the
snapshot before it and the step's snapshot: the number of changes by semantic class, and the
notable ones listed — status transitions, date changes (shifted, set, cleared, precision), any
flagged change, and every real change of a registered field (a rewritten summary, a stop reason
set); changes of unregistered list leaves (sites, references, outcomes) are counted only.
Cosmetic changes (whitespace, same value written differently) are counted but never notable.
The capture dates (``version_holder``, ``download_date``) change with every download, so they
are ignored by default and shown as the step's dates instead.

The timeline also carries the record's history-consistency findings (:func:`history_findings`,
from the index alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.diff import Change, DiffResult, compare
from auditor.fields import registry
from auditor.findings import Finding, Severity
from auditor.records import Record
from auditor.store import CAPTURE_KEYS, IGNITE_FORMATS, SnapshotEntry, Store, iso_minutes

#: Version of the JSON shape of :meth:`RecordHistory.to_dict`.
SCHEMA_VERSION = 1
#: ``rule_source`` of the history-* findings (where they were defined when first published;
#: kept so that reports and baselines stay comparable).
RULE_SOURCE = "auditor/store.py"
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


# --------------------------------------------------------------------------- history findings


def history_findings(
    store: Store, nct_ids: Iterable[str] | None = None, *, as_of: date | None = None
) -> list[Finding]:
    """Consistency of each record's timeline, from the index alone (no file is read); with
    ``as_of``, of the timeline as it stood that night.

    * ``history-creation-date-changed``: two consecutive Ignite snapshots of one record give
      different Ignite Creation Dates (a record is created once).
    * ``history-modification-date-backwards``: along the timeline a second clock runs
      backwards, or the modification date fails to move although the content changed. For
      Ignite pages (ordered by Ignite Modification Date) the second clock is the registry's
      Last Update Submitted/Posted date; for JSON/XML (ordered by that registry date) it is
      the capture date (versionHolder / download date). Both clocks must never decrease: a
      newer snapshot that carries an older registry update, or that was captured earlier,
      means a rollback or a wrong date. Snapshots with identical dates but different content
      (kept as conflicts by ``add``) also count. The order in which snapshots were *added* is
      deliberately not used: back-filling old snapshots is legitimate.
    * ``history-duplicate-content``: snapshots with the same content (see
      :func:`content_sha`) but different modification dates — Ignite says the record was
      modified and nothing changed. Re-downloads that differ only in their capture date are
      not findings.
    """
    findings: list[Finding] = []
    for nct_id in store.nct_ids() if nct_ids is None else nct_ids:
        entries = store.snapshots_of(nct_id, as_of)
        for old, new in itertools.pairwise(entries):
            findings.extend(_pair_findings(old, new))
        by_content: dict[str, list[SnapshotEntry]] = {}
        for entry in entries:
            by_content.setdefault(entry.content_sha, []).append(entry)
        for group in by_content.values():
            dates = sorted({e.modified for e in group})
            if len(dates) > 1:
                findings.append(
                    _finding(
                        "history-duplicate-content",
                        "Same content under different modification dates",
                        group[0],
                        group[-1],
                        ("ignite_modified",),
                        f"{len(group)} snapshots have the same content but different modification "
                        f"dates ({', '.join(dates)})",
                        (("dates", ", ".join(dates)),),
                        snapshot=", ".join(e.path for e in group),
                    )
                )
    return findings


def _pair_findings(old: SnapshotEntry, new: SnapshotEntry) -> list[Finding]:
    out = [] if (created := _creation_changed(old, new)) is None else [created]
    clock = _clock_backwards(old, new)
    return out if clock is None else [*out, clock]


def _creation_changed(old: SnapshotEntry, new: SnapshotEntry) -> Finding | None:
    if not (old.ignite_created and new.ignite_created and old.ignite_created != new.ignite_created):
        return None
    before, after = iso_minutes(old.ignite_created), iso_minutes(new.ignite_created)
    return _finding(
        "history-creation-date-changed",
        "Ignite creation date changed",
        old,
        new,
        ("ignite_created",),
        f"Ignite Creation Date changed from {before} to {after}",
        (("old", str(before)), ("new", str(after))),
    )


def _clock_backwards(old: SnapshotEntry, new: SnapshotEntry) -> Finding | None:
    """The first of: dates that did not move although the content did, the registry's
    last-update date going backwards, the capture date going backwards (JSON/XML only)."""
    ignite_pair = old.format in IGNITE_FORMATS and new.format in IGNITE_FORMATS
    both_registry = old.format not in IGNITE_FORMATS and new.format not in IGNITE_FORMATS
    if old.order_key[:2] == new.order_key[:2] and old.content_sha != new.content_sha:
        return _finding(
            "history-modification-date-backwards",
            "Modification date did not advance",
            old,
            new,
            ("ignite_modified",) if ignite_pair else ("last_update_submit_date",),
            f"content changed but the dates stayed {new.modified or 'unknown'} / {new.tiebreak or 'unknown'}",
            (("modified", new.modified), ("tiebreak", new.tiebreak)),
        )
    if old.registry_updated and new.registry_updated and new.registry_updated < old.registry_updated:
        return _finding(
            "history-modification-date-backwards",
            "Registry last-update date goes backwards",
            old,
            new,
            ("last_update_submit_date",),
            f"the later snapshot (modified {new.modified}) has an older registry last update "
            f"({new.registry_updated}) than the one before ({old.registry_updated})",
            (("old", old.registry_updated), ("new", new.registry_updated)),
        )
    if both_registry and old.tiebreak and new.tiebreak and new.tiebreak < old.tiebreak:
        return _finding(
            "history-modification-date-backwards",
            "Capture date goes backwards",
            old,
            new,
            ("version_holder",),
            f"the snapshot with the later registry update ({new.modified}) was captured earlier "
            f"({new.tiebreak}) than the one before ({old.tiebreak})",
            (("old", old.tiebreak), ("new", new.tiebreak)),
        )
    return None


def _finding(
    rule_id: str,
    title: str,
    old: SnapshotEntry,
    new: SnapshotEntry,
    fields: tuple[str, ...],
    message: str,
    values: tuple[tuple[str, str], ...],
    *,
    snapshot: str | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.WARNING,
        nct_id=new.nct_id,
        snapshot=snapshot or f"{old.path} -> {new.path}",
        fields=fields,
        message=message,
        rule_source=RULE_SOURCE,
        title=title,
        values=values,
    )
