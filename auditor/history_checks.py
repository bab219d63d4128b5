"""The store's history-consistency findings (the catalogue's ``history-*`` rules), from the
store's index alone: no snapshot is read and nothing is compared, so ``audit check --history``
does not import the diff (:mod:`auditor.history`, the timeline, does).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date

from auditor.findings import Finding, Severity
from auditor.store import IGNITE_FORMATS, SnapshotEntry, Store, iso_minutes

#: ``rule_source`` of the history-* findings (where they were defined when first published;
#: kept so that reports and baselines stay comparable).
RULE_SOURCE = "auditor/store.py"


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
