"""Record × Record → changes: what changed *in the study* between two snapshots, field by field.

How fields are matched
    A field's identity is ``(key, occurrence)``: its canonical key and its index among the
    fields of the record with that key (a record may repeat a key; order is kept). The Ignite
    study page's summary block (section :data:`~auditor.records.HEADER_SECTION`) repeats body
    fields, so its fields have identities of their own (``Header:key``) and are compared only
    when *both* records have a summary block; otherwise they are left out and a note says so.
    A matched field whose section differs is kind ``moved_section`` (if its value is unchanged)
    or ``values_changed`` with ``moved_from`` set.

Different formats
    Unregistered leaves of JSON and XML get *path labels* (``contacts_locations_module.
    locations[0].facility`` vs ``clinical_study.location[0].facility.name``). When the two
    records come from different source formats (Ignite text and Ignite module pages count as
    one), such path keys (containing ``.`` or ``[``, and not in the registry) are compared only
    when present on both sides, and a note says how many were not comparable. Registry fields
    are always compared.

How changes are found and classified
    A :class:`deepdiff.DeepDiff` over two flat dicts ``{identity: raw}`` (fields equal on both
    sides set aside first, see :func:`_changed_identities`) finds the added, removed and
    changed identities; each is then classified from the *typed* values
    (:class:`SemanticClass`). ``Change.kind`` keeps deepdiff's vocabulary
    (``values_changed``, ``dictionary_item_added``, ``dictionary_item_removed``) beside our
    ``moved_section``.

Status order (for "backwards" transitions of ``overall_status`` and ``last_known_status``)::

    NOT_YET_RECRUITING < RECRUITING = ENROLLING_BY_INVITATION < ACTIVE_NOT_RECRUITING
        < COMPLETED = TERMINATED = WITHDRAWN

A move to a lower rank is flagged ``backwards``; any move into ``UNKNOWN`` is flagged
``into_unknown``. ``SUSPENDED``, ``WITHHELD`` and the expanded-access statuses have no rank
(a suspension may end either way), so moves to or from them are never "backwards".

Dates
    A change between two dates of different precision where the finer one lies inside the
    coarser one (``2020-09`` → ``2020-09-23``) is ``date_precision_changed``; any other date
    change is ``date_shifted`` with ``days`` = difference of the earliest days each can mean
    (positive = later).

Cosmetic changes
    ``whitespace_only`` (the same words, spaced differently) and ``format_only`` (the same
    typed value spelled differently: ``Yes``/``True``, ``Active, not recruiting``/
    ``ACTIVE_NOT_RECRUITING``, ``September 2020``/``2020-09``) are study changes marked
    :attr:`Change.cosmetic`: they are listed, counted apart, and — like ``git diff
    --exit-code`` without ``-w`` — still make ``--exit-code`` exit 1. ``None``, ``N/A`` and an
    empty value are never the same value (``missing_kind_changed``).

List items
    A path key with an index (``contacts_locations_module.locations[3].facility``,
    ``conditions_module.conditions[0]``) belongs to an item of a list: the prefix up to the
    *first* ``[n]`` names the list, ``n`` the item. Between two records of one format family,
    the items of each list are aligned before fields are matched. Each item's signature is the
    sorted tuple of its fields' ``(rest of key, occurrence, raw)``; the common head and tail of
    the two sequences of signatures are kept, and :class:`difflib.SequenceMatcher`
    (``autojunk=False``, always run in one canonical order so ``diff(b, a)`` mirrors
    ``diff(a, b)``) aligns what is between. Items in ``equal`` blocks are paired in order; in
    a ``replace`` block, items are paired in order (an edited item) when *alike*: one field
    each, or at least half of the smaller item's values found in the other (values, not keys:
    the 2016 results-format revision renamed leaves but kept the data) — so a replaced run of
    equal length with small edits pairs up by position, and a location swapped for another is
    not shown as one location edited beyond recognition. The other items were removed or
    added.

    A paired item's fields are compared under their *new* key, so an index shift alone is no
    change; a change in a moved item carries the key at the old index in
    :attr:`Change.old_key`. Every field of an unpaired item is a change of class
    ``item_removed`` / ``item_added`` (kinds ``dictionary_item_removed`` /
    ``dictionary_item_added``), and :meth:`DiffResult.items` counts the items. Lists nested
    inside an item (``locations[3].contacts[1].name``) are compared by position within the
    paired item. Lists whose indices have gaps, and records of different format families,
    keep matching by position.

Limits
    Repeated fields that are not list items (an Ignite label given twice) are matched by
    position among their key.

Snapshot metadata
    The Ignite creation/modification timestamps and every field whose key matches an
    ``ignore`` pattern (:func:`fnmatch.fnmatchcase`, so ``derived_section.*`` works; labels are
    accepted and turned into keys) are reported in :attr:`DiffResult.metadata`, never as study
    changes.

Order of snapshots
    :func:`diff` takes its arguments as given (so ``diff(b, a)`` mirrors ``diff(a, b)``).
    :func:`compare` (what ``audit diff`` calls) shows the older snapshot as "before" whatever
    the argument order, with a note when it swapped them. "Older" is decided by when each copy
    was made: the Ignite modification time, else the API's ``version_holder`` (JSON), else the
    legacy XML's download date (:func:`capture_date`); failing those, by
    ``last_update_submit_date``. On a tie, or with no date on one side, the argument order
    stands.

Python use::

    import auditor
    changes = auditor.diff(auditor.read_one("old.txt"), auditor.read_one("new.json"))
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from auditor.errors import UsageError
from auditor.fields import label_key, registry
from auditor.records import HEADER_SECTION, Field, Record, SourceFormat
from auditor.values import Missing, PartialDate, Value, ValueType, format_timestamp, parse_date

#: Section name given to the Ignite timestamps when they are reported as metadata.
SNAPSHOT_SECTION = "Snapshot"
#: Keys of the pseudo-fields that carry the Ignite timestamps in :attr:`DiffResult.metadata`.
IGNITE_STAMPS = {"ignite_created": "Ignite Creation Date", "ignite_modified": "Ignite Modification Date"}

STATUS_KEYS = frozenset({"overall_status", "last_known_status"})
STATUS_RANK: dict[str, int] = {
    "NOT_YET_RECRUITING": 0,
    "RECRUITING": 1,
    "ENROLLING_BY_INVITATION": 1,
    "ACTIVE_NOT_RECRUITING": 2,
    "COMPLETED": 3,
    "TERMINATED": 3,
    "WITHDRAWN": 3,
}
UNKNOWN_STATUS = "UNKNOWN"

_WS = re.compile(r"\s+")


class ChangeKind(StrEnum):
    """What happened to the field itself (deepdiff's words, plus ``moved_section``)."""

    CHANGED = "values_changed"
    ADDED = "dictionary_item_added"
    REMOVED = "dictionary_item_removed"
    MOVED = "moved_section"

    @property
    def verb(self) -> str:
        return {
            "values_changed": "changed",
            "dictionary_item_added": "added",
            "dictionary_item_removed": "removed",
            "moved_section": "moved",
        }[self.value]


class SemanticClass(StrEnum):
    """What the change means, decided from the typed values."""

    STATUS_TRANSITION = "status_transition"
    DATE_SHIFTED = "date_shifted"
    DATE_PRECISION_CHANGED = "date_precision_changed"
    DATE_SET = "date_set"
    DATE_CLEARED = "date_cleared"
    BOOLEAN_FLIPPED = "boolean_flipped"
    MISSING_TO_VALUE = "missing_to_value"
    VALUE_TO_MISSING = "value_to_missing"
    MISSING_KIND_CHANGED = "missing_kind_changed"  # None ↔ N/A ↔ empty
    TEXT_EDITED = "text_edited"
    WHITESPACE_ONLY = "whitespace_only"
    FORMAT_ONLY = "format_only"  # same typed value written differently (``Yes`` vs ``True``)
    ENUM_CHANGED = "enum_changed"
    NUMBER_CHANGED = "number_changed"
    VALUE_CHANGED = "value_changed"  # the type itself changed (e.g. a bad date became good)
    FIELD_ADDED = "field_added"
    FIELD_REMOVED = "field_removed"
    ITEM_ADDED = "item_added"  # a field of a list item with no partner in the old record
    ITEM_REMOVED = "item_removed"  # a field of a list item with no partner in the new record
    SECTION_MOVED = "section_moved"

    @property
    def mirror(self) -> SemanticClass:
        return _MIRROR.get(self, self)


_MIRROR = {
    SemanticClass.DATE_SET: SemanticClass.DATE_CLEARED,
    SemanticClass.DATE_CLEARED: SemanticClass.DATE_SET,
    SemanticClass.MISSING_TO_VALUE: SemanticClass.VALUE_TO_MISSING,
    SemanticClass.VALUE_TO_MISSING: SemanticClass.MISSING_TO_VALUE,
    SemanticClass.FIELD_ADDED: SemanticClass.FIELD_REMOVED,
    SemanticClass.FIELD_REMOVED: SemanticClass.FIELD_ADDED,
    SemanticClass.ITEM_ADDED: SemanticClass.ITEM_REMOVED,
    SemanticClass.ITEM_REMOVED: SemanticClass.ITEM_ADDED,
}

#: Word-diff operations: equal, delete (only in old), insert (only in new).
WordOp = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    """One changed field. ``old`` / ``new`` are the fields as read (``None`` when absent).

    ``flag`` is ``"backwards"`` or ``"into_unknown"`` for status transitions worth a look;
    ``days`` is the shift of a date (positive = later); ``similarity`` (0–1) and ``word_diff``
    describe text edits. ``key`` is where the field is now (where it was, for a removed one);
    ``old_key`` is its key in the old record when its list item moved to another index.
    """

    key: str
    occurrence: int
    kind: ChangeKind
    semantic: SemanticClass
    old: Field | None
    new: Field | None
    header: bool = False
    flag: str | None = None
    days: int | None = None
    similarity: float | None = None
    word_diff: tuple[WordOp, ...] = ()
    old_key: str | None = None

    @property
    def item(self) -> bool:
        """A field of a whole list item added or removed (see the module docstring)."""
        return self.semantic in (SemanticClass.ITEM_ADDED, SemanticClass.ITEM_REMOVED)

    @property
    def list_item(self) -> tuple[str, int] | None:
        """``(list key, index)`` of the list item the field belongs to, if any."""
        slot = _list_slot(self.key)
        return None if slot is None else (slot[0], slot[1])

    @property
    def identity(self) -> str:
        return _identity_text(self.key, self.occurrence, self.header)

    @property
    def section(self) -> str:
        """Where the field is now (where it was, for a removed field)."""
        return _present(self.new, self.old).section

    @property
    def moved_from(self) -> str | None:
        if self.old is not None and self.new is not None and self.old.section != self.new.section:
            return self.old.section
        return None

    @property
    def label(self) -> str:
        return _present(self.new, self.old).label

    @property
    def old_raw(self) -> str | None:
        return None if self.old is None else self.old.raw

    @property
    def new_raw(self) -> str | None:
        return None if self.new is None else self.new.raw

    @property
    def old_value(self) -> Value | None:
        return None if self.old is None else self.old.value

    @property
    def new_value(self) -> Value | None:
        return None if self.new is None else self.new.value

    @property
    def flagged(self) -> bool:
        return self.flag is not None

    @property
    def cosmetic(self) -> bool:
        """Whitespace or spelling of the same value only: the study did not change."""
        return self.semantic in (SemanticClass.WHITESPACE_ONLY, SemanticClass.FORMAT_ONLY)

    @property
    def summary(self) -> str:
        return describe(self)

    def mirrored(self) -> Change:
        """The change as ``diff(new, old)`` reports it (flags are recomputed, not swapped)."""
        key, old_key = (self.old_key, self.key) if self.old_key is not None else (self.key, None)
        return classify(
            key, self.occurrence, self.new, self.old, header=self.header, old_key=old_key, item=self.item
        )

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (see :mod:`auditor.reports.diff_render`)."""
        return {
            "key": self.key,
            "old_key": self.old_key,
            "occurrence": self.occurrence,
            "header": self.header,
            "section": self.section,
            "moved_from": self.moved_from,
            "label": self.label,
            "kind": str(self.kind),
            "class": str(self.semantic),
            "flag": self.flag,
            "summary": self.summary,
            "old": _field_json(self.old),
            "new": _field_json(self.new),
            "days": self.days,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "word_diff": [list(op) for op in self.word_diff] if self.word_diff else None,
        }


def _present(*fields: Field | None) -> Field:
    for f in fields:
        if f is not None:
            return f
    raise ValueError("a change needs an old or a new field")


def _field_json(f: Field | None) -> dict[str, Any] | None:
    if f is None:
        return None
    out = f.to_dict()
    del out["key"]
    return out


def _identity_text(key: str, occurrence: int, header: bool) -> str:
    text = key if occurrence == 0 else f"{key}#{occurrence}"
    return f"{HEADER_SECTION}:{text}" if header else text


# --- classification -----------------------------------------------------------------------


def _squash(text: str) -> str:
    return " ".join(text.split())


def classify(
    key: str,
    occurrence: int,
    old: Field | None,
    new: Field | None,
    *,
    header: bool = False,
    old_key: str | None = None,
    item: bool = False,
) -> Change:
    """Build the :class:`Change` between two versions of one field (either may be absent).

    ``item``: the field belongs to a list item that was added or removed as a whole.
    """
    if old is None and new is None:
        raise ValueError("nothing to classify")

    def make(kind: ChangeKind, semantic: SemanticClass, **extra: Any) -> Change:
        return Change(key, occurrence, kind, semantic, old, new, header, old_key=old_key, **extra)

    if old is None:
        return make(ChangeKind.ADDED, SemanticClass.ITEM_ADDED if item else SemanticClass.FIELD_ADDED)
    if new is None:
        return make(ChangeKind.REMOVED, SemanticClass.ITEM_REMOVED if item else SemanticClass.FIELD_REMOVED)
    if old.raw == new.raw:
        return make(ChangeKind.MOVED, SemanticClass.SECTION_MOVED)
    a, b = old.value, new.value
    extra: dict[str, Any] = {}
    if _squash(old.raw) == _squash(new.raw):
        semantic = SemanticClass.WHITESPACE_ONLY
    elif isinstance(a, Missing) and isinstance(b, Missing):
        semantic = SemanticClass.MISSING_KIND_CHANGED
    elif isinstance(a, Missing):
        semantic = SemanticClass.DATE_SET if isinstance(b, PartialDate) else SemanticClass.MISSING_TO_VALUE
    elif isinstance(b, Missing):
        semantic = (
            SemanticClass.DATE_CLEARED if isinstance(a, PartialDate) else SemanticClass.VALUE_TO_MISSING
        )
    elif _same_value(a, b):
        semantic = SemanticClass.FORMAT_ONLY
    elif isinstance(a, PartialDate) and isinstance(b, PartialDate):
        extra["days"] = (b.earliest() - a.earliest()).days
        semantic = SemanticClass.DATE_PRECISION_CHANGED if _refines(a, b) else SemanticClass.DATE_SHIFTED
    elif isinstance(a, datetime) and isinstance(b, datetime):
        extra["days"] = (b.date() - a.date()).days
        semantic = SemanticClass.DATE_SHIFTED
    elif isinstance(a, bool) and isinstance(b, bool):
        semantic = SemanticClass.BOOLEAN_FLIPPED
    elif key in STATUS_KEYS and isinstance(a, str) and isinstance(b, str):
        semantic = SemanticClass.STATUS_TRANSITION
        extra["flag"] = status_flag(a, b)
    elif old.type is ValueType.ENUM and new.type is ValueType.ENUM:
        semantic = SemanticClass.ENUM_CHANGED
    elif type(a) is int and type(b) is int:
        semantic = SemanticClass.NUMBER_CHANGED
    elif isinstance(a, str) and isinstance(b, str):
        semantic = SemanticClass.TEXT_EDITED
        extra["similarity"], extra["word_diff"] = word_diff(old.raw, new.raw)
    else:
        semantic = SemanticClass.VALUE_CHANGED
    return make(ChangeKind.CHANGED, semantic, **extra)


def _same_value(a: Value, b: Value) -> bool:
    # bool is an int: True == 1 must not count as "the same value written differently".
    return type(a) is type(b) and a == b


def _refines(a: PartialDate, b: PartialDate) -> bool:
    """One date is a more precise reading of the other (``2020-09`` ⊃ ``2020-09-23``)."""
    if a.precision == b.precision:
        return False
    coarse, fine = (a, b) if a.earliest() <= b.earliest() and a.latest() >= b.latest() else (b, a)
    return coarse.earliest() <= fine.earliest() and fine.latest() <= coarse.latest()


def status_flag(old: str, new: str) -> str | None:
    """``into_unknown``, ``backwards`` (lower rank in :data:`STATUS_RANK`) or ``None``."""
    if new == UNKNOWN_STATUS and old != UNKNOWN_STATUS:
        return "into_unknown"
    if old in STATUS_RANK and new in STATUS_RANK and STATUS_RANK[new] < STATUS_RANK[old]:
        return "backwards"
    return None


#: Texts longer than this (in words) are matched with difflib's autojunk heuristic.
LONG_TEXT_WORDS = 5000


def word_diff(old: str, new: str) -> tuple[float, tuple[WordOp, ...]]:
    """Similarity ratio of the two texts' words and the word-level edit script.

    Words are whitespace-separated tokens; a replaced run becomes a delete then an insert.
    :class:`difflib.SequenceMatcher` is not symmetric, so the texts are always matched in one
    canonical order and the script mirrored when needed: ``diff(b, a)`` then reports the same
    similarity and the inverse edits of ``diff(a, b)``.
    """
    if old > new:
        ratio, ops = word_diff(new, old)
        return ratio, _invert(ops)
    a, b = old.split(), new.split()
    # Exact matching is quadratic: past LONG_TEXT_WORDS words difflib's "popular word" heuristic
    # keeps a hostile or huge value from stalling the diff (the script may then be coarser).
    exact = max(len(a), len(b)) <= LONG_TEXT_WORDS
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=not exact)
    out: list[WordOp] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("insert", " ".join(b[j1:j2])))
    return matcher.ratio(), tuple(out)


def _invert(ops: tuple[WordOp, ...]) -> tuple[WordOp, ...]:
    """The script from new back to old: deletes and inserts swap, each pair kept delete-first."""
    swapped = [({"delete": "insert", "insert": "delete"}.get(op, op), text) for op, text in ops]
    i = 0
    while i < len(swapped) - 1:
        if swapped[i][0] == "insert" and swapped[i + 1][0] == "delete":
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            i += 2
        else:
            i += 1
    return tuple(swapped)


def describe(change: Change) -> str:
    """One line saying what the change means, for people (every renderer uses it)."""
    s = SemanticClass
    old, new = change.old_raw, change.new_raw
    sem = change.semantic
    if sem is s.FIELD_ADDED:
        return f"added: {_short(new)}"
    if sem is s.FIELD_REMOVED:
        return f"removed (was {_short(old)})"
    if sem is s.ITEM_ADDED:
        return f"list item added: {_short(new)}"
    if sem is s.ITEM_REMOVED:
        return f"list item removed (was {_short(old)})"
    if sem is s.SECTION_MOVED:
        return f"moved from {change.old.section if change.old else '?'} to {change.section}"
    arrow = f"{_short(old)} → {_short(new)}"
    if sem is s.STATUS_TRANSITION:
        note = {"into_unknown": " (into UNKNOWN)", "backwards": " (backwards)"}.get(change.flag or "", "")
        return f"status {change.old_value} → {change.new_value}{note}"
    if sem is s.DATE_SHIFTED:
        days = change.days or 0
        when = "later" if days > 0 else "earlier"
        size = f"{abs(days)} day{'s' if abs(days) != 1 else ''} {when}" if days else "same day, other time"
        return f"date {arrow}: {size}"
    if sem is s.DATE_PRECISION_CHANGED:
        a, b = change.old_value, change.new_value
        if isinstance(a, PartialDate) and isinstance(b, PartialDate):
            return f"date {arrow}: precision {a.precision} → {b.precision}"
    if sem is s.DATE_SET:
        return f"date set: {arrow}"
    if sem is s.DATE_CLEARED:
        return f"date cleared: {arrow}"
    if sem is s.BOOLEAN_FLIPPED:
        return f"flipped {change.old_value} → {change.new_value}"
    if sem is s.MISSING_TO_VALUE:
        return f"value set: {arrow}"
    if sem is s.VALUE_TO_MISSING:
        return f"value cleared: {arrow}"
    if sem is s.MISSING_KIND_CHANGED:
        return f"{arrow} ({_missing_word(change.old_value)} → {_missing_word(change.new_value)})"
    if sem is s.TEXT_EDITED:
        return f"text edited, {round((change.similarity or 0) * 100)}% similar"
    if sem is s.WHITESPACE_ONLY:
        return "whitespace only"
    if sem is s.FORMAT_ONLY:
        return f"same value, written differently: {arrow}"
    if sem is s.NUMBER_CHANGED:
        a, b = change.old_value, change.new_value
        if isinstance(a, int) and isinstance(b, int):
            return f"{a} → {b} ({b - a:+d})"
    return arrow


_MISSING_WORDS = {"none": "not answered", "not_applicable": "not applicable", "empty": "left empty"}


def _missing_word(value: Value | None) -> str:
    if isinstance(value, Missing):
        return _MISSING_WORDS.get(value.kind, f"no value ({value.literal})")
    return "a value"


def _short(raw: str | None, limit: int = 80) -> str:
    if raw is None:
        return "(absent)"
    text = _squash(raw)
    if text == "":
        return '""'
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- matching ------------------------------------------------------------------------------

Identity = tuple[str, int, bool]  # key, occurrence, header


def identities(record: Record, *, header: bool = True) -> dict[Identity, Field]:
    """Every field of ``record`` by identity, in record order (header fields only if asked)."""
    counts: dict[tuple[str, bool], int] = {}
    out: dict[Identity, Field] = {}
    for f in record.fields:
        in_header = f.section == HEADER_SECTION
        if in_header and not header:
            continue
        n = counts.get((f.key, in_header), 0)
        counts[(f.key, in_header)] = n + 1
        out[(f.key, n, in_header)] = f
    return out


def has_header(record: Record) -> bool:
    return any(f.section == HEADER_SECTION for f in record.fields)


def is_path_key(key: str) -> bool:
    """An unregistered JSON/XML leaf, whose key spells its path in one format's scheme."""
    return ("." in key or "[" in key) and key not in registry().by_key


_LIST_ITEM = re.compile(r"([^\[]*)\[(\d+)\](.*)", re.DOTALL)


@functools.lru_cache(maxsize=1 << 16)
def _list_slot(key: str) -> tuple[str, int, str] | None:
    """``(list key, index, rest)`` of a path key inside a list (its outermost ``[n]``)."""
    if "[" not in key or not is_path_key(key):
        return None
    m = _LIST_ITEM.fullmatch(key)
    return None if m is None else (m.group(1), int(m.group(2)), m.group(3))


def _item_key(list_key: str, index: int, rest: str) -> str:
    return f"{list_key}[{index}]{rest}"


ListId = tuple[str, bool]  # list key, header


def _list_items(fields: dict[Identity, Field]) -> dict[ListId, dict[int, list[Identity]]]:
    """The identities of each list's items, by list and index, in record order."""
    out: dict[ListId, dict[int, list[Identity]]] = {}
    for ident in fields:
        slot = _list_slot(ident[0])
        if slot is not None:
            out.setdefault((slot[0], ident[2]), {}).setdefault(slot[1], []).append(ident)
    return out


def _signature(idents: list[Identity], fields: dict[Identity, Field]) -> Signature:
    """The item's ``(rest of key, occurrence, raw)`` triples, sorted: the order of fields
    inside an item is not part of it (applying a diff may place an added field elsewhere)."""
    return tuple(sorted((_rest(i[0]), i[1], fields[i].raw) for i in idents))


def _rest(key: str) -> str:
    slot = _list_slot(key)
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
class _Alignment:
    """How the list items of two records pair up (see "List items" in the module docstring)."""

    renamed: dict[Identity, Identity]  # old identity → new identity, paired items at a new index
    removed: set[Identity]  # old identities of fields of unpaired old items
    added: set[Identity]  # new identities of fields of unpaired new items
    moved: dict[tuple[ListId, int], int]  # (list, new index) → old index, paired items that moved

    def old_key(self, ident: Identity) -> str | None:
        """The key a field at new identity ``ident`` has (or would have) in the old record,
        when its list item moved."""
        slot = _list_slot(ident[0]) if self.moved else None
        if slot is None:
            return None
        i = self.moved.get(((slot[0], ident[2]), slot[1]))
        return None if i is None else _item_key(slot[0], i, slot[2])


def _align(left: dict[Identity, Field], right: dict[Identity, Field]) -> _Alignment:
    renamed: dict[Identity, Identity] = {}
    removed: set[Identity] = set()
    added: set[Identity] = set()
    moved: dict[tuple[ListId, int], int] = {}
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
        paired_old = {i for i, _ in pairs}
        paired_new = {j for _, j in pairs}
        for i in range(len(old_items)):
            if i not in paired_old:
                removed.update(old_items[i])
        for j in range(len(new_items)):
            if j not in paired_new:
                added.update(new_items[j])
        for i, j in pairs:
            if i != j:
                moved[(list_id, j)] = i
                for key, n, h in old_items[i]:
                    renamed[(key, n, h)] = (_item_key(list_id[0], j, _rest(key)), n, h)
    return _Alignment(renamed, removed, added, moved)


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


_KEY_LIKE = re.compile(r"[a-z0-9_.\[\]]+")


def normalise_ignore(patterns: Iterable[str]) -> tuple[str, ...]:
    """Keys or labels (``Version Holder``) or glob patterns of keys, as key patterns."""
    out: list[str] = []
    for raw in patterns:
        text = raw.strip()
        if not text:
            continue
        if any(ch in text for ch in "*?") or _KEY_LIKE.fullmatch(text):
            out.append(text)
        else:
            out.append(label_key(text))
    return tuple(dict.fromkeys(out))


def _ignored(key: str, patterns: Sequence[str]) -> bool:
    """``*`` and ``?`` are the only wildcards: ``[0]`` in a path key is literal."""
    return any(
        fnmatch.fnmatchcase(key, p.replace("[", "\0").replace("]", "[]]").replace("\0", "[[]"))
        if "*" in p or "?" in p
        else key == p
        for p in patterns
    )


# --- the diff ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffResult:
    """The whole answer of ``audit diff``: study changes, snapshot metadata, notes.

    ``before``/``after`` are the records in the order shown (see ``swapped``).
    """

    before: Record
    after: Record
    changes: tuple[Change, ...]
    metadata: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    swapped: bool = False
    ignored: tuple[str, ...] = ()

    @property
    def nct_id(self) -> str:
        return self.after.nct_id

    @property
    def flagged(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.flagged)

    def by_class(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[str(c.semantic)] = counts.get(str(c.semantic), 0) + 1
        return dict(sorted(counts.items()))

    def items(self) -> dict[str, int]:
        """How many whole list items were added and removed (a location, a condition …)."""
        added = {(c.list_item, c.header) for c in self.changes if c.semantic is SemanticClass.ITEM_ADDED}
        removed = {(c.list_item, c.header) for c in self.changes if c.semantic is SemanticClass.ITEM_REMOVED}
        return {"added": len(added), "removed": len(removed)}

    def to_dict(self) -> dict[str, Any]:
        """Schema 1 of ``audit diff --format json`` (documented in :mod:`auditor.reports.diff_render`)."""
        return {
            "schema": SCHEMA_VERSION,
            "nct_id": self.nct_id,
            "before": _snapshot_json(self.before),
            "after": _snapshot_json(self.after),
            "swapped": self.swapped,
            "ignored": list(self.ignored),
            "notes": list(self.notes),
            "summary": {
                "changes": len(self.changes),
                "flagged": len(self.flagged),
                "cosmetic": sum(1 for c in self.changes if c.cosmetic),
                "metadata": len(self.metadata),
                "by_class": self.by_class(),
                "items": self.items(),
            },
            "changes": [c.to_dict() for c in self.changes],
            "metadata": [c.to_dict() for c in self.metadata],
        }


#: Version of the JSON shape of :meth:`DiffResult.to_dict`; bumped on any incompatible change.
SCHEMA_VERSION = 1


def _snapshot_json(record: Record) -> dict[str, Any]:
    return {
        "nct_id": record.nct_id,
        "path": record.source.path,
        "format": str(record.source.format),
        "sha256": record.source.sha256,
        "ignite_modified": None if record.ignite_modified is None else record.ignite_modified.isoformat(),
    }


def diff(old: Record, new: Record, *, ignore: Iterable[str] = (), force: bool = False) -> list[Change]:
    """The study changes from ``old`` to ``new``, in the arguments' order.

    Raises :class:`~auditor.errors.UsageError` when the records are of different studies,
    unless ``force``.
    """
    return list(compare(old, new, ignore=ignore, force=force, by_snapshot_date=False).changes)


def compare(
    a: Record,
    b: Record,
    *,
    ignore: Iterable[str] = (),
    force: bool = False,
    by_snapshot_date: bool = True,
) -> DiffResult:
    """Diff two snapshots of one study, with metadata and notes (see the module docstring)."""
    notes: list[str] = []
    if a.nct_id != b.nct_id:
        if not force:
            raise UsageError(
                f"not the same study: {a.nct_id} ({a.source.path}) vs {b.nct_id} ({b.source.path}); "
                "use --force to diff anyway"
            )
        notes.append(f"different studies compared (--force): {a.nct_id} vs {b.nct_id}")
    swapped = False
    when = snapshot_dates(a, b) if by_snapshot_date else None
    if when is not None and when[1] > when[2]:
        a, b = b, a
        swapped = True
        notes.append(
            f"arguments swapped: {a.source.path} is the older snapshot "
            f"({when[0]} {_date_text(when[2])} vs {_date_text(when[1])}) and is shown as before"
        )
    patterns = normalise_ignore(ignore)

    both_headers = has_header(a) and has_header(b)
    left, right = identities(a, header=both_headers), identities(b, header=both_headers)
    for name, rec in (("before", a), ("after", b)):
        if not both_headers and has_header(rec):
            n = sum(1 for f in rec.fields if f.section == HEADER_SECTION)
            notes.append(
                f"summary header of the {name} snapshot not compared ({n} fields): the other has none"
            )

    if not same_family(a, b):
        one_sided = [i for i in left.keys() ^ right.keys() if is_path_key(i[0])]
        for ident in one_sided:
            left.pop(ident, None)
            right.pop(ident, None)
        if one_sided:
            notes.append(
                f"{len(one_sided)} path fields present on one side only were not comparable "
                f"({a.source.format} vs {b.source.format} name unregistered leaves differently)"
            )
    cut = [name for name, rec in (("before", a), ("after", b)) if rec.truncated]
    if cut:
        which = "both snapshots are" if len(cut) == 2 else f"the {cut[0]} snapshot is"
        notes.append(f"{which} cut off: fields missing at the end may not be real removals")

    align = _align(left, right) if same_family(a, b) else _Alignment({}, set(), set(), {})
    paired_left = {align.renamed.get(i, i): f for i, f in left.items() if i not in align.removed}
    paired_right = {i: f for i, f in right.items() if i not in align.added}
    positions = _positions(
        [("-", i) if i in align.removed else align.renamed.get(i, i) for i in left], list(right)
    )
    found: list[tuple[float, Change]] = []
    for ident in _changed_identities(paired_left, paired_right):
        key, occurrence, in_header = ident
        change = classify(
            key,
            occurrence,
            paired_left.get(ident),
            paired_right.get(ident),
            header=in_header,
            old_key=align.old_key(ident),
        )
        found.append((positions[ident], change))
    for ident in align.removed:
        change = classify(*ident[:2], left[ident], None, header=ident[2], item=True)
        found.append((positions[("-", ident)], change))
    for ident in align.added:
        change = classify(*ident[:2], None, right[ident], header=ident[2], item=True)
        found.append((positions[ident], change))
    found.sort(key=lambda pc: pc[0])
    study = [c for _, c in found if not _ignored(c.key, patterns)]
    meta = [c for _, c in found if _ignored(c.key, patterns)]
    stamps = [c for c in (_stamp_change(a, b, k) for k in IGNITE_STAMPS) if c is not None]
    return DiffResult(
        before=a,
        after=b,
        changes=tuple(study),
        metadata=(*stamps, *meta),
        notes=tuple(notes),
        swapped=swapped,
        ignored=patterns,
    )


_PROCESSED_ON = re.compile(r"processed this data on (.+)$")


def capture_date(record: Record) -> tuple[str, datetime | date] | None:
    """When this copy of the record was made: the Ignite modification time, else the API's
    ``version_holder`` (JSON), else the legacy XML's "processed this data on …" date."""
    if record.ignite_modified is not None:
        return "Ignite modified", record.ignite_modified
    holder = record.value("version_holder")
    if isinstance(holder, PartialDate):
        return "version holder", holder.earliest()
    download = record.get("download_date")
    if download is not None and (m := _PROCESSED_ON.search(download.raw.strip())):
        parsed = parse_date(m.group(1))
        if parsed is not None:
            return "download date", parsed.earliest()
    return None


def snapshot_dates(a: Record, b: Record) -> tuple[str, datetime | date, datetime | date] | None:
    """``(what, date of a, date of b)`` telling which snapshot is older, or ``None``.

    Capture dates (:func:`capture_date`) first — two Ignite times compare to the minute,
    mixed kinds by their day; then the sponsor's ``last_update_submit_date``.
    """
    x, y = capture_date(a), capture_date(b)
    if x is not None and y is not None:
        if isinstance(x[1], datetime) and isinstance(y[1], datetime):
            return x[0], x[1], y[1]
        what = x[0] if x[0] == y[0] else f"{x[0]} / {y[0]}"
        return what, _day(x[1]), _day(y[1])
    u, v = a.value("last_update_submit_date"), b.value("last_update_submit_date")
    if isinstance(u, PartialDate) and isinstance(v, PartialDate):
        return "last update submitted", u.earliest(), v.earliest()
    return None


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _date_text(value: datetime | date) -> str:
    return format_timestamp(value) if isinstance(value, datetime) else value.isoformat()


def _changed_identities(left: dict[Identity, Field], right: dict[Identity, Field]) -> list[Identity]:
    """Identities whose raw text differs, appeared or vanished, or whose section moved.

    Fields equal on both sides (nearly all of them, night to night) are set aside by a plain
    dict comparison first: DeepDiff builds a tree node for every key it visits, which costs
    ~100× a string comparison, and would spend most of a diff confirming that nothing changed.
    DeepDiff then reports what is left as ``values_changed`` / ``dictionary_item_added`` /
    ``dictionary_item_removed``, the vocabulary :class:`ChangeKind` keeps.
    """
    from deepdiff import DeepDiff

    left_raw = {i: f.raw for i, f in left.items()}
    right_raw = {i: f.raw for i, f in right.items()}
    found: set[Identity] = set()
    rest_left = {_identity_text(*i): i for i, raw in left_raw.items() if right_raw.get(i) != raw}
    rest_right = {_identity_text(*i): i for i, raw in right_raw.items() if left_raw.get(i) != raw}
    if rest_left or rest_right:
        # threshold_to_diff_deeper=0: never report the whole dict as one value when many keys differ.
        tree = DeepDiff(
            {t: left_raw[i] for t, i in rest_left.items()},
            {t: right_raw[i] for t, i in rest_right.items()},
            view="tree",
            threshold_to_diff_deeper=0,
        )
        for report in ("values_changed", "dictionary_item_added", "dictionary_item_removed"):
            for level in tree.get(report, ()):
                name = level.path(output_format="list")[0]
                found.add(rest_left.get(name) or rest_right[name])
    for ident, f in left.items():
        other = right.get(ident)
        if other is not None and other.section != f.section:
            found.add(ident)
    return list(found)


def _positions(left: Sequence[Hashable], right: Sequence[Hashable]) -> dict[Hashable, float]:
    """Sort position of each identity: its index in the new record; a removed field sits just
    after the nearest field before it (in the old record) that the new record still has."""
    pos: dict[Hashable, float] = {ident: float(i) for i, ident in enumerate(right)}
    anchor = -1.0
    step = 0
    for ident in left:
        if ident in pos:
            anchor, step = pos[ident], 0
        else:
            step += 1
            pos[ident] = anchor + step / 10_000
    return pos


def _stamp_change(a: Record, b: Record, attr: str) -> Change | None:
    old, new = getattr(a, attr), getattr(b, attr)
    if old == new:
        return None
    return classify(attr, 0, _stamp_field(attr, old), _stamp_field(attr, new))


def _stamp_field(attr: str, value: datetime | None) -> Field | None:
    if value is None:
        return None
    return Field(
        SNAPSHOT_SECTION, IGNITE_STAMPS[attr], attr, format_timestamp(value), ValueType.TIMESTAMP, value
    )


# --- applying ------------------------------------------------------------------------------


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
        if change.key in IGNITE_STAMPS and _present(change.new, change.old).section == SNAPSHOT_SECTION:
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
    """Old index → new index of the surviving items of each list that gained or lost items."""
    gone: dict[ListId, set[int]] = {}
    came: dict[ListId, set[int]] = {}
    for c in changes:
        item = c.list_item if c.item else None
        if item is not None:
            side = came if c.kind is ChangeKind.ADDED else gone
            side.setdefault((item[0], c.header), set()).add(item[1])
    out: dict[ListId, dict[int, int]] = {}
    for list_id in gone.keys() | came.keys():
        present = {
            slot[1]
            for f in fields
            if (slot := _list_slot(f.key)) is not None and (slot[0], f.section == HEADER_SECTION) == list_id
        }
        survivors = sorted(present - gone.get(list_id, set()))
        free = came.get(list_id, set())
        targets = [j for j in range(len(survivors) + len(free)) if j not in free]
        out[list_id] = dict(zip(survivors, targets, strict=True))
    return out


_FIRST_INDEX = re.compile(r"\[\d+\]")


def _renumbered(f: Field, renumber: dict[ListId, dict[int, int]]) -> Field | None:
    """``f`` under its list item's new index (key and label), or ``None`` if it stays."""
    slot = _list_slot(f.key) if renumber else None
    if slot is None:
        return None
    j = renumber.get((slot[0], f.section == HEADER_SECTION), {}).get(slot[1], slot[1])
    if j == slot[1]:
        return None
    label = _FIRST_INDEX.sub(f"[{j}]", f.label, count=1)
    return replace(f, key=_item_key(slot[0], j, slot[2]), label=label)


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


__all__ = [
    "Change",
    "ChangeKind",
    "DiffResult",
    "SemanticClass",
    "apply_changes",
    "classify",
    "compare",
    "describe",
    "diff",
    "identities",
    "word_diff",
]
