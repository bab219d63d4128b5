"""The rule vocabulary: each operator is a vectorized function ``(frame, args) -> boolean Series``.

A condition says when a record (or a pair of snapshots) *has the problem*; ``True`` rows become
findings. Every operator is ``False`` where it cannot be sure — a missing value, a date too
imprecise to decide, a list the snapshot does not show — so a finding is never made from a
guess:

* dates keep their precision: ``older_than`` compares the *latest* day a partial date can mean,
  ``newer_than`` / ``after`` the *earliest*, so ``2020-09`` is at most as old as 2020-09-30;
* comparisons with an absent or explicitly empty value are ``False`` (use ``missing``).

:data:`OPERATORS` lists them all as :class:`Operator` entries — the function and its
:class:`Signature` side by side, as pandera's ``builtin_checks`` keeps a check's metadata beside
it. The rule-file validator (:mod:`auditor.rules.conditions`) checks arguments against the
signature, the compiler binds parameters and ``as_of``. Adding an operator is one function and
one entry. Operators over lists are in :mod:`.list_ops`, over two snapshots and whole
histories in :mod:`.pair_ops`; how a cell is read (presence, a date's days, periods) in
:mod:`.cells`.

Field names are table columns (:mod:`auditor.table`); in pair rules ``old.<key>`` names the
older snapshot's value and a bare key the newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from auditor.rules import list_ops, pair_ops
from auditor.rules.cells import (
    Period,
    as_of_timestamp,
    clean,
    compared,
    earliest,
    latest,
    period_of,
    present,
    text_as_written,
)
from auditor.rules.kinds import (
    BOOL,
    COMPARISONS,
    CONDITION,
    CONDITIONS,
    DIRECTION,
    FIELD,
    INT,
    ITEM_CONDITION,
    LIST,
    ORDER,
    OTHER,
    PATTERN,
    PERIOD,
    SUBFIELD,
    SUBFIELDS,
    THAN,
    VALUE,
    VALUES,
)
from auditor.rules.patterns import full_match

if TYPE_CHECKING:
    import pandas as pd

OperatorFn = Callable[["pd.DataFrame", dict[str, Any]], "pd.Series"]

#: Where a condition can stand: a record rule, a pair rule, a history rule (pair rules over a
#: record's whole history), or inside ``where:`` (one item of a list).
RECORD, PAIR, HISTORY, ITEM = "record", "pair", "history", "item"
EVERYWHERE = frozenset({RECORD, PAIR, HISTORY, ITEM})
ROWS = frozenset({RECORD, PAIR, HISTORY})
TWO_SNAPSHOTS = frozenset({PAIR, HISTORY})


@dataclass(frozen=True, slots=True)
class Signature:
    """What an operator takes. ``shorthand`` is the argument a bare scalar fills
    (``missing: why_stopped``); ``one_of`` lists argument groups of which exactly one is given;
    ``needs`` the arguments another one needs (``list`` needs ``where``); ``scopes`` where the
    operator may stand; ``kinds`` the field kinds ``field`` may have."""

    summary: str
    required: dict[str, str]
    optional: dict[str, str]
    shorthand: str | None = None
    scopes: frozenset[str] = ROWS
    one_of: tuple[tuple[str, ...], ...] = ()
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kinds: frozenset[str] | None = None

    @property
    def arguments(self) -> dict[str, str]:
        return {**self.required, **self.optional}

    @property
    def compares_snapshots(self) -> bool:
        """Reads the older snapshot's value of ``field`` / ``list`` too."""
        return RECORD not in self.scopes and ITEM not in self.scopes


class Operator(NamedTuple):
    """One entry of the vocabulary: the mask function and what it takes."""

    fn: OperatorFn
    signature: Signature


# ---------------------------------------------------------------- single-record operators


def op_missing(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return ~present(frame, args["field"])


def op_present(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return present(frame, args["field"])


def op_invalid(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    name = args["field"]
    raw = frame.get(f"{name}__raw")
    if raw is None:
        return clean(frame[name].isna() & False)
    return clean(raw.notna() & frame[name].isna() & frame[f"{name}__missing"].isna())


def _compare(frame: pd.DataFrame, args: dict[str, Any], how: str) -> pd.Series:
    """``field`` against a value or another field. Dates are compared by the days they can
    mean: ``lt`` is certain when the field's last day precedes the other's first."""
    name = args["field"]
    is_date = args["kind"] == "date"
    if "other" in args:
        other = args["other"]
        lo, hi = earliest(frame, other), latest(frame, other)
    else:
        lo = hi = args["value"]
        if is_date:
            hi = args["value_latest"]
    mine_lo, mine_hi = earliest(frame, name), latest(frame, name)
    if how == "eq":
        result = (mine_lo == lo) & (mine_hi == hi) if is_date else mine_lo == lo
    elif how == "ne":
        result = ~((mine_lo == lo) & (mine_hi == hi)) if is_date else mine_lo != lo
        result = result & present(frame, name)
        if "other" in args:
            result = result & present(frame, args["other"])
    elif how == "lt":
        result = mine_hi < lo
    elif how == "le":
        result = mine_hi <= hi
    elif how == "gt":
        result = mine_lo > hi
    else:
        result = mine_lo >= lo
    return clean(result)


def comparison(how: str) -> OperatorFn:
    """The operator ``how`` (``eq`` … ``ge``, as in :mod:`operator`): one comparison, six names."""

    def compare(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
        return _compare(frame, args, how)

    compare.__name__ = compare.__qualname__ = f"op_{how}"
    return compare


def op_isin(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return clean(frame[args["field"]].isin(args["values"]))


def op_matches(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """Full match of a regular expression against the text as written (``__raw`` for typed fields)."""
    return full_match(
        text_as_written(frame, args["field"]), args["pattern"], ignore_case=bool(args.get("ignore_case"))
    )


def op_length(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The number of characters of the text as written, compared (``gt: 250``)."""
    return compared(text_as_written(frame, args["field"]).str.len(), args)


def op_older_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The *latest* day the date can mean is more than the period before ``as_of``."""
    return clean(latest(frame, args["field"]) < as_of_timestamp(args) - period_of(args).offset())


def op_newer_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The *earliest* day the date can mean is less than the period before ``as_of``
    (``days: 0``: after ``as_of``, i.e. in the future)."""
    return clean(earliest(frame, args["field"]) > as_of_timestamp(args) - period_of(args).offset())


def op_before(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """``field`` is certainly before ``other``: its latest day precedes other's earliest."""
    return clean(latest(frame, args["field"]) < earliest(frame, args["other"]))


def op_after(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """``field`` is certainly after ``other``: its earliest day follows other's latest."""
    return clean(earliest(frame, args["field"]) > latest(frame, args["other"]))


def _than(frame: pd.DataFrame, args: dict[str, Any], which: str) -> Any:
    """The earliest or latest day of ``than``: a field, ``as_of`` or a date written in the rule."""
    kind, *rest = args["than"]
    if kind == "as_of":
        return as_of_timestamp(args)
    if kind == "field":
        return earliest(frame, rest[0]) if which == "earliest" else latest(frame, rest[0])
    return rest[0] if which == "earliest" else rest[1]


def _by(args: dict[str, Any]) -> Any:
    by: Period = args.get("by", Period())
    return by.offset()


def op_later_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """``field`` is certainly later than ``than`` plus ``by``: its earliest day follows the
    other's latest day plus the period."""
    return clean(earliest(frame, args["field"]) > _than(frame, args, "latest") + _by(args))


def op_earlier_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """``field`` plus ``by`` is certainly earlier than ``than``: its latest day plus the period
    precedes the other's earliest day (``than: as_of, by: 1y``: more than a year ago)."""
    return clean(latest(frame, args["field"]) + _by(args) < _than(frame, args, "earliest"))


def op_all(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    if "list" in args:
        return list_ops.every_item(frame, args)
    import pandas as pd

    result = pd.Series(True, index=frame.index)
    for condition in args["conditions"]:
        result &= condition(frame)
    return result


def op_any(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    if "list" in args:
        return list_ops.some_item(frame, args)
    import pandas as pd

    result = pd.Series(False, index=frame.index)
    for condition in args["conditions"]:
        result |= condition(frame)
    return result


def op_not(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    result: pd.Series = ~args["condition"](frame)
    return result


# ---------------------------------------------------------------- the vocabulary

_PERIOD_ARGS = {"years": INT, "months": INT, "days": INT}
_DATES = frozenset({"date", "timestamp"})
_ORDERED = frozenset({"date", "timestamp", "integer"})
_COUNTS = {name: INT for name in COMPARISONS}
_COUNT_GROUP = (COMPARISONS,)
_ITEMS = EVERYWHERE - {ITEM}


def _compared(how: str, summary: str, kinds: frozenset[str] | None = None) -> Operator:
    """``eq`` … ``ge``: the field against a value or another field (``kinds``: the field kinds
    that have an order, for ``lt`` … ``ge``; any kind for ``eq``/``ne``)."""
    extra: dict[str, Any] = {} if kinds is None else {"kinds": kinds}
    signature = Signature(
        summary,
        {"field": FIELD},
        {"value": VALUE, "other": OTHER},
        one_of=(("value", "other"),),
        scopes=EVERYWHERE,
        **extra,
    )
    return Operator(comparison(how), signature)


def _logic(summary: str) -> Signature:
    return Signature(
        summary,
        {},
        {"conditions": CONDITIONS, "list": LIST, "where": ITEM_CONDITION},
        "conditions",
        scopes=EVERYWHERE,
        one_of=(("conditions", "list"),),
        needs={"list": ("where",), "where": ("list",)},
    )


def _pair(
    summary: str, required: dict[str, str], optional: dict[str, str] | None = None, **kw: Any
) -> Signature:
    return Signature(summary, required, optional or {}, scopes=TWO_SNAPSHOTS, **kw)


def _dated(summary: str, required: dict[str, str], optional: dict[str, str] | None = None) -> Signature:
    """An operator over dates, in every scope a record rule has."""
    return Signature(summary, required, optional or {}, kinds=_DATES)


OPERATORS: dict[str, Operator] = {
    "missing": Operator(
        op_missing,
        Signature("the field is absent or explicitly empty", {"field": FIELD}, {}, "field", EVERYWHERE),
    ),
    "present": Operator(
        op_present, Signature("the field has a value", {"field": FIELD}, {}, "field", EVERYWHERE)
    ),
    "invalid": Operator(
        op_invalid,
        Signature(
            "the field has a value that does not fit its type (e.g. a bad date)",
            {"field": FIELD},
            {},
            "field",
        ),
    ),
    "eq": _compared("eq", "field equals the value / other field"),
    "ne": _compared("ne", "field differs from the value / other field (both present)"),
    "lt": _compared("lt", "field is certainly less than / before the value or other field", _ORDERED),
    "le": _compared("le", "field is certainly at most the value or other field", _ORDERED),
    "gt": _compared("gt", "field is certainly greater than / after the value or other field", _ORDERED),
    "ge": _compared("ge", "field is certainly at least the value or other field", _ORDERED),
    "isin": Operator(
        op_isin,
        Signature(
            "the field's value is one of the values",
            {"field": FIELD, "values": VALUES},
            {},
            scopes=EVERYWHERE,
        ),
    ),
    "matches": Operator(
        op_matches,
        Signature(
            "the text as written fully matches the regular expression",
            {"field": FIELD, "pattern": PATTERN},
            {"ignore_case": BOOL},
            scopes=EVERYWHERE,
        ),
    ),
    "length": Operator(
        op_length,
        Signature(
            "the number of characters of the text as written, compared (gt: 250)",
            {"field": FIELD},
            _COUNTS,
            scopes=EVERYWHERE,
            one_of=_COUNT_GROUP,
        ),
    ),
    "older_than": Operator(
        op_older_than,
        _dated(
            "the date's latest possible day is more than the period before --as-of",
            {"field": FIELD},
            _PERIOD_ARGS,
        ),
    ),
    "newer_than": Operator(
        op_newer_than,
        _dated(
            "the date's earliest possible day is after --as-of minus the period (days: 0 = in the future)",
            {"field": FIELD},
            _PERIOD_ARGS,
        ),
    ),
    "before": Operator(
        op_before,
        _dated("field is certainly before other", {"field": FIELD, "other": OTHER}),
    ),
    "after": Operator(
        op_after,
        _dated("field is certainly after other", {"field": FIELD, "other": OTHER}),
    ),
    "later_than": Operator(
        op_later_than,
        _dated(
            "field is certainly later than `than` (a field, as_of or a date) plus the period `by`",
            {"field": FIELD, "than": THAN},
            {"by": PERIOD},
        ),
    ),
    "earlier_than": Operator(
        op_earlier_than,
        _dated(
            "field plus the period `by` is certainly earlier than `than` (a field, as_of or a date)",
            {"field": FIELD, "than": THAN},
            {"by": PERIOD},
        ),
    ),
    "count": Operator(
        list_ops.op_count,
        Signature(
            "the number of items of the list (those matching `where`, if given), compared (eq: 0)",
            {"list": LIST},
            {"where": ITEM_CONDITION, **_COUNTS},
            scopes=_ITEMS,
            one_of=_COUNT_GROUP,
        ),
    ),
    "all": Operator(op_all, _logic("every condition holds / every item of the list matches `where`")),
    "any": Operator(op_any, _logic("at least one condition holds / one item of the list matches `where`")),
    "not": Operator(
        op_not,
        Signature("the condition does not hold", {"condition": CONDITION}, {}, "condition", EVERYWHERE),
    ),
    # --- two snapshots (pair and history rules)
    "changed": Operator(
        pair_ops.op_changed,
        _pair("the field differs between the old and the new snapshot", {"field": FIELD}, shorthand="field"),
    ),
    "changed_from": Operator(
        pair_ops.op_changed_from,
        _pair(
            "the field changed, and its old value was one of the values", {"field": FIELD, "values": VALUES}
        ),
    ),
    "changed_to": Operator(
        pair_ops.op_changed_to,
        _pair(
            "the field changed, and its new value is one of the values", {"field": FIELD, "values": VALUES}
        ),
    ),
    "shifted_by_more_than": Operator(
        pair_ops.op_shifted_by_more_than,
        _pair(
            "the date moved by more than the period (direction: later, earlier or either)",
            {"field": FIELD},
            {**_PERIOD_ARGS, "direction": DIRECTION},
            kinds=_DATES,
        ),
    ),
    "went_back": Operator(
        pair_ops.op_went_back,
        _pair("the value moved to an earlier step of the order", {"field": FIELD, "order": ORDER}),
    ),
    "items_added": Operator(
        pair_ops.op_items_added,
        _pair(
            "an item of the list is new (matched by its identity, or `by`)", {"list": LIST}, {"by": SUBFIELDS}
        ),
    ),
    "items_removed": Operator(
        pair_ops.op_items_removed,
        _pair(
            "an item of the list is gone (matched by its identity, or `by`)",
            {"list": LIST},
            {"by": SUBFIELDS},
        ),
    ),
    "items_changed": Operator(
        pair_ops.op_items_changed,
        _pair(
            "an item in both snapshots (same identity) has a different `in` sub-field",
            {"list": LIST, "in": SUBFIELD},
            {"by": SUBFIELDS},
        ),
    ),
    "repeatedly": Operator(
        pair_ops.op_repeatedly,
        Signature(
            "the pair condition held in at least `times` pairs of the record's history (on its last pair)",
            {"condition": CONDITION, "times": INT},
            {},
            scopes=frozenset({HISTORY}),
        ),
    ),
}

#: operators that read a period given as years / months / days (at least one of them)
PERIOD_OPERATORS = frozenset({"older_than", "newer_than", "shifted_by_more_than"})
