"""How far apart two dates are, as a calendar counts and at the precision both were given."""

from __future__ import annotations

from datetime import date

from auditor.values import PartialDate


def date_gap(a: PartialDate, b: PartialDate) -> str:
    """How far ``b`` is from ``a`` in years, months and days, at the coarser precision of the two.

    Two days are measured as a calendar counts (2024-01-31 → 2024-03-01 is "1 month 1 day");
    when either date is a month (or a year), only the months (or years) are compared, so
    ``2015-12`` → ``2015-11-05`` is "1 month earlier", never a count of days.
    """
    if a.precision == b.precision == "day":
        x, y = a.earliest(), b.earliest()
        lo, hi = (x, y) if x <= y else (y, x)
        years, months, days = _calendar_gap(lo, hi)
        later, unit = y > x, "day"
    elif "year" in (a.precision, b.precision):
        years, months, days = abs(b.year - a.year), 0, 0
        later, unit = b.year > a.year, "year"
    else:
        span = (b.year * 12 + (b.month or 1)) - (a.year * 12 + (a.month or 1))
        years, months, days = abs(span) // 12, abs(span) % 12, 0
        later, unit = span > 0, "month"
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((years, "year"), (months, "month"), (days, "day"))
        if n
    ]
    if not parts:
        return f"same {unit}"
    return f"{' '.join(parts)} {'later' if later else 'earlier'}"


def _calendar_gap(lo: date, hi: date) -> tuple[int, int, int]:
    """Whole years, months and days from ``lo`` to ``hi`` (``hi >= lo``), as a calendar counts."""
    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    if hi.day < lo.day:
        months -= 1
    anchor_year, anchor_month = divmod(lo.month - 1 + months, 12)
    anchor = _clamped(lo.year + anchor_year, anchor_month + 1, lo.day)
    return months // 12, months % 12, (hi - anchor).days


def _clamped(year: int, month: int, day: int) -> date:
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1
