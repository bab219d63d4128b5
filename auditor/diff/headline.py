"""The headline of a diff: the few facts a registry manager reads first.

* the **status transition** — a fall into ``UNKNOWN`` leads (the registry's mark of a record
  nobody verified for two years), then a stop (``TERMINATED``, ``WITHDRAWN``, ``SUSPENDED``),
  then any other backwards move; re-opening recruitment (into ``RECRUITING`` from a later
  stage) is said as such, not as an alarm;
* the **enrollment change** with its percentage (and the estimated/actual type);
* **date slips** of the start, primary completion and completion dates in years, months and
  days, at the precision both dates have (``2024-03`` → ``2024-05`` is "2 months later", not
  "61 days");
* the **stop reason** in full when it was set or changed;
* the count of changes per History-of-Changes module and per grade.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.diff.classify import reopens, status_flag
from auditor.diff.dates import date_gap
from auditor.diff.grades import Grade
from auditor.diff.model import Change, SemanticClass
from auditor.diff.modules import module_table
from auditor.values import Missing, PartialDate

STATUS_KEY = "overall_status"
ENROLLMENT_KEY = "enrollment_count"
ENROLLMENT_TYPE_KEY = "enrollment_type"
STOP_REASON_KEY = "why_stopped"
#: The dates whose moves are headline news, in the order shown.
HEADLINE_DATES = {
    "start_date": "start",
    "primary_completion_date": "primary completion",
    "completion_date": "completion",
}
_STOPPED = frozenset({"TERMINATED", "WITHDRAWN", "SUSPENDED"})
_DATE_CLASSES = frozenset({SemanticClass.DATE_SHIFTED, SemanticClass.DATE_SET, SemanticClass.DATE_CLEARED})


@dataclass(frozen=True)
class StatusTransition:
    """``alarm`` is ``into_unknown``, ``stopped``, ``backwards``, ``reopened`` or ``forward``."""

    old: str | None
    new: str | None
    alarm: str

    def text(self) -> str:
        words = {
            "into_unknown": "fell into UNKNOWN",
            "stopped": "stopped",
            "backwards": "moved backwards",
            "reopened": "re-opened recruitment",
            "forward": "moved on",
        }[self.alarm]
        return f"status {words}: {self.old or '(none)'} → {self.new or '(none)'}"

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "alarm": self.alarm}


@dataclass(frozen=True)
class EnrollmentChange:
    old: int | None
    new: int | None
    old_type: str | None
    new_type: str | None

    @property
    def percent(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return round(100 * (self.new - self.old) / self.old, 1)

    def text(self) -> str:
        def side(count: int | None, kind: str | None) -> str:
            return f"{'?' if count is None else count}{f' ({kind.lower()})' if kind else ''}"

        pct = "" if self.percent is None else f", {self.percent:+g}%"
        return f"enrollment {side(self.old, self.old_type)} → {side(self.new, self.new_type)}{pct}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "old_type": self.old_type,
            "new_type": self.new_type,
            "percent": self.percent,
        }


@dataclass(frozen=True)
class DateSlip:
    """A headline date moved, was set or cleared; ``gap`` is e.g. "2 months later"."""

    key: str
    what: str
    old: str | None
    new: str | None
    gap: str

    def text(self) -> str:
        return f"{self.what} date {self.old or '(none)'} → {self.new or '(none)'}: {self.gap}"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "old": self.old, "new": self.new, "gap": self.gap}


@dataclass(frozen=True)
class Headline:
    status: StatusTransition | None = None
    enrollment: EnrollmentChange | None = None
    date_slips: tuple[DateSlip, ...] = ()
    stop_reason: str | None = None
    by_module: dict[str, int] = field(default_factory=dict)
    by_grade: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The headline as sentences, most alarming first (every renderer shows these)."""
        out: list[str] = []
        if self.status is not None:
            out.append(self.status.text())
        if self.stop_reason is not None:
            out.append(f"why stopped: {self.stop_reason}")
        if self.enrollment is not None:
            out.append(self.enrollment.text())
        out += [slip.text() for slip in self.date_slips]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": None if self.status is None else self.status.to_dict(),
            "enrollment": None if self.enrollment is None else self.enrollment.to_dict(),
            "date_slips": [s.to_dict() for s in self.date_slips],
            "stop_reason": self.stop_reason,
            "by_module": dict(self.by_module),
            "by_grade": dict(self.by_grade),
        }


def headline(changes: Iterable[Change]) -> Headline:
    """The headline facts of these study changes (summary-block copies are left out)."""
    body = [c for c in changes if not c.header]
    by_key = {c.key: c for c in body if c.occurrence == 0}
    return Headline(
        status=_status(by_key.get(STATUS_KEY)),
        enrollment=_enrollment(by_key.get(ENROLLMENT_KEY), by_key.get(ENROLLMENT_TYPE_KEY)),
        date_slips=tuple(s for k in HEADLINE_DATES if (s := _slip(by_key.get(k))) is not None),
        stop_reason=_stop_reason(by_key.get(STOP_REASON_KEY)),
        by_module=count_by_module(body),
        by_grade=count_by_grade(body),
    )


def count_by_module(changes: Iterable[Change]) -> dict[str, int]:
    """Changes per module, in the registry's order of modules."""
    counts = Counter(c.module for c in changes)
    return {label: counts[label] for label in module_table().labels if counts[label]}


def count_by_grade(changes: Iterable[Change]) -> dict[str, int]:
    counts = Counter(c.grade for c in changes)
    return {str(g): counts[g] for g in Grade if counts[g]}


def status_alarm(old: str | None, new: str | None) -> str:
    if new == "UNKNOWN":
        return "into_unknown"
    if new in _STOPPED:
        return "stopped"
    if reopens(old, new):
        return "reopened"
    if old is not None and new is not None and status_flag(old, new) == "backwards":
        return "backwards"
    return "forward"


def _text_value(change: Change, side: str) -> str | None:
    value = change.old_value if side == "old" else change.new_value
    if value is None or isinstance(value, Missing):
        return None
    return str(value)


def _status(change: Change | None) -> StatusTransition | None:
    if change is None or change.cosmetic:
        return None
    old, new = _text_value(change, "old"), _text_value(change, "new")
    return StatusTransition(old, new, status_alarm(old, new))


def _int(change: Change | None, side: str) -> int | None:
    if change is None:
        return None
    value = change.old_value if side == "old" else change.new_value
    return value if type(value) is int else None


def _enrollment(count: Change | None, kind: Change | None) -> EnrollmentChange | None:
    if (count is None or count.cosmetic) and (kind is None or kind.cosmetic):
        return None
    old = _int(count, "old")
    new = _int(count, "new")
    if count is None:
        return None  # the type alone (estimated → actual) is no headline
    old_type = _text_value(kind, "old") if kind else None
    new_type = _text_value(kind, "new") if kind else None
    return EnrollmentChange(old, new, old_type, new_type)


def _slip(change: Change | None) -> DateSlip | None:
    if change is None or change.semantic not in _DATE_CLASSES:
        return None
    a, b = change.old_value, change.new_value
    if isinstance(a, PartialDate) and isinstance(b, PartialDate):
        gap = date_gap(a, b)
    else:
        gap = "set" if change.semantic is SemanticClass.DATE_SET else "cleared"
    return DateSlip(change.key, HEADLINE_DATES[change.key], change.old_raw, change.new_raw, gap)


def _stop_reason(change: Change | None) -> str | None:
    if change is None or change.cosmetic or change.new is None:
        return None
    value = change.new_value
    return None if isinstance(value, Missing) else " ".join(change.new.raw.split())
