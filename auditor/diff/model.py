"""The vocabulary of a diff: :class:`Change`, :class:`ChangeKind`, :class:`SemanticClass`,
:class:`DiffResult`, and :func:`describe` (the one line people read for a change).

``Change.kind`` keeps deepdiff's words (``values_changed``, ``dictionary_item_added``,
``dictionary_item_removed``) beside our ``moved_section``; ``Change.semantic`` says what the
change means, decided from the typed values (see :mod:`auditor.diff.classify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.diff.dates import date_gap
from auditor.diff.grades import Grade
from auditor.diff.keys import identity_text, list_slot
from auditor.records import Field
from auditor.values import Missing, PartialDate, Value

#: Section name given to the Ignite timestamps when they are reported as metadata.
SNAPSHOT_SECTION = "Snapshot"
#: Keys of the pseudo-fields that carry the Ignite timestamps in :attr:`DiffResult.metadata`.
IGNITE_STAMPS = {"ignite_created": "Ignite Creation Date", "ignite_modified": "Ignite Modification Date"}


class ChangeKind(StrEnum):
    """What happened to the field itself (deepdiff's words, plus ``moved_section``)."""

    CHANGED = "values_changed"
    ADDED = "dictionary_item_added"
    REMOVED = "dictionary_item_removed"
    MOVED = "moved_section"
    ITEM_MOVED = "iterable_item_moved"

    @property
    def verb(self) -> str:
        return {
            "values_changed": "changed",
            "dictionary_item_added": "added",
            "dictionary_item_removed": "removed",
            "moved_section": "moved",
            "iterable_item_moved": "moved",
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
    URL_SCHEME_ONLY = "url_scheme_only"  # the same address, http:// ↔ https://
    ENUM_CHANGED = "enum_changed"
    NUMBER_CHANGED = "number_changed"
    VALUE_CHANGED = "value_changed"  # the type itself changed (e.g. a bad date became good)
    FIELD_ADDED = "field_added"
    FIELD_REMOVED = "field_removed"
    ITEM_ADDED = "item_added"  # a field of a list item with no partner in the old record
    ITEM_REMOVED = "item_removed"  # a field of a list item with no partner in the new record
    SECTION_MOVED = "section_moved"
    ITEM_MOVED = "item_moved"  # a field of a list item that moved to another place, unchanged

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

_COSMETIC = frozenset(
    {SemanticClass.WHITESPACE_ONLY, SemanticClass.FORMAT_ONLY, SemanticClass.URL_SCHEME_ONLY}
)

#: Word-diff operations: equal, delete (only in old), insert (only in new).
WordOp = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    """One changed field. ``old`` / ``new`` are the fields as read (``None`` when absent).

    ``flag`` is ``"backwards"`` or ``"into_unknown"`` for status transitions worth a look;
    ``days`` is the shift of a date (positive = later); ``similarity`` (0–1) and ``word_diff``
    describe text edits. ``key`` is where the field is now (where it was, for a removed one);
    ``old_key`` is its key in the old record when its list item moved to another index;
    ``item_moved`` says the item moved out of order (paired by content or name, not by the
    in-order alignment), so every field of it is a change, unchanged ones ``item_moved``.
    ``module`` is the ClinicalTrials.gov History-of-Changes module (:mod:`auditor.diff.modules`)
    and ``grade`` how much the change matters (:mod:`auditor.diff.grades`).
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
    module: str = "Other"
    grade: Grade = Grade.MINOR
    item_moved: bool = False

    @property
    def item(self) -> bool:
        """A field of a whole list item added or removed (see the module docstring)."""
        return self.semantic in (SemanticClass.ITEM_ADDED, SemanticClass.ITEM_REMOVED)

    @property
    def list_item(self) -> tuple[str, int] | None:
        """``(list key, index)`` of the list item the field belongs to, if any."""
        slot = list_slot(self.key)
        return None if slot is None else (slot.list_key, slot.item)

    @property
    def identity(self) -> str:
        return identity_text(self.key, self.occurrence, self.header)

    @property
    def section(self) -> str:
        """Where the field is now (where it was, for a removed field)."""
        return present(self.new, self.old).section

    @property
    def moved_from(self) -> str | None:
        if self.old is not None and self.new is not None and self.old.section != self.new.section:
            return self.old.section
        return None

    @property
    def label(self) -> str:
        return present(self.new, self.old).label

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
        return self.semantic in _COSMETIC

    @property
    def summary(self) -> str:
        return describe(self)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (see :mod:`auditor.reports.diff_render`)."""
        return {
            "key": self.key,
            "old_key": self.old_key,
            "item_moved": self.item_moved,
            "occurrence": self.occurrence,
            "header": self.header,
            "section": self.section,
            "moved_from": self.moved_from,
            "label": self.label,
            "kind": str(self.kind),
            "class": str(self.semantic),
            "module": self.module,
            "grade": str(self.grade),
            "flag": self.flag,
            "summary": self.summary,
            "old": _field_json(self.old),
            "new": _field_json(self.new),
            "days": self.days,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "word_diff": [list(op) for op in self.word_diff] if self.word_diff else None,
        }


def present(*fields: Field | None) -> Field:
    """The first field given that is there (a change has an old or a new field, or both)."""
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


def squash(text: str) -> str:
    """The words of ``text`` joined by single spaces."""
    return " ".join(text.split())


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
    if sem is s.ITEM_MOVED:
        return f"list item moved (was {change.old_key}), unchanged"
    if sem is s.SECTION_MOVED:
        return f"moved from {change.old.section if change.old else '?'} to {change.section}"
    arrow = f"{_short(old)} → {_short(new)}"
    if sem is s.STATUS_TRANSITION:
        note = {"into_unknown": " (into UNKNOWN)", "backwards": " (backwards)"}.get(change.flag or "", "")
        return f"status {change.old_value} → {change.new_value}{note}"
    a, b = change.old_value, change.new_value
    if sem is s.DATE_SHIFTED and isinstance(a, PartialDate) and isinstance(b, PartialDate):
        return f"date {arrow}: {date_gap(a, b)}"
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
    if sem is s.URL_SCHEME_ONLY:
        return f"same address, other scheme: {arrow}"
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
    text = squash(raw)
    if text == "":
        return '""'
    return text if len(text) <= limit else text[: limit - 1] + "…"
