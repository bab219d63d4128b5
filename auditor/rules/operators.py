"""The rule vocabulary: each operator is a vectorized function ``(frame, args) -> boolean Series``.

A condition says when a record (or a pair of snapshots) *has the problem*; ``True`` rows become
findings. Every operator is ``False`` where it cannot be sure — a missing value, a date too
imprecise to decide — so a finding is never made from a guess:

* dates keep their precision: ``older_than`` compares the *latest* day a partial date can mean,
  ``newer_than`` / ``after`` the *earliest*, so ``2020-09`` is at most as old as 2020-09-30;
* comparisons with an absent or explicitly empty value are ``False`` (use ``missing``).

``OPERATORS`` lists them all, with the arguments each takes (:class:`Signature`); the rule-file
validator (:mod:`auditor.rules.spec`) checks arguments against it, the compiler binds
parameters and ``as_of``. Adding an operator is one function and one entry.

Field names are table columns (:mod:`auditor.table`); in pair rules ``old.<key>`` names the
older snapshot's value and a bare key the newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from auditor.rules.patterns import full_match
from auditor.values import normalise_enum, parse_date, parse_timestamp

if TYPE_CHECKING:
    import pandas as pd

Mask = "pd.Series[bool]"
Operator = Callable[["pd.DataFrame", dict[str, Any]], "pd.Series"]

#: argument kinds a signature can ask for
FIELD, OTHER, VALUE, VALUES, PATTERN, INT, BOOL, DIRECTION, ORDER, CONDITION, CONDITIONS = (
    "field",
    "other field",
    "value",
    "list of values",
    "regular expression",
    "whole number",
    "true or false",
    "later, earlier or either",
    "list of values or lists of values",
    "condition",
    "list of conditions",
)


@dataclass(frozen=True, slots=True)
class Signature:
    """What an operator takes. ``shorthand`` is the argument a bare scalar fills
    (``missing: why_stopped``); ``one_of`` lists argument groups of which exactly one is given."""

    summary: str
    required: dict[str, str]
    optional: dict[str, str]
    shorthand: str | None = None
    pair_only: bool = False
    one_of: tuple[tuple[str, ...], ...] = ()
    kinds: frozenset[str] | None = None  # field kinds allowed for ``field``


# ---------------------------------------------------------------- column helpers


def _old(name: str) -> str:
    return name if name.startswith("old.") else f"old.{name}"


def _aux(frame: pd.DataFrame, name: str, suffix: str) -> pd.Series | None:
    column = f"{name}{suffix}"
    return frame[column] if column in frame.columns else None


def present(frame: pd.DataFrame, name: str) -> pd.Series:
    """The field has a value (a valid one or one that did not fit its type)."""
    has = frame[name].notna()
    raw = _aux(frame, name, "__raw")
    if raw is not None:
        has = has | raw.notna()
    missing = _aux(frame, name, "__missing")
    if missing is not None:
        has = has & missing.isna()
    return has.fillna(False).astype(bool)


def earliest(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name]


def latest(frame: pd.DataFrame, name: str) -> pd.Series:
    aux = _aux(frame, name, "__latest")
    return frame[name] if aux is None else aux


def _clean(mask: pd.Series) -> pd.Series:
    return mask.fillna(False).astype(bool)


def offset(args: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DateOffset(years=args.get("years", 0), months=args.get("months", 0), days=args.get("days", 0))


def _as_of(args: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.Timestamp(args["as_of"])


def coerce(kind: str, value: Any) -> Any:
    """A rule file's value as the column holds it; ``ValueError`` says what was expected.

    Dates and timestamps become naive :class:`datetime.datetime` values, which pandas compares
    with its datetime columns as it would a ``Timestamp``: loading and listing the rules then
    needs no pandas (``audit rules list`` starts without it)."""
    if kind == "date":
        if isinstance(value, date):
            return _midnight(value)
        parsed = parse_date(str(value))
        if parsed is None:
            raise ValueError(f"expected a date like 2020-09-30, got {value!r}")
        return _midnight(parsed.earliest())
    if kind == "timestamp":
        if isinstance(value, date):
            return _midnight(value)
        stamp = parse_timestamp(str(value))
        if stamp is None:
            try:
                return datetime.fromisoformat(str(value)).replace(tzinfo=None)
            except ValueError:
                raise ValueError(f"expected a timestamp like 2025-12-24T18:59, got {value!r}") from None
        return _midnight(stamp)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"expected a whole number, got {value!r}")
    if kind == "enum":
        return normalise_enum(str(value))
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"expected text, got {value!r}")
    return str(value)


def _midnight(value: date) -> datetime:
    """A date (or a datetime, kept) as a naive datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time())


# ---------------------------------------------------------------- single-record operators


def op_missing(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return ~present(frame, args["field"])


def op_present(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return present(frame, args["field"])


def op_invalid(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    name = args["field"]
    raw = _aux(frame, name, "__raw")
    if raw is None:
        return _clean(frame[name].isna() & False)
    return _clean(raw.notna() & frame[name].isna() & frame[f"{name}__missing"].isna())


def _compare(frame: pd.DataFrame, args: dict[str, Any], how: str) -> pd.Series:
    name = args["field"]
    kind = args["kind"]
    is_date = kind == "date"
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
    return _clean(result)


def op_eq(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _compare(frame, args, "eq")


def op_ne(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _compare(frame, args, "ne")


def op_lt(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _compare(frame, args, "lt")


def op_le(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _compare(frame, args, "le")


def op_gt(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _compare(frame, args, "gt")


def op_ge(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _compare(frame, args, "ge")


def op_isin(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return _clean(frame[args["field"]].isin(args["values"]))


def op_matches(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """Full match of a regular expression against the text as written (``__raw`` for typed fields)."""
    name = args["field"]
    text = _aux(frame, name, "__raw")
    text = frame[name] if text is None else text.where(frame[f"{name}__missing"].isna())
    return full_match(text, args["pattern"], ignore_case=bool(args.get("ignore_case")))


def op_older_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The *latest* day the date can mean is more than the period before ``as_of``."""
    return _clean(latest(frame, args["field"]) < _as_of(args) - offset(args))


def op_newer_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The *earliest* day the date can mean is less than the period before ``as_of``
    (``days: 0``: after ``as_of``, i.e. in the future)."""
    return _clean(earliest(frame, args["field"]) > _as_of(args) - offset(args))


def op_before(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """``field`` is certainly before ``other``: its latest day precedes other's earliest."""
    return _clean(latest(frame, args["field"]) < earliest(frame, args["other"]))


def op_after(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """``field`` is certainly after ``other``: its earliest day follows other's latest."""
    return _clean(earliest(frame, args["field"]) > latest(frame, args["other"]))


def op_all(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    import pandas as pd

    result = pd.Series(True, index=frame.index)
    for condition in args["conditions"]:
        result &= condition(frame)
    return result


def op_any(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    import pandas as pd

    result = pd.Series(False, index=frame.index)
    for condition in args["conditions"]:
        result |= condition(frame)
    return result


def op_not(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    result: pd.Series = ~args["condition"](frame)
    return result


# ---------------------------------------------------------------- pair operators


def _same(frame: pd.DataFrame, name: str) -> pd.Series:
    """Old and new say the same thing: both absent, the same empty literal, or equal values
    (dates: equal as written, precision included)."""
    new_present, old_present = present(frame, name), present(frame, _old(name))
    both_absent = ~new_present & ~old_present
    missing = _aux(frame, name, "__missing")
    if missing is not None:
        old_missing = frame[f"{_old(name)}__missing"]
        both_absent = both_absent & (
            (missing == old_missing).fillna(False) | (missing.isna() & old_missing.isna())
        )
    values_equal = _clean(frame[name] == frame[_old(name)])
    if f"{name}__latest" in frame.columns:
        values_equal &= _clean(frame[f"{name}__latest"] == frame[f"{_old(name)}__latest"])
    raw = _aux(frame, name, "__raw")
    if raw is not None:
        invalid_equal = (
            frame[name].isna() & frame[_old(name)].isna() & _clean(raw == frame[f"{_old(name)}__raw"])
        )
        values_equal |= invalid_equal
    return _clean(both_absent | (new_present & old_present & values_equal))


def op_changed(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return ~_same(frame, args["field"])


def op_changed_from(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    name = args["field"]
    return _clean(frame[_old(name)].isin(args["values"])) & ~_same(frame, name)


def op_changed_to(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    name = args["field"]
    return _clean(frame[name].isin(args["values"])) & ~_same(frame, name)


def op_shifted_by_more_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The date moved by more than the period, certainly: ``later`` compares the old date's
    latest day plus the period with the new date's earliest day (and mirrored for ``earlier``)."""
    name = args["field"]
    period = offset(args)
    later = _clean(latest(frame, _old(name)) + period < earliest(frame, name))
    earlier = _clean(latest(frame, name) + period < earliest(frame, _old(name)))
    direction = args.get("direction", "either")
    if direction == "later":
        return later
    if direction == "earlier":
        return earlier
    return later | earlier


def op_went_back(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The value moved to an earlier step of ``order`` (a list of steps; a step may be a list
    of equivalent values). Values outside the order never count."""
    import pandas as pd

    rank: dict[str, int] = {}
    for i, step in enumerate(args["order"]):
        for value in step if isinstance(step, list | tuple) else [step]:
            rank[value] = i
    name = args["field"]
    new_rank = frame[name].map(rank, na_action="ignore").astype("Float64")
    old_rank = frame[_old(name)].map(rank, na_action="ignore").astype("Float64")
    return _clean(pd.Series(new_rank < old_rank, index=frame.index))


_PERIOD = {"years": INT, "months": INT, "days": INT}
_DATES = frozenset({"date", "timestamp"})
_COMPARE_SUMMARY = "compare a field with a value or another field (false when either is missing)"

#: The four ordered comparisons share one signature.
_COMPARE_SIGNATURE = Signature(
    _COMPARE_SUMMARY,
    {"field": FIELD, "value": VALUE},
    {},
    kinds=frozenset({"date", "timestamp", "integer"}),
)

OPERATORS: dict[str, tuple[Operator, Signature]] = {
    "missing": (
        op_missing,
        Signature("the field is absent or explicitly empty", {"field": FIELD}, {}, "field"),
    ),
    "present": (op_present, Signature("the field has a value", {"field": FIELD}, {}, "field")),
    "invalid": (
        op_invalid,
        Signature(
            "the field has a value that does not fit its type (e.g. a bad date)",
            {"field": FIELD},
            {},
            "field",
        ),
    ),
    "eq": (
        op_eq,
        Signature(
            "field equals the value / other field",
            {"field": FIELD},
            {"value": VALUE, "other": OTHER},
            one_of=(("value", "other"),),
        ),
    ),
    "ne": (
        op_ne,
        Signature(
            "field differs from the value / other field (both present)",
            {"field": FIELD},
            {"value": VALUE, "other": OTHER},
            one_of=(("value", "other"),),
        ),
    ),
    "lt": (op_lt, _COMPARE_SIGNATURE),
    "le": (op_le, _COMPARE_SIGNATURE),
    "gt": (op_gt, _COMPARE_SIGNATURE),
    "ge": (op_ge, _COMPARE_SIGNATURE),
    "isin": (
        op_isin,
        Signature("the field's value is one of the values", {"field": FIELD, "values": VALUES}, {}),
    ),
    "matches": (
        op_matches,
        Signature(
            "the text as written fully matches the regular expression",
            {"field": FIELD, "pattern": PATTERN},
            {"ignore_case": BOOL},
        ),
    ),
    "older_than": (
        op_older_than,
        Signature(
            "the date's latest possible day is more than the period before --as-of",
            {"field": FIELD},
            _PERIOD,
            kinds=_DATES,
        ),
    ),
    "newer_than": (
        op_newer_than,
        Signature(
            "the date's earliest possible day is after --as-of minus the period (days: 0 = in the future)",
            {"field": FIELD},
            _PERIOD,
            kinds=_DATES,
        ),
    ),
    "before": (
        op_before,
        Signature("field is certainly before other", {"field": FIELD, "other": OTHER}, {}, kinds=_DATES),
    ),
    "after": (
        op_after,
        Signature("field is certainly after other", {"field": FIELD, "other": OTHER}, {}, kinds=_DATES),
    ),
    "all": (op_all, Signature("every condition holds", {"conditions": CONDITIONS}, {}, "conditions")),
    "any": (op_any, Signature("at least one condition holds", {"conditions": CONDITIONS}, {}, "conditions")),
    "not": (op_not, Signature("the condition does not hold", {"condition": CONDITION}, {}, "condition")),
    "changed": (
        op_changed,
        Signature(
            "the field differs between the old and the new snapshot",
            {"field": FIELD},
            {},
            "field",
            pair_only=True,
        ),
    ),
    "changed_from": (
        op_changed_from,
        Signature(
            "the field changed, and its old value was one of the values",
            {"field": FIELD, "values": VALUES},
            {},
            pair_only=True,
        ),
    ),
    "changed_to": (
        op_changed_to,
        Signature(
            "the field changed, and its new value is one of the values",
            {"field": FIELD, "values": VALUES},
            {},
            pair_only=True,
        ),
    ),
    "shifted_by_more_than": (
        op_shifted_by_more_than,
        Signature(
            "the date moved by more than the period (direction: later, earlier or either)",
            {"field": FIELD},
            {**_PERIOD, "direction": DIRECTION},
            pair_only=True,
            kinds=_DATES,
        ),
    ),
    "went_back": (
        op_went_back,
        Signature(
            "the value moved to an earlier step of the order",
            {"field": FIELD, "order": ORDER},
            {},
            pair_only=True,
        ),
    ),
}

#: operators that read a period (at least one of years / months / days)
PERIOD_OPERATORS = frozenset({"older_than", "newer_than", "shifted_by_more_than"})
