"""Changes applied to a record: the inverse of the diff, and the proof that it is complete
(``apply_changes(a, diff(a, b))`` has the fields of ``b``; the property tests check it)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from auditor.diff.keys import Identity, ListId, item_key, list_slot
from auditor.diff.model import IGNITE_STAMPS, SNAPSHOT_SECTION, Change, ChangeKind, present
from auditor.records import HEADER_SECTION, Field, Record


def apply_changes(record: Record, changes: Iterable[Change]) -> Record:
    """``record`` with ``changes`` applied (study changes, metadata, or both).

    The result has the same fields by identity as the record the changes lead to; an added
    field goes right after the last field with its key (or its section, or at the end), so
    occurrence order is kept but the original position of an added field is not. Raises
    ``ValueError`` when a change does not fit the record (its old value is not there).

    List items: a changed field is found under its ``old_key``; the fields of paired items
    that did not change (and so have no change) are renumbered from the ``item_added`` /
    ``item_removed`` changes alone — the alignment keeps the order of paired items, so the
    surviving old items take, in order, the indices the added items leave free.
    """
    fields = list(record.fields)
    renumber = _renumbering(fields, changes := list(changes))
    stamps = {"ignite_created": record.ignite_created, "ignite_modified": record.ignite_modified}
    index = {ident: i for i, ident in enumerate(_identity_list(fields))}
    drop: set[int] = set()
    done: set[int] = set()
    additions: list[Change] = []
    for change in changes:
        if change.key in IGNITE_STAMPS and present(change.new, change.old).section == SNAPSHOT_SECTION:
            stamps[change.key] = change.new_value if isinstance(change.new_value, datetime) else None
            continue
        ident = (change.old_key or change.key, change.occurrence, change.header)
        if change.kind is ChangeKind.ADDED:
            additions.append(change)
            continue
        at = index.get(ident)
        if at is None or change.old is None or at in done or fields[at].raw != change.old.raw:
            raise ValueError(f"change {change.identity} does not apply to {record.source.path}")
        done.add(at)
        if change.new is None:
            drop.add(at)
        else:
            fields[at] = change.new
    for i, f in enumerate(fields):
        if i not in done and (moved := _renumbered(f, renumber)) is not None:
            fields[i] = moved
    kept = [f for i, f in enumerate(fields) if i not in drop]
    for change in sorted(additions, key=lambda c: (c.header, c.key, c.occurrence)):
        assert change.new is not None
        kept.insert(_insert_at(kept, change), change.new)
    nct_id = record.nct_id
    for f in kept:
        if f.key == "nct_id" and f.section != HEADER_SECTION and isinstance(f.value, str):
            nct_id = f.value.strip() or nct_id
    return Record(
        nct_id,
        record.source,
        kept,
        ignite_created=stamps["ignite_created"],
        ignite_modified=stamps["ignite_modified"],
        truncated=record.truncated,
        problems=record.problems,
    )


def _renumbering(fields: Sequence[Field], changes: Sequence[Change]) -> dict[ListId, dict[int, int]]:
    """Old index → new index of the surviving items of each list that gained or lost items.

    Items that moved out of order carry every field in a change (``item_moved``) and are put
    in place by those changes: their old indices leave the survivors, their new ones the targets.
    """
    gone: dict[ListId, set[int]] = {}
    came: dict[ListId, set[int]] = {}
    for c in changes:
        item = c.list_item if c.item or c.item_moved else None
        if item is None:
            continue
        list_id = (item[0], c.header)
        if c.item:
            (came if c.kind is ChangeKind.ADDED else gone).setdefault(list_id, set()).add(item[1])
            continue
        came.setdefault(list_id, set()).add(item[1])
        was = list_slot(c.old_key) if c.old_key else None
        gone.setdefault(list_id, set()).add(item[1] if was is None else was.item)
    out: dict[ListId, dict[int, int]] = {}
    for list_id in gone.keys() | came.keys():
        present = {
            slot[1]
            for f in fields
            if (slot := list_slot(f.key)) is not None and (slot[0], f.section == HEADER_SECTION) == list_id
        }
        survivors = sorted(present - gone.get(list_id, set()))
        free = came.get(list_id, set())
        targets = [j for j in range(len(survivors) + len(free)) if j not in free]
        out[list_id] = dict(zip(survivors, targets, strict=True))
    return out


_FIRST_INDEX = re.compile(r"\[\d+\]")


def _renumbered(f: Field, renumber: dict[ListId, dict[int, int]]) -> Field | None:
    """``f`` under its list item's new index (key and label), or ``None`` if it stays."""
    slot = list_slot(f.key) if renumber else None
    if slot is None:
        return None
    j = renumber.get((slot[0], f.section == HEADER_SECTION), {}).get(slot[1], slot[1])
    if j == slot[1]:
        return None
    label = _FIRST_INDEX.sub(f"[{j}]", f.label, count=1)
    return replace(f, key=item_key(slot[0], j, slot[2]), label=label)


def _identity_list(fields: Sequence[Field]) -> list[Identity]:
    counts: dict[tuple[str, bool], int] = {}
    out: list[Identity] = []
    for f in fields:
        h = f.section == HEADER_SECTION
        n = counts.get((f.key, h), 0)
        counts[(f.key, h)] = n + 1
        out.append((f.key, n, h))
    return out


def _insert_at(fields: list[Field], change: Change) -> int:
    new = change.new
    assert new is not None
    in_header = change.header
    same_key = [
        i for i, f in enumerate(fields) if f.key == new.key and (f.section == HEADER_SECTION) == in_header
    ]
    if same_key:
        return same_key[-1] + 1
    same_section = [i for i, f in enumerate(fields) if f.section == new.section]
    if same_section:
        return same_section[-1] + 1
    return len(fields)
