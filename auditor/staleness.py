"""The staleness report's data: which records are stale, how old, whose, and what changed
since the previous report. Pure functions, no I/O.

Inputs are the findings of the staleness rules and a small per-record summary
(:class:`RecordSummary`: NCT ID, status, last known status, status verified date, lead sponsor,
brief title). Whole records are never kept, so half a million studies fit in memory.

Decisions a reader of the report would want to know:

* A record is **stale** when any staleness rule (by default ``unknown-status-stale`` and
  ``active-status-unverified``) has a finding on it. ``active-status-unverified`` is
  ClinicalTrials.gov's 2-year threshold, not its "Unknown status" trigger: the registry flips a
  record only once its completion date has passed as well (``--select
  active-status-would-be-unknown`` reports exactly those). Identity across nights is the NCT ID,
  not the finding: a RECRUITING record that went UNKNOWN overnight while still unverified is
  *still stale* (its rules changed), not "fixed" and "new" at once.
* **Age** is measured from the *last* day the status verified date can mean (``2020-09`` is
  2020-09-30), the way the rules measure "older than", so a partial date's age is never
  overstated. Buckets are whole years: ``<1``, ``1–2``, ``2–3``, ``3–5``, ``5–10``, ``>10``,
  and ``no date`` when the record has no usable verified date.
* **Fixed** since the previous report is split by why: ``re-verified`` (the verified date moved
  later; a status change at the same time is shown beside it), ``status changed`` (the status
  differs, same verified date), ``no longer present`` (the record is not in tonight's input),
  and ``rules no longer apply`` (same status and date: the rules or their parameters changed).
* **Stale since** is the as-of date of the first report in an unbroken run of reports that
  listed the record as stale (carried forward through ``stale.json``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from auditor.findings import Finding, Severity
from auditor.records import is_valid_nct_id
from auditor.values import Missing, PartialDate, parse_date

#: The rules the report runs unless told otherwise (shipped in ``rules/status.yaml``). Not the
#: ``staleness`` tag: it also marks date-consistency and pair rules, which say nothing about
#: whether a record is out of date today.
STALENESS_RULES: tuple[str, ...] = ("unknown-status-stale", "active-status-unverified")

#: The registry keys :func:`summarize` reads.
SUMMARY_KEYS: frozenset[str] = frozenset(
    {"overall_status", "last_known_status", "status_verified_date", "lead_sponsor", "brief_title"}
    | {"last_update_submit_date"}
)

AGE_BUCKETS: tuple[str, ...] = ("<1", "1–2", "2–3", "3–5", "5–10", ">10", "no date")
NO_DATE = AGE_BUCKETS[-1]

#: Display order of statuses in charts and tables; anything else is grouped as ``OTHER``.
STATUS_ORDER: tuple[str, ...] = (
    "UNKNOWN",
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ACTIVE_NOT_RECRUITING",
    "ENROLLING_BY_INVITATION",
    "SUSPENDED",
    "COMPLETED",
    "TERMINATED",
    "WITHDRAWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
)
OTHER_STATUS = "OTHER"

FIX_REVERIFIED = "re-verified"
FIX_STATUS_CHANGED = "status changed"
FIX_GONE = "no longer present"
FIX_RULES = "rules no longer apply"
FIX_REASONS: tuple[str, ...] = (FIX_REVERIFIED, FIX_STATUS_CHANGED, FIX_GONE, FIX_RULES)


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """The few columns of one record the report needs; strings are ``""`` when absent.

    ``rank`` orders snapshots of one study (Ignite modification time, last update date,
    path) so that the latest one is reported when several are given.
    """

    nct_id: str
    overall_status: str
    last_known_status: str
    status_verified: PartialDate | None
    lead_sponsor: str
    brief_title: str
    snapshot: str = ""
    rank: tuple[str, str, str] = ("", "", "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "overall_status": self.overall_status,
            "last_known_status": self.last_known_status,
            "status_verified_date": _iso(self.status_verified),
            "lead_sponsor": self.lead_sponsor,
            "brief_title": self.brief_title,
        }


def summarize(record: Any) -> RecordSummary:
    """The summary of one :class:`~auditor.records.Record` (typed loosely to keep this
    module free of the record model's imports at call sites that only have summaries)."""

    def text(key: str) -> str:
        value = record.value(key)
        if value is None or isinstance(value, Missing):
            return ""
        if isinstance(value, PartialDate):
            return value.isoformat()
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        return " ".join(str(value).split())

    verified = record.value("status_verified_date")
    if not isinstance(verified, PartialDate):
        verified = parse_date(verified) if isinstance(verified, str) else None
    modified = record.ignite_modified.isoformat() if record.ignite_modified is not None else ""
    return RecordSummary(
        nct_id=record.nct_id,
        overall_status=intern_text(text("overall_status")),
        last_known_status=intern_text(text("last_known_status")),
        status_verified=verified,
        lead_sponsor=text("lead_sponsor"),
        brief_title=text("brief_title"),
        snapshot=record.source.path,
        rank=(modified, text("last_update_submit_date"), record.source.path),
    )


_INTERNED: dict[str, str] = {}


def intern_text(text: str) -> str:
    """Statuses repeat across 500k records; keep one copy of each."""
    return _INTERNED.setdefault(text, text)


def _iso(value: PartialDate | None) -> str:
    return "" if value is None else value.isoformat()


def age_days(verified: PartialDate | None, as_of: date) -> int | None:
    """Days from the last day ``verified`` can mean to ``as_of`` (negative in the future)."""
    if verified is None:
        return None
    return (as_of - verified.latest()).days


def full_years(verified: PartialDate, as_of: date) -> int:
    """Whole calendar years from the last day ``verified`` can mean to ``as_of``."""
    last = verified.latest()
    years = as_of.year - last.year - ((as_of.month, as_of.day) < (last.month, last.day))
    return max(years, 0)


def age_bucket(verified: PartialDate | None, as_of: date) -> str:
    """The chart bucket of a verified date: ``<1`` … ``>10`` years, or ``no date``."""
    if verified is None:
        return NO_DATE
    years = full_years(verified, as_of)
    if years < 3:
        return AGE_BUCKETS[years]
    if years < 5:
        return "3–5"
    if years < 10:
        return "5–10"
    return ">10"


def chart_status(status: str) -> str:
    """The status as charted: known statuses as they are, anything else ``OTHER``."""
    return status if status in STATUS_ORDER else OTHER_STATUS


@dataclass(frozen=True, slots=True)
class PreviousEntry:
    """What a report remembers about one stale record (a row of its ``stale.json``)."""

    nct_id: str
    overall_status: str
    last_known_status: str
    status_verified: PartialDate | None
    lead_sponsor: str
    brief_title: str
    rule_ids: tuple[str, ...]
    stale_since: date

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], as_of: date) -> PreviousEntry:
        verified = data.get("status_verified_date")
        since = data.get("stale_since")
        return cls(
            nct_id=str(data["nct_id"]),
            overall_status=str(data.get("overall_status") or ""),
            last_known_status=str(data.get("last_known_status") or ""),
            status_verified=parse_date(verified) if isinstance(verified, str) and verified else None,
            lead_sponsor=str(data.get("lead_sponsor") or ""),
            brief_title=str(data.get("brief_title") or ""),
            rule_ids=tuple(str(r) for r in data.get("rule_ids") or ()),
            stale_since=_parse_day(since) or as_of,
        )


@dataclass(frozen=True, slots=True)
class PreviousReport:
    """The report before tonight's: its date and its stale records by NCT ID."""

    as_of: date
    stale: Mapping[str, PreviousEntry]


@dataclass(frozen=True, slots=True)
class NightCounts:
    """One night's headline numbers, for the trend chart and the index of nights (``newly``/
    ``fixed`` are ``None`` for a report that had no previous report to compare with;
    ``material``/``changed``: studies with a material change / any study change since the
    previous night, ``None`` for a report without a "what changed" section)."""

    as_of: date
    records: int | None
    stale: int
    newly_stale: int | None = None
    fixed: int | None = None
    material: int | None = None
    changed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "records": self.records,
            "stale": self.stale,
            "newly_stale": self.newly_stale,
            "fixed": self.fixed,
            "material": self.material,
            "changed": self.changed,
        }


@dataclass(frozen=True, slots=True)
class StaleRecord:
    """One row of the stale list."""

    summary: RecordSummary
    rule_ids: tuple[str, ...]
    severity: Severity
    age_days: int | None
    bucket: str
    is_new: bool
    stale_since: date

    @property
    def nct_id(self) -> str:
        return self.summary.nct_id

    def to_dict(self) -> dict[str, Any]:
        out = self.summary.to_dict()
        out.update(
            rule_ids=list(self.rule_ids),
            severity=str(self.severity),
            age_days=self.age_days,
            age_bucket=self.bucket,
            trend="new" if self.is_new else "still",
            stale_since=self.stale_since.isoformat(),
        )
        return out


@dataclass(frozen=True, slots=True)
class FixedRecord:
    """A record stale in the previous report and not tonight, with why."""

    nct_id: str
    reason: str
    before: PreviousEntry
    after: RecordSummary | None

    @property
    def detail(self) -> str:
        """What moved, in words: ``verified 2019-05 → 2026-10; UNKNOWN → ACTIVE_NOT_RECRUITING``."""
        if self.after is None:
            return "not in tonight's input"
        parts: list[str] = []
        if self.after.status_verified != self.before.status_verified:
            old, new = _iso(self.before.status_verified) or "—", _iso(self.after.status_verified) or "—"
            parts.append(f"verified {old} → {new}")
        if self.after.overall_status != self.before.overall_status:
            parts.append(f"{self.before.overall_status or '—'} → {self.after.overall_status or '—'}")
        return "; ".join(parts) or "no longer matched by the staleness rules"

    def to_dict(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "reason": self.reason,
            "detail": self.detail,
            "lead_sponsor": (self.after.lead_sponsor if self.after else "") or self.before.lead_sponsor,
            "brief_title": (self.after.brief_title if self.after else "") or self.before.brief_title,
            "stale_since": self.before.stale_since.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class GroupCount:
    """Stale and total records of one sponsor or one status."""

    name: str
    stale: int
    total: int


@dataclass(frozen=True)
class StalenessReport:
    """Everything the page, the Markdown and ``summary.json`` show. Built by :func:`build_report`."""

    as_of: date
    params: Mapping[str, str]
    rule_ids: tuple[str, ...]
    records: int
    stale: tuple[StaleRecord, ...]
    fixed: tuple[FixedRecord, ...]
    previous_as_of: date | None
    by_age_status: Mapping[str, Mapping[str, int]]
    by_status: tuple[GroupCount, ...]
    by_sponsor: tuple[GroupCount, ...]
    by_rule: Mapping[str, int]
    findings: tuple[Finding, ...]
    history: tuple[NightCounts, ...]
    input_errors: tuple[str, ...] = field(default=())
    #: Studies changed (materially) since the previous night, from the "what changed" section.
    changed: int | None = None
    material: int | None = None

    @property
    def newly_stale(self) -> tuple[StaleRecord, ...]:
        return tuple(s for s in self.stale if s.is_new)

    @property
    def still_stale(self) -> int:
        return sum(1 for s in self.stale if not s.is_new)

    @property
    def fixed_by_reason(self) -> dict[str, int]:
        counts = Counter(f.reason for f in self.fixed)
        return {reason: counts.get(reason, 0) for reason in FIX_REASONS}

    @property
    def tonight(self) -> NightCounts:
        has_previous = self.previous_as_of is not None
        return NightCounts(
            as_of=self.as_of,
            records=self.records,
            stale=len(self.stale),
            newly_stale=len(self.newly_stale) if has_previous else None,
            fixed=len(self.fixed) if has_previous else None,
            material=self.material,
            changed=self.changed,
        )

    def summary_dict(self) -> dict[str, Any]:
        """The small machine-readable summary (``summary.json``) later reports read for the trend."""
        return {
            "schema": "auditor-staleness-summary/1",
            "as_of": self.as_of.isoformat(),
            "previous_as_of": None if self.previous_as_of is None else self.previous_as_of.isoformat(),
            "rules": list(self.rule_ids),
            "params": dict(sorted(self.params.items())),
            "records": self.records,
            "stale": len(self.stale),
            "newly_stale": len(self.newly_stale) if self.previous_as_of else None,
            "still_stale": self.still_stale if self.previous_as_of else None,
            "fixed": self.fixed_by_reason if self.previous_as_of else None,
            "by_rule": dict(self.by_rule),
            "by_age": {b: sum(self.by_age_status[b].values()) for b in AGE_BUCKETS},
            "input_errors": len(self.input_errors),
        }


def stale_records_of(findings: Iterable[Finding], rule_ids: Iterable[str]) -> dict[str, list[Finding]]:
    """Findings of the staleness rules grouped by NCT ID."""
    wanted = set(rule_ids)
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule_id in wanted:
            out.setdefault(finding.nct_id, []).append(finding)
    return out


def classify_fix(before: PreviousEntry, after: RecordSummary | None) -> str:
    """Why a record stale in the previous report is not stale tonight (see module docstring)."""
    if after is None:
        return FIX_GONE
    if _later(after.status_verified, before.status_verified):
        return FIX_REVERIFIED
    if after.overall_status != before.overall_status:
        return FIX_STATUS_CHANGED
    return FIX_RULES


def _later(new: PartialDate | None, old: PartialDate | None) -> bool:
    if new is None:
        return False
    if old is None:
        return True
    return new.latest() > old.latest()


def build_report(
    summaries: Iterable[RecordSummary],
    findings: Sequence[Finding],
    *,
    as_of: date,
    rule_ids: Sequence[str] = STALENESS_RULES,
    params: Mapping[str, str] | None = None,
    previous: PreviousReport | None = None,
    history: Sequence[NightCounts] = (),
    input_errors: Sequence[str] = (),
    top_sponsors: int = 25,
    changed: int | None = None,
    material: int | None = None,
) -> StalenessReport:
    """Tonight's report from the summaries of every record and the staleness findings.

    ``summaries`` must hold one entry per NCT ID (the latest snapshot); ``history`` is the
    counts of earlier reports, oldest first (tonight's are added); ``changed``/``material``:
    tonight's changed and materially changed studies, when the night has a "what changed"
    section (:mod:`auditor.nightly`), for the trend chart. Output order is fixed
    (oldest first, then NCT ID), so the same input always gives the same report.
    """
    by_nct = stale_records_of(findings, rule_ids)
    by_age_status: dict[str, Counter[str]] = {bucket: Counter() for bucket in AGE_BUCKETS}
    status_total: Counter[str] = Counter()
    status_stale: Counter[str] = Counter()
    sponsor_total: Counter[str] = Counter()
    sponsor_stale: Counter[str] = Counter()
    current: dict[str, RecordSummary] = {}
    stale: list[StaleRecord] = []
    for summary in summaries:
        current[summary.nct_id] = summary
        status = chart_status(summary.overall_status)
        sponsor = summary.lead_sponsor or "(no sponsor)"
        by_age_status[age_bucket(summary.status_verified, as_of)][status] += 1
        status_total[status] += 1
        sponsor_total[sponsor] += 1
        hits = by_nct.get(summary.nct_id)
        if not hits:
            continue
        status_stale[status] += 1
        sponsor_stale[sponsor] += 1
        before = previous.stale.get(summary.nct_id) if previous else None
        stale.append(
            StaleRecord(
                summary=summary,
                rule_ids=tuple(sorted({f.rule_id for f in hits})),
                severity=max((f.severity for f in hits), key=lambda s: s.rank),
                age_days=age_days(summary.status_verified, as_of),
                bucket=age_bucket(summary.status_verified, as_of),
                is_new=previous is not None and before is None,
                stale_since=before.stale_since if before is not None else as_of,
            )
        )
    stale.sort(key=_stale_order)
    stale_ids = {s.nct_id for s in stale}
    fixed: list[FixedRecord] = []
    if previous is not None:
        for nct_id in sorted(set(previous.stale) - stale_ids):
            before = previous.stale[nct_id]
            after = current.get(nct_id)
            fixed.append(FixedRecord(nct_id, classify_fix(before, after), before, after))
    wanted = set(rule_ids)
    kept = tuple(
        sorted(
            (f for f in findings if f.nct_id in current and f.rule_id in wanted),
            key=lambda f: (f.nct_id, f.rule_id, f.fields, f.snapshot),
        )
    )
    statuses = [s for s in (*STATUS_ORDER, OTHER_STATUS) if status_total[s]]
    sponsors = sorted(sponsor_stale, key=lambda s: (-sponsor_stale[s], -sponsor_total[s], s))[:top_sponsors]
    report = StalenessReport(
        as_of=as_of,
        params=dict(params or {}),
        rule_ids=tuple(rule_ids),
        records=len(current),
        stale=tuple(stale),
        fixed=tuple(fixed),
        previous_as_of=previous.as_of if previous else None,
        by_age_status={b: {s: by_age_status[b][s] for s in statuses} for b in AGE_BUCKETS},
        by_status=tuple(GroupCount(s, status_stale[s], status_total[s]) for s in statuses),
        by_sponsor=tuple(GroupCount(s, sponsor_stale[s], sponsor_total[s]) for s in sponsors),
        by_rule=dict(sorted(Counter(f.rule_id for f in kept).items())),
        findings=kept,
        history=(),
        input_errors=tuple(input_errors),
        changed=changed,
        material=material,
    )
    earlier = [n for n in history if n.as_of < as_of]
    return replace(report, history=(*sorted(earlier, key=lambda n: n.as_of), report.tonight))


def _stale_order(s: StaleRecord) -> tuple[int, int, str]:
    """Oldest first; records without a date first of all (they cannot be shown verified)."""
    return (0 if s.age_days is None else 1, -(s.age_days or 0), s.nct_id)


def latest_per_study(summaries: Iterable[RecordSummary]) -> dict[str, RecordSummary]:
    """One summary per NCT ID: the one with the highest ``rank``."""
    out: dict[str, RecordSummary] = {}
    for s in summaries:
        current = out.get(s.nct_id)
        if current is None or s.rank > current.rank:
            out[s.nct_id] = s
    return out


def stale_entries(report: StalenessReport) -> list[dict[str, Any]]:
    """Rows of ``stale.json``: what the next report needs to tell new from still and fixed."""
    return [s.to_dict() for s in report.stale]


def previous_from_entries(as_of: date, rows: Iterable[Mapping[str, Any]]) -> PreviousReport:
    """A :class:`PreviousReport` from ``stale.json`` rows (or rows built from findings);
    ``ValueError`` for a row whose NCT ID is not one (it would be taken for a fixed record)."""
    entries = {}
    for row in rows:
        nct_id = row.get("nct_id")
        if not isinstance(nct_id, str) or not is_valid_nct_id(nct_id):
            raise ValueError(f"invalid NCT ID {nct_id!r}")
        entry = PreviousEntry.from_dict(row, as_of)
        entries[entry.nct_id] = entry
    return PreviousReport(as_of=as_of, stale=entries)


def previous_from_findings(
    as_of: date, findings: Iterable[Mapping[str, Any]], rule_ids: Iterable[str]
) -> PreviousReport:
    """A previous report rebuilt from its ``findings.json`` alone (a folder without
    ``stale.json``): NCT IDs and whatever status and verified date the findings' values show."""
    wanted = set(rule_ids)
    rows: dict[str, dict[str, Any]] = {}
    for f in findings:
        if f.get("rule_id") not in wanted or not f.get("nct_id"):
            continue
        row = rows.setdefault(str(f["nct_id"]), {"nct_id": f["nct_id"], "rule_ids": []})
        row["rule_ids"].append(f.get("rule_id"))
        values = f.get("values") or {}
        if isinstance(values, Mapping):
            for key in ("overall_status", "last_known_status", "status_verified_date"):
                if key in values and key not in row:
                    row[key] = values[key]
    return previous_from_entries(as_of, rows.values())


def _parse_day(text: object) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def night_counts_from_summary(data: Mapping[str, Any]) -> NightCounts | None:
    """A :class:`NightCounts` from a ``summary.json`` document; ``None`` if it is not one."""
    day = _parse_day(data.get("as_of"))
    if day is None or not isinstance(data.get("stale"), int) or not isinstance(data.get("records"), int):
        return None
    fixed = data.get("fixed")
    newly = data.get("newly_stale")
    changes = data.get("changes")
    changes = changes if isinstance(changes, Mapping) else {}
    return NightCounts(
        as_of=day,
        records=data["records"],
        stale=int(data["stale"]),
        newly_stale=newly if isinstance(newly, int) else None,
        fixed=sum(v for v in fixed.values() if isinstance(v, int)) if isinstance(fixed, Mapping) else None,
        material=_count(changes.get("material")),
        changed=_count(changes.get("changed")),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
