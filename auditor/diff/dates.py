"""How far apart two dates are, as a calendar counts and at the precision both were given."""

from __future__ import annotations

from datetime import date

from auditor.values import PartialDate


def date_gap(a: PartialDate, b: PartialDate) -> str:
    """How far ``b`` is from ``a`` in years, months and days, at the coarser precision of the two."""
    precision = "day" if a.precision == b.precision == "day" else "month"
    if "year" in (a.precision, b.precision):
        precision = "year"
    x, y = a.earliest(), b.earliest()
    later = y >= x
    lo, hi = (x, y) if later else (y, x)
    years, months, days = _calendar_gap(lo, hi)
    if precision != "day":
        days = 0
    if precision == "year":
        months = 0
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((years, "year"), (months, "month"), (days, "day"))
        if n
    ]
    if not parts:
        return "same " + precision
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
