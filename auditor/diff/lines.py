"""A diff as people read it: report lines built from the field changes (every renderer uses them).

* a list item added or removed as a whole is one line, named by identity
  ("site added: Sarah Cannon, Nashville");
* an item the engine paired out of order (:mod:`auditor.diff.align`: same content or same
  name elsewhere in the list) is **moved**: all unchanged moves in one list are one line
  ("12 conditions moved to another place in the list (same content)"), and nothing with
  ``ignore_order`` (:func:`without_reorders` also drops their changes, so ``--exit-code``
  agrees); a moved item that also changed is one "moved and edited" line with the fields that
  differ (a removed and an added item with the same content or name, which the engine leaves
  unpaired only when both sit at the same index, read the same way);
* lists inside items (a site's contacts) are aligned by content (:mod:`auditor.diff.nested`);
* the same edit to many items of one list (at least :data:`MASS` items) is one line —
  "230 sites: status → RECRUITING 176, NOT_YET_RECRUITING 54" — unless ``details``;
  so are many items added or removed at once.

The field changes themselves (``DiffResult.changes``, the JSON) are not regrouped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from auditor.diff.grades import Grade
from auditor.diff.keys import ListSlot, list_slot
from auditor.diff.lists import ItemId, item_names, item_signature, item_values, list_spec, name_of
from auditor.diff.model import Change, ChangeKind, SemanticClass, squash
from auditor.diff.nested import NestedEvent, nested_events
from auditor.diff.result import DiffResult

#: At least this many items edited alike (or added, or removed) in one list make one line.
MASS = 10


@dataclass(frozen=True)
class Line:
    """One line of a report. ``mark``: ``+`` added, ``-`` removed, ``~`` changed, ``>`` moved."""

    mark: str
    label: str
    identity: str
    summary: str
    grade: Grade
    module: str
    semantic: str
    changes: tuple[Change, ...]
    flagged: bool = False
    moved_from: str | None = None
    old: str | None = None
    new: str | None = None
    name: str = ""  # a whole item's name (or its values, for an unnamed one)

    @property
    def word_diff(self) -> tuple[tuple[str, str], ...]:
        one = self.changes[0] if len(self.changes) == 1 else None
        return one.word_diff if one is not None and one.semantic is SemanticClass.TEXT_EDITED else ()


_MARK = {
    ChangeKind.ADDED: "+",
    ChangeKind.REMOVED: "-",
    ChangeKind.CHANGED: "~",
    ChangeKind.MOVED: ">",
    ChangeKind.ITEM_MOVED: ">",
}
ItemKey = tuple[str, bool, int, str]  # list key, header, index, "added"/"removed"


def report_lines(
    result: DiffResult, changes: Sequence[Change] | None = None, *, details: bool = False
) -> list[Line]:
    """The lines of ``changes`` (default: the result's study changes), in record order."""
    changes = result.changes if changes is None else changes
    names = _Names(result)
    items: dict[ItemKey, list[Change]] = defaultdict(list)
    order: list[tuple[int, object]] = []
    moved: dict[tuple[str, bool, int], list[tuple[int, Change]]] = defaultdict(list)
    for pos, c in enumerate(changes):
        slot = list_slot(c.key) if c.item_moved else None
        if slot is not None:
            moved[(slot.list_key, c.header, slot.item)].append((pos, c))
            continue
        slot = list_slot(c.key) if c.item else None
        if slot is None:
            order.append((pos, c))
            continue
        key = (slot.list_key, c.header, slot.item, "added" if c.kind is ChangeKind.ADDED else "removed")
        if key not in items:
            order.append((pos, key))
        items[key].append(c)
    lines = _item_lines(items, order, names) + _moved_lines(moved, names)
    edits = [(pos, c) for pos, c in order if isinstance(c, Change)]
    events, explained = nested_events([c for _, c in edits], result.before, result.after)
    if events:
        first = {id(c): pos for pos, c in edits}
        lines += _nested_lines(events, first, names, details)
        edits = [(pos, c) for pos, c in edits if id(c) not in explained]
    lines += [(pos, line) for pos, line in _edit_lines(edits, names, details)]
    if not details:
        lines = _mass_items(lines)
    return [line for _, line in sorted(lines, key=lambda pl: pl[0])]


class _Names:
    """Item names of both records, computed on first use."""

    def __init__(self, result: DiffResult) -> None:
        self.result = result
        self._old: dict[ItemId, str] | None = None
        self._new: dict[ItemId, str] | None = None

    def old(self, item: ItemId) -> str:
        if self._old is None:
            self._old = item_names(self.result.before)
        return self._old.get(item, "")

    def new(self, item: ItemId) -> str:
        if self._new is None:
            self._new = item_names(self.result.after)
        return self._new.get(item, "")


def _item_lines(
    items: dict[ItemKey, list[Change]], order: list[tuple[int, object]], names: _Names
) -> list[tuple[int, Line]]:
    position = {key: pos for pos, key in order if isinstance(key, tuple)}
    by_list: dict[tuple[str, bool], list[ItemKey]] = defaultdict(list)
    for key in items:
        by_list[(key[0], key[1])].append(key)
    out: list[tuple[int, Line]] = []
    for (list_key, _), keys in by_list.items():
        removed = [k for k in keys if k[3] == "removed"]
        added = [k for k in keys if k[3] == "added"]
        moves = _pair(removed, added, lambda k: item_signature(items[k]))
        rest_removed = [k for k in removed if k not in moves]
        rest_added = [k for k in added if k not in moves.values()]
        spec = list_spec(list_key)
        edited = _pair(rest_removed, rest_added, lambda k, s=spec: name_of(s, item_values(items[k])) or None)
        if moves:
            moved = [c for k, v in moves.items() for c in (*items[k], *items[v])]
            pos = min(position[k] for k in (*moves, *moves.values()))
            out.append((pos, _reorder_line(list_key, len(moves), moved)))
        for old_key, new_key in edited.items():
            pos = min(position[old_key], position[new_key])
            out.append((pos, _moved_edit_line(list_key, items[old_key], items[new_key])))
        for key in keys:
            if (
                key not in moves
                and key not in moves.values()
                and key not in edited
                and key not in edited.values()
            ):
                out.append((position[key], _item_line(key, items[key], names)))
    return out


def _moved_lines(
    moved: dict[tuple[str, bool, int], list[tuple[int, Change]]], names: _Names
) -> list[tuple[int, Line]]:
    """Items the engine paired out of order: unchanged ones are one "moved" line per list, an
    item that also changed is one "moved and edited" line."""
    pure: dict[str, list[tuple[int, Change]]] = defaultdict(list)
    out: list[tuple[int, Line]] = []
    for (list_key, _, index), members in moved.items():
        changes = [c for _, c in members]
        if all(c.semantic is SemanticClass.ITEM_MOVED for c in changes):
            pure[list_key] += members
            continue
        spec = list_spec(list_key)
        was = list_slot(changes[0].old_key or changes[0].key)
        where = f"moved from position {(was.item if was else index) + 1} to {index + 1}"
        edits = [
            f"{(list_slot(c.key) or list_slot(c.old_key or '') or _NO_SLOT).rest.lstrip('.') or 'value'}: "
            f"{_short(c.old_raw)} → {_short(c.new_raw)}"
            for c in changes
            if c.semantic is not SemanticClass.ITEM_MOVED
        ]
        name = names.new((list_key, index)) or f"{list_key}[{index}]"
        summary = f"{spec.noun} {where} and edited: " + "; ".join(edits)
        line = Line(
            "~",
            f"{spec.noun}: {name}",
            f"{list_key}[{index}]",
            summary,
            _grade(changes),
            changes[0].module,
            "item_moved_and_edited",
            tuple(changes),
        )
        out.append((members[0][0], line))
    for list_key, members in pure.items():
        n = len({(s.list_key, s.item) for _, c in members if (s := list_slot(c.key)) is not None})
        out.append((members[0][0], _reorder_line(list_key, n, [c for _, c in members])))
    return out


_NO_SLOT = ListSlot("", 0, "")


def _pair(removed: list[ItemKey], added: list[ItemKey], sign: object) -> dict[ItemKey, ItemKey]:
    """Removed → added items with the same non-empty sign, k-th with k-th (so it mirrors)."""
    assert callable(sign)
    waiting: dict[object, list[ItemKey]] = defaultdict(list)
    for key in added:
        s = sign(key)
        if s:
            waiting[s].append(key)
    out: dict[ItemKey, ItemKey] = {}
    for key in removed:
        s = sign(key)
        if s and waiting.get(s):
            out[key] = waiting[s].pop(0)
    return out


def _grade(changes: Iterable[Change]) -> Grade:
    return max((c.grade for c in changes), key=lambda g: g.rank, default=Grade.COSMETIC)


def _reorder_line(list_key: str, n: int, changes: list[Change]) -> Line:
    spec = list_spec(list_key)
    noun = spec.noun if n == 1 else spec.plural
    summary = f"{n} {noun} moved to another place in the list (same content)"
    first = changes[0]
    return Line(
        ">", spec.plural, list_key, summary, Grade.COSMETIC, first.module, "reordered", tuple(changes)
    )


def _moved_edit_line(list_key: str, old: list[Change], new: list[Change]) -> Line:
    spec = list_spec(list_key)
    before, after = item_values(old), item_values(new)
    name = name_of(spec, after)
    edits = [
        f"{rest.lstrip('.') or 'value'}: {_short(before.get(rest))} → {_short(after.get(rest))}"
        for rest in sorted(before.keys() | after.keys())
        if before.get(rest) != after.get(rest)
    ]
    old_slot, new_slot = list_slot(old[0].key), list_slot(new[0].key)
    assert old_slot is not None and new_slot is not None
    where = f"moved from position {old_slot.item + 1} to {new_slot.item + 1}"
    summary = f"{spec.noun} {where} and edited: " + "; ".join(edits)
    changes = (*old, *new)
    return Line(
        "~",
        f"{spec.noun}: {name}",
        new[0].key.split("]")[0] + "]",
        summary,
        _grade(changes),
        new[0].module,
        "item_moved_and_edited",
        changes,
    )


def _item_line(key: ItemKey, changes: list[Change], names: _Names) -> Line:
    list_key, _, index, verb = key
    spec = list_spec(list_key)
    name = name_of(spec, item_values(changes))
    values = ", ".join(squash(v) for v in item_values(changes).values())
    text = name or (values if len(values) <= 120 else values[:119] + "…")
    n = len(changes)
    summary = f"{spec.noun} {verb}: {text} ({n} field{'s' if n != 1 else ''})"
    first = changes[0]
    label = f"{spec.noun}: {name}" if name else f"{list_key}[{index}]"
    return Line(
        _MARK[first.kind],
        label,
        f"{list_key}[{index}]",
        summary,
        _grade(changes),
        first.module,
        str(first.semantic),
        tuple(changes),
        name=text,
    )


def _edit_lines(edits: list[tuple[int, Change]], names: _Names, details: bool) -> list[tuple[int, Line]]:
    groups: dict[tuple[str, bool, str, str], list[tuple[int, Change]]] = defaultdict(list)
    singles: list[tuple[int, Change]] = []
    for pos, c in edits:
        slot = list_slot(c.key)
        if slot is None or details:
            singles.append((pos, c))
        else:
            groups[(slot.list_key, c.header, slot.rest, str(c.semantic))].append((pos, c))
    out = [(pos, _change_line(c, names)) for pos, c in singles]
    for (list_key, _, rest, _), members in groups.items():
        if len(members) >= MASS:
            out.append((members[0][0], _mass_line(list_key, rest, [c for _, c in members])))
        else:
            out += [(pos, _change_line(c, names)) for pos, c in members]
    return out


def _change_line(c: Change, names: _Names) -> Line:
    label = c.label
    slot = list_slot(c.key)
    if slot is not None:
        name = names.new((slot.list_key, slot.item)) or names.old((slot.list_key, slot.item))
        if name:
            label = f"{list_spec(slot.list_key).noun}: {name} › {slot.rest.lstrip('.') or 'value'}"
    return Line(
        _MARK[c.kind],
        label,
        c.identity,
        c.summary,
        c.grade,
        c.module,
        str(c.semantic),
        (c,),
        c.flagged,
        c.moved_from,
        c.old_raw,
        c.new_raw,
    )


def _mass_line(list_key: str, rest: str, changes: list[Change]) -> Line:
    spec = list_spec(list_key)
    values = Counter(_short(c.new_raw if c.new is not None else None, 40) for c in changes)
    spread = ", ".join(f"{v} {n}" for v, n in values.most_common(6))
    if len(values) > 6:
        spread += f", … ({len(values) - 6} more values)"
    field = rest.lstrip(".") or "value"
    verb = {ChangeKind.ADDED: "set", ChangeKind.REMOVED: "cleared"}.get(changes[0].kind, "changed")
    summary = f"{len(changes)} {spec.plural}: {field} {verb} — {spread}"
    first = changes[0]
    return Line(
        _MARK[first.kind],
        f"{spec.plural} › {field}",
        f"{list_key}[*]{rest}",
        summary,
        _grade(changes),
        first.module,
        str(first.semantic),
        tuple(changes),
    )


def _nested_lines(
    events: list[NestedEvent], first: dict[int, int], names: _Names, details: bool
) -> list[tuple[int, Line]]:
    """One line per inner item added, removed or edited; many alike in one list: one line."""
    groups: dict[tuple[str, str, str], list[NestedEvent]] = defaultdict(list)
    for event in events:
        groups[(event.list_key, event.inner_list, event.kind)].append(event)
    out: list[tuple[int, Line]] = []
    for (list_key, inner, kind), members in groups.items():
        spec = list_spec(list_key)
        noun = inner.lstrip(".").replace("_", " ")
        pos = min(first[id(c)] for e in members for c in e.changes)
        changes = tuple(dict.fromkeys(c for e in members for c in e.changes))
        mark = {"added": "+", "removed": "-"}.get(kind, "~")
        if len(members) >= MASS and not details:
            summary = f"{len(members)} {spec.plural}: {noun} item {kind}"
            label = f"{spec.plural} › {noun}"
            out.append(
                (
                    pos,
                    Line(
                        mark,
                        label,
                        f"{list_key}[*]{inner}",
                        summary,
                        _grade(changes),
                        changes[0].module,
                        f"nested_{kind}",
                        changes,
                    ),
                )
            )
            continue
        for e in members:
            name = names.new((list_key, e.outer)) or f"{list_key}[{e.outer}]"
            if kind == "edited":
                text = "; ".join(f"{f}: {_short(a)} → {_short(b)}" for f, a, b in e.edits)
            else:
                text = ", ".join(squash(v) for v in e.values.values())
            label = f"{spec.noun}: {name} › {noun}"
            out.append(
                (
                    pos,
                    Line(
                        mark,
                        label,
                        f"{list_key}[{e.outer}]{inner}",
                        f"{noun} item {kind}: {text}",
                        _grade(e.changes),
                        e.changes[0].module,
                        f"nested_{kind}",
                        e.changes,
                    ),
                )
            )
    return out


def _mass_items(lines: list[tuple[int, Line]]) -> list[tuple[int, Line]]:
    """Many whole items added (or removed) in one list: one line naming the first few."""
    groups: dict[tuple[str, str], list[tuple[int, Line]]] = defaultdict(list)
    rest: list[tuple[int, Line]] = []
    for pos, line in lines:
        if line.semantic in ("item_added", "item_removed"):
            groups[(line.identity.split("[")[0], line.semantic)].append((pos, line))
        else:
            rest.append((pos, line))
    for (list_key, semantic), members in groups.items():
        if len(members) < MASS:
            rest += members
            continue
        spec = list_spec(list_key)
        shown = [ln.name for _, ln in members[:5]]
        more = f", … ({len(members) - 5} more)" if len(members) > 5 else ""
        verb = "added" if semantic == "item_added" else "removed"
        first = members[0][1]
        changes = tuple(c for _, ln in members for c in ln.changes)
        summary = f"{len(members)} {spec.plural} {verb}: {'; '.join(shown)}{more}"
        line = Line(
            first.mark,
            spec.plural,
            f"{list_key}[*]",
            summary,
            _grade(changes),
            first.module,
            semantic,
            changes,
        )
        rest.append((members[0][0], line))
    return rest


def _short(raw: str | None, limit: int = 60) -> str:
    if raw is None:
        return "(absent)"
    text = squash(raw)
    if not text:
        return '""'
    return text if len(text) <= limit else text[: limit - 1] + "…"


def without_reorders(result: DiffResult) -> DiffResult:
    """``result`` without the changes that only moved list items (``--ignore-order``)."""
    moved = {
        id(c)
        for line in report_lines(result, details=True)
        if line.semantic == "reordered"
        for c in line.changes
    }
    if not moved:
        return result
    return replace(result, changes=tuple(c for c in result.changes if id(c) not in moved))
