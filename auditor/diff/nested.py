"""Lists inside list items (a site's contacts, an arm's intervention names) aligned by content.

The engine pairs the outer items by content and compares what is inside a paired item by
position, so one contact inserted at the top of a site's contacts reads, field by field, as
every contact edited into the next one plus one added at the end. For the report,
:func:`nested_events` rebuilds each touched inner list from both records, aligns it like the
outer lists (:class:`difflib.SequenceMatcher` over the inner items' contents; in a replaced
run, items that share at least half their values are one edited item) and says what a person
sees: an inner item added, removed or edited. The field changes themselves are not altered.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from auditor.diff.keys import list_slot
from auditor.diff.model import Change
from auditor.records import Record

_INNER = re.compile(r"^(\.?[^\[]*)\[(\d+)\](.*)$", re.DOTALL)

Inner = dict[str, str]  # rest of key → raw, for one inner item


class NestedEvent(NamedTuple):
    """``kind``: ``added``, ``removed`` or ``edited``; ``edits``: ``(field, old, new)``."""

    kind: str
    list_key: str
    outer: int  # index of the outer item in the newer record
    inner_list: str  # ``.contacts``
    values: Inner
    edits: tuple[tuple[str, str | None, str | None], ...]
    changes: tuple[Change, ...]


class _Group(NamedTuple):
    list_key: str
    old_outer: int
    new_outer: int
    inner_list: str


def _group_of(change: Change) -> _Group | None:
    slot = list_slot(change.key)
    m = None if slot is None or change.header or change.item else _INNER.match(slot.rest)
    if slot is None or m is None:
        return None
    old_slot = list_slot(change.old_key) if change.old_key else slot
    old_outer = slot.item if old_slot is None else old_slot.item
    return _Group(slot.list_key, old_outer, slot.item, m.group(1))


def _inner_items(record: Record, list_key: str, outer: int, inner_list: str) -> list[Inner]:
    prefix = f"{list_key}[{outer}]{inner_list}["
    found: dict[int, Inner] = defaultdict(dict)
    for f in record.fields:
        if f.key.startswith(prefix):
            m = _TAIL.match(f.key, len(prefix))
            if m is not None:
                found[int(m.group(1))].setdefault(m.group(2), f.raw)
    return [found[i] for i in sorted(found)]


_TAIL = re.compile(r"(\d+)\](.*)$", re.DOTALL)


def _signature(item: Inner) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(item.items()))


def _alike(a: Inner, b: Inner) -> bool:
    if len(a) == len(b) == 1:
        return True
    shared = sum((Counter(a.values()) & Counter(b.values())).values())
    return 2 * shared >= min(len(a), len(b))


def nested_events(
    changes: Sequence[Change], before: Record, after: Record
) -> tuple[list[NestedEvent], set[int]]:
    """The inner-list events of ``changes`` and the ``id`` of every change they account for.

    Inner lists whose items only changed in place (no item inserted or removed) are left to the
    field-by-field lines: there the positional reading is already the right one.
    """
    groups: dict[_Group, list[Change]] = defaultdict(list)
    for c in changes:
        group = _group_of(c)
        if group is not None:
            groups[group].append(c)
    events: list[NestedEvent] = []
    used: set[int] = set()
    for group, members in groups.items():
        old = _inner_items(before, group.list_key, group.old_outer, group.inner_list)
        new = _inner_items(after, group.list_key, group.new_outer, group.inner_list)
        found = _align(old, new)
        if not any(kind != "edited" for kind, _, _ in found):
            continue
        for kind, i, j in found:
            events.append(_event(group, kind, old, new, i, j, tuple(members)))
        used.update(id(c) for c in members)
    return events, used


def _align(old: list[Inner], new: list[Inner]) -> list[tuple[str, int | None, int | None]]:
    """``(kind, old index, new index)`` of every inner item that differs."""
    out: list[tuple[str, int | None, int | None]] = []
    sigs_old, sigs_new = [_signature(x) for x in old], [_signature(x) for x in new]
    matcher = difflib.SequenceMatcher(None, sigs_old, sigs_new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        while olds and news and _alike(old[olds[0]], new[news[0]]):
            out.append(("edited", olds.pop(0), news.pop(0)))
        out += [("removed", i, None) for i in olds]
        out += [("added", None, j) for j in news]
    return out


def _event(
    group: _Group,
    kind: str,
    old: list[Inner],
    new: list[Inner],
    i: int | None,
    j: int | None,
    changes: tuple[Change, ...],
) -> NestedEvent:
    before = old[i] if i is not None else {}
    after = new[j] if j is not None else {}
    edits = tuple(
        (rest.lstrip(".") or "value", before.get(rest), after.get(rest))
        for rest in sorted(before.keys() | after.keys())
        if before.get(rest) != after.get(rest)
    )
    return NestedEvent(
        kind, group.list_key, group.new_outer, group.inner_list, after or before, edits, changes
    )
