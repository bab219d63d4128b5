"""Typed values of record fields, and the one function that types a raw string.

Every reader hands over raw text (JSON booleans and numbers are first written the way the
Ignite pages write them), and :func:`type_value` decides the type from the field's registry
type and the text alone. That is what makes a text snapshot and a JSON snapshot of one study
compare field by field: the typing is a function of ``(key, raw)``, not of the file format.

No I/O here.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ValueType(StrEnum):
    """The type of a field's value, as written in ``audit parse`` output."""

    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"
    ENUM = "enum"
    INTEGER = "integer"
    MISSING = "missing"
    TEXT = "text"


class Precision(StrEnum):
    """How much of a date the registry actually gave; we never invent the rest."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


@dataclass(frozen=True, order=True, slots=True)
class PartialDate:
    """A calendar date known to year, month or day precision (``2020-09`` is a month)."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year {self.year} out of range")
        if self.month is None:
            if self.day is not None:
                raise ValueError("a day without a month")
            return
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} out of range")
        if self.day is not None and not 1 <= self.day <= calendar.monthrange(self.year, self.month)[1]:
            raise ValueError(f"day {self.day} out of range for {self.year}-{self.month:02d}")

    @property
    def precision(self) -> Precision:
        if self.day is not None:
            return Precision.DAY
        return Precision.MONTH if self.month is not None else Precision.YEAR

    def earliest(self) -> date:
        """First day the value can mean; used to measure shifts and ages."""
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        """Last day the value can mean; "older than" checks use it so we never overstate age."""
        month = self.month or 12
        return date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def isoformat(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def __str__(self) -> str:
        return self.isoformat()


@dataclass(frozen=True, slots=True)
class Missing:
    """An explicitly empty value. ``None``, ``N/A`` and an empty value mean different things
    (not answered, not applicable, left blank), so the literal is kept."""

    literal: str

    @property
    def kind(self) -> str:
        return MISSING_KINDS.get(self.literal, "other")

    def __str__(self) -> str:
        return self.literal


MISSING_KINDS: dict[str, str] = {"": "empty", "None": "none", "N/A": "not_applicable"}

Value = PartialDate | datetime | bool | int | str | Missing

_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH_NAMES.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_WORDY_DATE = re.compile(r"([A-Za-z]+)\.?\s+(?:(\d{1,2}),\s*)?(\d{4})")
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2}) @ (\d{1,2}):(\d{2}) ?([AP]M)", re.IGNORECASE)
_INTEGER = re.compile(r"-?\d{1,18}")


def parse_date(text: str) -> PartialDate | None:
    """``2020``, ``2020-09``, ``2020-09-23``, ``September 2020`` or ``September 23, 2020``
    (the legacy XML's form) into a :class:`PartialDate`; ``None`` when it is not a real date."""
    text = text.strip()
    try:
        if m := _ISO_DATE.fullmatch(text):
            year, month, day = m.groups()
            return PartialDate(int(year), int(month) if month else None, int(day) if day else None)
        if (m := _WORDY_DATE.fullmatch(text)) and m.group(1).lower() in _MONTH_NAMES:
            day = m.group(2)
            return PartialDate(int(m.group(3)), _MONTH_NAMES[m.group(1).lower()], int(day) if day else None)
    except ValueError:
        return None
    return None


def parse_timestamp(text: str) -> datetime | None:
    """Ignite's ``2025-12-24 @ 6:59 PM`` (no time zone) into a naive datetime."""
    m = _TIMESTAMP.fullmatch(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, half = m.groups()
    h = int(hour)
    if not 1 <= h <= 12:
        return None
    h = h % 12 + (12 if half.upper() == "PM" else 0)
    try:
        return datetime(int(year), int(month), int(day), h, int(minute))
    except ValueError:
        return None


def format_timestamp(value: datetime) -> str:
    """Inverse of :func:`parse_timestamp`."""
    hour = value.hour % 12 or 12
    half = "PM" if value.hour >= 12 else "AM"
    return f"{value:%Y-%m-%d} @ {hour}:{value.minute:02d} {half}"


_BOOLEANS = {"True": True, "False": False}


def parse_boolean(text: str) -> bool | None:
    return _BOOLEANS.get(text.strip())


def normalise_enum(text: str) -> str:
    """``Active, not recruiting`` (legacy XML) → ``ACTIVE_NOT_RECRUITING`` (API v2)."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    return "_".join(words).upper()


@dataclass(frozen=True, slots=True)
class Typed:
    """A value with the type it was read as; ``problem`` says why it fell back to text."""

    type: ValueType
    value: Value
    problem: str | None = None


def type_value(
    raw: str,
    declared: ValueType | None,
    *,
    enum_values: frozenset[str] = frozenset(),
    enum_aliases: dict[str, str] | None = None,
    missing_literals: frozenset[str] = frozenset(),
) -> Typed:
    """Type ``raw`` as ``declared`` (from the field registry) or, for unknown fields, by the
    literals every Ignite page uses: ``True``/``False``, ``None``/``N/A``/empty.

    A value that does not fit its declared type is kept as text with a problem, never dropped:
    ``2020-13`` in a date field is a data-quality finding, not a crash.
    """
    text = raw.strip()
    if text in MISSING_KINDS or text in missing_literals:
        return Typed(ValueType.MISSING, Missing(text))
    if declared is None or declared is ValueType.TEXT:
        boolean = parse_boolean(text)
        if boolean is not None:
            return Typed(ValueType.BOOLEAN, boolean)
        return Typed(ValueType.TEXT, raw)
    if declared is ValueType.DATE:
        parsed_date = parse_date(text)
        if parsed_date is not None:
            return Typed(ValueType.DATE, parsed_date)
        return Typed(ValueType.TEXT, raw, f"{text!r} is not a valid date")
    if declared is ValueType.TIMESTAMP:
        stamp = parse_timestamp(text)
        if stamp is not None:
            return Typed(ValueType.TIMESTAMP, stamp)
        return Typed(ValueType.TEXT, raw, f"{text!r} is not a valid timestamp")
    if declared is ValueType.BOOLEAN:
        boolean = parse_boolean(text)
        if boolean is not None:
            return Typed(ValueType.BOOLEAN, boolean)
        if text in ("Yes", "No"):
            return Typed(ValueType.BOOLEAN, text == "Yes")
        # Legacy wordings such as "Accepts Healthy Volunteers" are registered as aliases of
        # TRUE/FALSE (fields.yaml enum_aliases), so XML and JSON snapshots type alike.
        alias = (enum_aliases or {}).get(normalise_enum(text))
        if alias in ("TRUE", "FALSE"):
            return Typed(ValueType.BOOLEAN, alias == "TRUE")
        return Typed(ValueType.TEXT, raw, f"{text!r} is not True or False")
    if declared is ValueType.INTEGER:
        if _INTEGER.fullmatch(text):
            return Typed(ValueType.INTEGER, int(text))
        return Typed(ValueType.TEXT, raw, f"{text!r} is not a whole number")
    if declared is ValueType.ENUM:
        code = normalise_enum(text)
        code = (enum_aliases or {}).get(code, code)
        if enum_values and code not in enum_values:
            return Typed(ValueType.TEXT, raw, f"{text!r} is not a known value")
        return Typed(ValueType.ENUM, code)
    return Typed(ValueType.TEXT, raw)


def value_to_json(value: Value) -> object:
    """The JSON form of a typed value, as documented for ``audit parse``."""
    if isinstance(value, Missing):
        return None
    if isinstance(value, PartialDate):
        return value.isoformat()
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return value
