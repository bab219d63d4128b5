"""List items of two records paired up, so an item that moved is not a removal and an add.

The items of each list are aligned before fields are matched (across formats, once the legacy
XML side's lists carry their API v2 names, :mod:`auditor.diff.crossformat`). Each item's
signature is the sorted tuple of its fields' ``(rest of key, occurrence, raw)``; the common
head and tail of the two sequences of signatures are kept, and
:class:`difflib.SequenceMatcher` (``autojunk=False``, always run in one canonical order so
``diff(b, a)`` mirrors ``diff(a, b)``) aligns what is between. Items in ``equal`` blocks are
paired in order; in a ``replace`` block, items are paired in order (an edited item) when
*alike*: one field each, or at least half of the smaller item's values found in the other
(values, not keys: the 2016 results-format revision renamed leaves but kept the data) — so a
replaced run of equal length with small edits pairs up by position, and a location swapped
for another is not shown as one location edited beyond recognition. The other items were
removed or added.

Items left unpaired by that in-order alignment are then paired *out of order* when an unpaired
old item and an unpaired new one hold the same fields (a pure move), else carry the same name
(:mod:`auditor.diff.lists`: facility and city, outcome title …; a move with edits): k-th with
k-th, so aligning the other way gives the same pairs. Every field of such an item is a change
(``item_moved``; an unchanged one of class ``item_moved``), which is what lets
:func:`~auditor.diff.apply.apply_changes` put it back.

A paired item's fields are compared under their *new* key, so an index shift alone is no
change; a change in a moved item carries the key at the old index in
:attr:`~auditor.diff.model.Change.old_key`. Lists nested inside an item
(``locations[3].contacts[1].name``) are compared by position within the paired item. Lists
whose indices have gaps keep matching by position.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass

from auditor.diff.keys import Identity, ListId, item_key, list_slot
from auditor.diff.lists import list_spec, name_of
from auditor.records import Field, Record, SourceFormat


def _list_items(fields: dict[Identity, Field]) -> dict[ListId, dict[int, list[Identity]]]:
    """The identities of each list's items, by list and index, in record order."""
    out: dict[ListId, dict[int, list[Identity]]] = {}
    for ident in fields:
        slot = list_slot(ident[0])
        if slot is not None:
            out.setdefault((slot[0], ident[2]), {}).setdefault(slot[1], []).append(ident)
    return out


def _signature(idents: list[Identity], fields: dict[Identity, Field]) -> Signature:
    """The item's ``(rest of key, occurrence, raw)`` triples, sorted: the order of fields
    inside an item is not part of it (applying a diff may place an added field elsewhere)."""
    return tuple(sorted((_rest(i[0]), i[1], fields[i].raw) for i in idents))


def _rest(key: str) -> str:
    slot = list_slot(key)
    assert slot is not None
    return slot[2]


Opcode = tuple[str, int, int, int, int]
_INVERSE_TAG = {"insert": "delete", "delete": "insert"}


Signature = tuple[tuple[str, int, str], ...]


def _item_opcodes(old: list[Signature], new: list[Signature]) -> list[Opcode]:
    """Opcodes aligning two lists of items: the common head and tail are kept as they are
    (so one item inserted among repeated ones is that one insert; difflib's longest-block
    matching alone may not find it), the middle is matched by :func:`_matcher_opcodes`."""
    n = min(len(old), len(new))
    head = 0
    while head < n and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < n - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    middle = _matcher_opcodes(old[head : len(old) - tail], new[head : len(new) - tail])
    return [
        ("equal", 0, head, 0, head),
        *((t, i1 + head, i2 + head, j1 + head, j2 + head) for t, i1, i2, j1, j2 in middle),
        ("equal", len(old) - tail, len(old), len(new) - tail, len(new)),
    ]


def _matcher_opcodes(old: list[Signature], new: list[Signature]) -> list[Opcode]:
    """SequenceMatcher opcodes, computed in one canonical order so that aligning ``new`` with
    ``old`` gives exactly the inverse of aligning ``old`` with ``new`` (difflib is not symmetric)."""
    if not old or not new:
        return [("delete" if old else "insert", 0, len(old), 0, len(new))] if old or new else []
    if old > new:
        return [(_INVERSE_TAG.get(t, t), j1, j2, i1, i2) for t, i1, i2, j1, j2 in _matcher_opcodes(new, old)]
    return list(difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes())


@dataclass(frozen=True)
class Alignment:
    """How the list items of two records pair up (see "List items" in the module docstring)."""

    renamed: dict[Identity, Identity]  # old identity → new identity, paired items at a new index
    removed: set[Identity]  # old identities of fields of unpaired old items
    added: set[Identity]  # new identities of fields of unpaired new items
    moved: dict[tuple[ListId, int], int]  # (list, new index) → old index, paired items that moved
    crossed: frozenset[Identity] = frozenset()  # new identities of items paired out of order

    def old_key(self, ident: Identity) -> str | None:
        """The key a field at new identity ``ident`` has (or would have) in the old record,
        when its list item moved."""
        slot = list_slot(ident[0]) if self.moved else None
        if slot is None:
            return None
        i = self.moved.get(((slot[0], ident[2]), slot[1]))
        return None if i is None else item_key(slot[0], i, slot[2])


def align(left: dict[Identity, Field], right: dict[Identity, Field]) -> Alignment:
    renamed: dict[Identity, Identity] = {}
    removed: set[Identity] = set()
    added: set[Identity] = set()
    moved: dict[tuple[ListId, int], int] = {}
    crossed: set[Identity] = set()
    old_lists, new_lists = _list_items(left), _list_items(right)
    for list_id in old_lists.keys() | new_lists.keys():
        old_items, new_items = old_lists.get(list_id, {}), new_lists.get(list_id, {})
        if not _contiguous(old_items) or not _contiguous(new_items):
            continue
        old_sigs = [_signature(old_items[i], left) for i in range(len(old_items))]
        new_sigs = [_signature(new_items[j], right) for j in range(len(new_items))]
        if old_sigs == new_sigs:
            continue
        pairs: list[tuple[int, int]] = []
        for tag, i1, i2, j1, j2 in _item_opcodes(old_sigs, new_sigs):
            if tag == "equal":
                pairs += zip(range(i1, i2), range(j1, j2), strict=True)
            elif tag == "replace":
                pairs += ((i1 + i, j1 + j) for i, j in _pair_alike(old_sigs[i1:i2], new_sigs[j1:j2]))
        crossing = _cross_pairs(list_id[0], old_items, new_items, left, right, pairs)
        pairs += crossing
        paired_old = {i for i, _ in pairs}
        paired_new = {j for _, j in pairs}
        for i in range(len(old_items)):
            if i not in paired_old:
                removed.update(old_items[i])
        for j in range(len(new_items)):
            if j not in paired_new:
                added.update(new_items[j])
        for _, j in crossing:
            crossed.update(new_items[j])
        for i, j in pairs:
            if i != j:
                moved[(list_id, j)] = i
                for key, n, h in old_items[i]:
                    renamed[(key, n, h)] = (item_key(list_id[0], j, _rest(key)), n, h)
    return Alignment(renamed, removed, added, moved, frozenset(crossed))


def _cross_pairs(
    list_key: str,
    old_items: dict[int, list[Identity]],
    new_items: dict[int, list[Identity]],
    left: dict[Identity, Field],
    right: dict[Identity, Field],
    pairs: list[tuple[int, int]],
) -> list[tuple[int, int]]:
    """Items left unpaired by the in-order alignment that are the same item elsewhere in the
    list: the same content (moved), else the same name (:mod:`auditor.diff.lists`: facility and
    city, outcome title …; moved and edited). The k-th such old item pairs with the k-th new one,
    so aligning the other way round gives the same pairs. An item at the same index either
    side stays unpaired (removed and added): only real moves cross."""
    spec = list_spec(list_key)
    lone_old = [i for i in range(len(old_items)) if i not in {a for a, _ in pairs}]
    lone_new = [j for j in range(len(new_items)) if j not in {b for _, b in pairs}]
    found: list[tuple[int, int]] = []
    for sign in (
        lambda items, fields, k: _signature(items[k], fields),
        lambda items, fields, k: name_of(spec, {_rest(i[0]): fields[i].raw for i in items[k]}),
    ):
        by_old: dict[object, list[int]] = {}
        by_new: dict[object, list[int]] = {}
        for i in lone_old:
            by_old.setdefault(sign(old_items, left, i), []).append(i)
        for j in lone_new:
            by_new.setdefault(sign(new_items, right, j), []).append(j)
        for key, olds in by_old.items():
            if key:
                found += [(i, j) for i, j in zip(olds, by_new.get(key, []), strict=False) if i != j]
        lone_old = [i for i in lone_old if i not in {a for a, _ in found}]
        lone_new = [j for j in lone_new if j not in {b for _, b in found}]
    return found


def _pair_alike(old: list[Signature], new: list[Signature]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of alike items in a replaced run, in order: each old item takes the
    first alike new item after the last one taken, looking at most :data:`LOOKAHEAD` items
    ahead (so a run of thousands of unrelated items stays linear). Run in one canonical order
    (like :func:`_matcher_opcodes`) so that pairing ``new`` with ``old`` gives the same pairs."""
    if old > new:
        return [(i, j) for j, i in _pair_alike(new, old)]
    new_values = [_values(sig) for sig in new]
    pairs: list[tuple[int, int]] = []
    start = 0
    for i, sig in enumerate(old):
        values = _values(sig)
        for j in range(start, min(len(new), start + LOOKAHEAD)):
            if _alike(sig, values, new[j], new_values[j]):
                pairs.append((i, j))
                start = j + 1
                break
    return pairs


#: How far ahead in a replaced run an item looks for its edited self.
LOOKAHEAD = 32


def _values(sig: Signature) -> Counter[str]:
    return Counter(raw for _, _, raw in sig)


def _alike(old: Signature, old_values: Counter[str], new: Signature, new_values: Counter[str]) -> bool:
    """Two items at the same place of a replaced run are one edited item, not one removed and
    another added, when they have one field each or at least half of the smaller one's values
    are among the other's."""
    if old == new or (len(old) == 1 and len(new) == 1):
        return True
    # Values, not keys: a record format revision that renames the leaves keeps the items alike.
    return 2 * sum((old_values & new_values).values()) >= min(len(old), len(new))


def _contiguous(items: dict[int, list[Identity]]) -> bool:
    return all(i in items for i in range(len(items)))


_FAMILY = {SourceFormat.IGNITE_MODULE: SourceFormat.IGNITE_TEXT}


def same_family(a: Record, b: Record) -> bool:
    return _FAMILY.get(a.source.format, a.source.format) == _FAMILY.get(b.source.format, b.source.format)
