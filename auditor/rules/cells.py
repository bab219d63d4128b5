"""How operators read the records table: presence, the days a partial date can mean, periods.

Every operator (:mod:`auditor.rules.operators`, :mod:`.list_ops`, :mod:`.pair_ops`) reads cells
through these helpers, so "has a value", "the earliest / latest day of ``2020-09``" and "a
period such as ``1y30d``" mean one thing everywhere. The table's columns are documented in
:mod:`auditor.table`.
"""

from __future__ import annotations

import operator
import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple

from auditor.rules.kinds import COMPARISONS
from auditor.table import OLD_PREFIX
from auditor.values import normalise_enum, parse_date, parse_timestamp

if TYPE_CHECKING:
    import pandas as pd


def old(name: str) -> str:
    """The older snapshot's column of ``name`` in a pair table."""
    return name if name.startswith(OLD_PREFIX) else OLD_PREFIX + name


def aux(frame: pd.DataFrame, name: str, suffix: str) -> pd.Series | None:
    column = f"{name}{suffix}"
    return frame[column] if column in frame.columns else None


def clean(mask: Any) -> pd.Series:
    """A mask with ``<NA>`` (an answer we cannot give) as ``False``: never a guess."""
    result: pd.Series = mask.fillna(False).astype(bool)
    return result


def compared(values: pd.Series, args: dict[str, Any]) -> pd.Series:
    """``values`` against the one comparison among ``args`` (``eq: 0``, ``gt: 250`` …), named as
    in Python's :mod:`operator`; ``<NA>`` compares false."""
    ((how, limit),) = ((name, args[name]) for name in COMPARISONS if name in args)
    return clean(getattr(operator, how)(values, limit))


def present(frame: pd.DataFrame, name: str) -> pd.Series:
    """The field has a value (a valid one or one that did not fit its type)."""
    has = frame[name].notna()
    raw = aux(frame, name, "__raw")
    if raw is not None:
        has = has | raw.notna()
    missing = aux(frame, name, "__missing")
    if missing is not None:
        has = has & missing.isna()
    return clean(has)


def earliest(frame: pd.DataFrame, name: str) -> pd.Series:
    """The first day a date can mean (the value itself for other kinds)."""
    return frame[name]


def latest(frame: pd.DataFrame, name: str) -> pd.Series:
    """The last day a date can mean (the value itself for other kinds)."""
    column = aux(frame, name, "__latest")
    return frame[name] if column is None else column


def text_as_written(frame: pd.DataFrame, name: str) -> pd.Series:
    """The text of a field as the record wrote it (``__raw`` for typed fields), ``<NA>`` for an
    explicitly empty one."""
    raw = aux(frame, name, "__raw")
    if raw is None:
        return frame[name].astype("string")
    missing = aux(frame, name, "__missing")
    return (raw if missing is None else raw.where(missing.isna())).astype("string")


# --- periods ----------------------------------------------------------------------------------


class Period(NamedTuple):
    """A calendar period: ``1y30d`` is one year, then thirty days (as FDAAA TrialsTracker adds
    them: a year to 2020-02-29 gives 2021-02-28)."""

    years: int = 0
    months: int = 0
    days: int = 0

    def offset(self) -> Any:
        import pandas as pd

        return pd.DateOffset(years=self.years, months=self.months, days=self.days)

    def __str__(self) -> str:
        text = "".join(f"{n}{unit}" for n, unit in zip(self, "ymd", strict=True) if n)
        return text or "0d"


_PERIOD = re.compile(r"\s*(?:(\d+)\s*y)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*d)?\s*")


def parse_period(text: Any) -> Period:
    """``30d``, ``1y``, ``18m``, ``1y30d`` (years, months, days in that order); ``ValueError``
    for anything else, a bare number included (``30`` days or years?)."""
    match = _PERIOD.fullmatch(text) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"expected a period like 30d, 18m, 1y or 1y30d, got {text!r}")
    return Period(*(int(g or 0) for g in match.groups()))


def period_of(args: dict[str, Any]) -> Period:
    """The period of an operator that takes ``years`` / ``months`` / ``days`` arguments."""
    return Period(args.get("years", 0), args.get("months", 0), args.get("days", 0))


def as_of_timestamp(args: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.Timestamp(args["as_of"])


# --- values written in rule files ---------------------------------------------------------------


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
