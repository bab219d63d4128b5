"""Two versions of one field → a :class:`~auditor.diff.model.Change` with its meaning.

Status order (for "backwards" transitions of ``overall_status`` and ``last_known_status``)::

    NOT_YET_RECRUITING < RECRUITING = ENROLLING_BY_INVITATION < ACTIVE_NOT_RECRUITING
        < COMPLETED = TERMINATED = WITHDRAWN

A move to a lower rank is flagged ``backwards``, except a re-opening (into ``RECRUITING`` or
``ENROLLING_BY_INVITATION`` from ``ACTIVE_NOT_RECRUITING`` or ``SUSPENDED``: news, not an
alarm); any move into ``UNKNOWN`` is flagged ``into_unknown``. ``SUSPENDED``, ``WITHHELD`` and
the expanded-access statuses have no rank (a suspension may end either way), so other moves
to or from them are never "backwards".

Dates
    A change between two dates of different precision where the finer one lies inside the
    coarser one (``2020-09`` → ``2020-09-23``) is ``date_precision_changed``; any other date
    change is ``date_shifted`` with ``days`` = difference of the earliest days each can mean
    (positive = later).

Cosmetic changes
    ``whitespace_only`` (the same words, spaced differently) and ``format_only`` (the same
    typed value spelled differently: ``Yes``/``True``, ``Active, not recruiting``/
    ``ACTIVE_NOT_RECRUITING``, ``September 2020``/``2020-09``) are marked
    :attr:`Change.cosmetic`. ``None``, ``N/A`` and an empty value are never the same value
    (``missing_kind_changed``).
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Any

from auditor.diff.grades import grade_of
from auditor.diff.model import Change, ChangeKind, SemanticClass, WordOp, present, squash
from auditor.diff.modules import module_of
from auditor.records import Field
from auditor.values import Missing, PartialDate, Value, ValueType

_HTTP = re.compile(r"\bhttps?://", re.IGNORECASE)

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
RECRUITING_STATUSES = frozenset({"RECRUITING", "ENROLLING_BY_INVITATION"})
REOPENED_FROM = frozenset({"ACTIVE_NOT_RECRUITING", "SUSPENDED"})


def classify(
    key: str,
    occurrence: int,
    old: Field | None,
    new: Field | None,
    *,
    header: bool = False,
    old_key: str | None = None,
    item: bool = False,
    item_moved: bool = False,
) -> Change:
    """Build the :class:`Change` between two versions of one field (either may be absent).

    ``item``: the field belongs to a list item that was added or removed as a whole;
    ``item_moved``: to a list item that moved out of order (:mod:`auditor.diff.align`).
    """
    if old is None and new is None:
        raise ValueError("nothing to classify")

    module = module_of(key, present(new, old).section)

    def make(kind: ChangeKind, semantic: SemanticClass, **extra: Any) -> Change:
        grade = grade_of(key, module, semantic)
        return Change(
            key,
            occurrence,
            kind,
            semantic,
            old,
            new,
            header,
            old_key=old_key,
            module=module,
            grade=grade,
            item_moved=item_moved,
            **extra,
        )

    if old is None:
        return make(ChangeKind.ADDED, SemanticClass.ITEM_ADDED if item else SemanticClass.FIELD_ADDED)
    if new is None:
        return make(ChangeKind.REMOVED, SemanticClass.ITEM_REMOVED if item else SemanticClass.FIELD_REMOVED)
    if old.raw == new.raw and item_moved:
        return make(ChangeKind.ITEM_MOVED, SemanticClass.ITEM_MOVED)
    if old.raw == new.raw:
        return make(ChangeKind.MOVED, SemanticClass.SECTION_MOVED)
    semantic, extra = _edit_class(key, old, new)
    return make(ChangeKind.CHANGED, semantic, **extra)


def _edit_class(key: str, old: Field, new: Field) -> tuple[SemanticClass, dict[str, Any]]:
    """What an edit of a field means, and its details (days, flag, similarity, word diff)."""
    a, b = old.value, new.value
    s = SemanticClass
    if squash(old.raw) == squash(new.raw):
        return s.WHITESPACE_ONLY, {}
    if _HTTP.sub("https://", old.raw) == _HTTP.sub("https://", new.raw):
        return s.URL_SCHEME_ONLY, {}
    if isinstance(a, Missing) and isinstance(b, Missing):
        return s.MISSING_KIND_CHANGED, {}
    if isinstance(a, Missing):
        return (s.DATE_SET if isinstance(b, PartialDate) else s.MISSING_TO_VALUE), {}
    if isinstance(b, Missing):
        return (s.DATE_CLEARED if isinstance(a, PartialDate) else s.VALUE_TO_MISSING), {}
    if _same_value(a, b):
        return s.FORMAT_ONLY, {}
    if isinstance(a, PartialDate) and isinstance(b, PartialDate):
        days = (b.earliest() - a.earliest()).days
        return (s.DATE_PRECISION_CHANGED if _refines(a, b) else s.DATE_SHIFTED), {"days": days}
    if isinstance(a, datetime) and isinstance(b, datetime):
        return s.DATE_SHIFTED, {"days": (b.date() - a.date()).days}
    if isinstance(a, bool) and isinstance(b, bool):
        return s.BOOLEAN_FLIPPED, {}
    if key in STATUS_KEYS and isinstance(a, str) and isinstance(b, str):
        return s.STATUS_TRANSITION, {"flag": status_flag(a, b)}
    if old.type is ValueType.ENUM and new.type is ValueType.ENUM:
        return s.ENUM_CHANGED, {}
    if type(a) is int and type(b) is int:
        return s.NUMBER_CHANGED, {}
    if isinstance(a, str) and isinstance(b, str):
        similarity, ops = word_diff(old.raw, new.raw)
        return s.TEXT_EDITED, {"similarity": similarity, "word_diff": ops}
    return s.VALUE_CHANGED, {}


def _same_value(a: Value, b: Value) -> bool:
    # bool is an int: True == 1 must not count as "the same value written differently".
    return type(a) is type(b) and a == b


def _refines(a: PartialDate, b: PartialDate) -> bool:
    """One date is a more precise reading of the other (``2020-09`` ⊃ ``2020-09-23``)."""
    if a.precision == b.precision:
        return False
    coarse, fine = (a, b) if a.earliest() <= b.earliest() and a.latest() >= b.latest() else (b, a)
    return coarse.earliest() <= fine.earliest() and fine.latest() <= coarse.latest()


def reopens(old: str | None, new: str | None) -> bool:
    """Recruitment re-opened: into recruiting from active-not-recruiting or suspended. A sponsor
    does this (a new cohort, a lifted hold); it is news, not an alarm."""
    return new in RECRUITING_STATUSES and old in REOPENED_FROM


def status_flag(old: str, new: str) -> str | None:
    """``into_unknown``, ``backwards`` (lower rank in :data:`STATUS_RANK`, a re-opening apart)
    or ``None``."""
    if new == UNKNOWN_STATUS and old != UNKNOWN_STATUS:
        return "into_unknown"
    if reopens(old, new):
        return None
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


def mirrored(change: Change) -> Change:
    """The change as ``diff(new, old)`` reports it (flags are recomputed, not swapped)."""
    key, old_key = (change.old_key, change.key) if change.old_key is not None else (change.key, None)
    return classify(
        key,
        change.occurrence,
        change.new,
        change.old,
        header=change.header,
        old_key=old_key,
        item=change.item,
        item_moved=change.item_moved,
    )
