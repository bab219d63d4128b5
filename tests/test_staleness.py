"""The staleness report's data (auditor.staleness): ages, buckets, stale / new / fixed, trend."""

from __future__ import annotations

import json
from datetime import date

import pytest

from auditor.findings import Finding, Severity
from auditor.staleness import (
    AGE_BUCKETS,
    FIX_GONE,
    FIX_REVERIFIED,
    FIX_RULES,
    FIX_STATUS_CHANGED,
    NightCounts,
    PreviousEntry,
    PreviousReport,
    RecordSummary,
    age_bucket,
    age_days,
    build_report,
    classify_fix,
    latest_per_study,
    night_counts_from_summary,
    previous_from_entries,
    previous_from_findings,
    stale_entries,
)
from auditor.values import PartialDate, parse_date

AS_OF = date(2026, 11, 25)


def summary(
    nct: str, status: str, verified: str | None, sponsor: str = "Sponsor A", last_known: str = ""
) -> RecordSummary:
    return RecordSummary(
        nct_id=nct,
        overall_status=status,
        last_known_status=last_known,
        status_verified=parse_date(verified) if verified else None,
        lead_sponsor=sponsor,
        brief_title=f"Study {nct}",
        snapshot=f"{nct}.txt",
    )


def finding(nct: str, rule: str = "unknown-status-stale", severity: Severity = Severity.WARNING) -> Finding:
    return Finding(
        rule_id=rule,
        severity=severity,
        nct_id=nct,
        snapshot=f"{nct}.txt",
        fields=("overall_status", "status_verified_date"),
        message="stale",
        rule_source="rules/staleness.yaml:1",
    )


@pytest.mark.parametrize(
    ("verified", "bucket"),
    [
        ("2026-11", "<1"),  # the future of as_of within the month: never negative
        ("2025-11", "<1"),  # 2025-11-30 is < 1 year before 2026-11-25
        ("2025-11-25", "1–2"),
        ("2024-11", "1–2"),  # 2024-11-30: one whole year, not two
        ("2024-10", "2–3"),
        ("2023-11-25", "3–5"),
        ("2021-11-26", "3–5"),  # 4 years and 364 days
        ("2021-11-25", "5–10"),
        ("2016-11-26", "5–10"),
        ("2016-11-25", ">10"),
        ("1999", ">10"),
        (None, "no date"),
    ],
)
def test_age_bucket_uses_whole_years_from_the_last_day_the_date_can_mean(
    verified: str | None, bucket: str
) -> None:
    value = parse_date(verified) if verified else None
    assert age_bucket(value, AS_OF) == bucket
    assert bucket in AGE_BUCKETS


def test_age_days_never_overstates_a_partial_date() -> None:
    assert age_days(PartialDate(2020, 9), AS_OF) == (AS_OF - date(2020, 9, 30)).days
    assert age_days(PartialDate(2020), AS_OF) == (AS_OF - date(2020, 12, 31)).days
    assert age_days(None, AS_OF) is None


def _previous() -> dict[str, PreviousEntry]:
    rows = [
        {
            "nct_id": "NCT09900001",
            "overall_status": "UNKNOWN",
            "status_verified_date": "2020-09",
            "stale_since": "2026-11-01",
            "rule_ids": ["unknown-status-stale"],
        },
        {
            "nct_id": "NCT09900002",
            "overall_status": "RECRUITING",
            "status_verified_date": "2023-01",
            "stale_since": "2026-11-20",
            "rule_ids": ["active-status-unverified"],
        },
        {
            "nct_id": "NCT09900004",
            "overall_status": "UNKNOWN",
            "status_verified_date": "2019-05",
            "stale_since": "2026-10-02",
            "rule_ids": ["unknown-status-stale"],
        },
        {
            "nct_id": "NCT09900007",
            "overall_status": "UNKNOWN",
            "status_verified_date": "2018-01",
            "stale_since": "2026-11-24",
            "rule_ids": ["unknown-status-stale"],
        },
        {
            "nct_id": "NCT09900008",
            "overall_status": "RECRUITING",
            "status_verified_date": "2022-01",
            "stale_since": "2026-11-24",
            "rule_ids": ["active-status-unverified"],
        },
        {
            "nct_id": "NCT09900009",
            "overall_status": "UNKNOWN",
            "status_verified_date": "2015-01",
            "stale_since": "2026-11-24",
            "rule_ids": ["unknown-status-stale"],
        },
    ]
    return dict(previous_from_entries(date(2026, 11, 24), rows).stale)


def test_new_still_and_fixed_against_the_previous_report() -> None:
    summaries = [
        summary("NCT09900001", "UNKNOWN", "2020-09", last_known="RECRUITING"),  # still stale
        summary("NCT09900002", "UNKNOWN", "2023-01", last_known="RECRUITING"),  # went UNKNOWN: still
        summary("NCT09900003", "COMPLETED", "2026-06"),  # never stale
        summary("NCT09900004", "ACTIVE_NOT_RECRUITING", "2026-10"),  # re-verified (and status)
        summary("NCT09900006", "UNKNOWN", "2021-02", sponsor="Sponsor B"),  # new
        summary("NCT09900008", "COMPLETED", "2022-01"),  # status changed, same date
        summary("NCT09900009", "UNKNOWN", "2015-01"),  # rules changed (same status and date)
        # NCT09900007 is gone from tonight's input
    ]
    findings = [finding("NCT09900001"), finding("NCT09900002"), finding("NCT09900006")]
    previous = PreviousReport(as_of=date(2026, 11, 24), stale=_previous())
    report = build_report(summaries, findings, as_of=AS_OF, previous=previous)

    assert [s.nct_id for s in report.stale] == ["NCT09900001", "NCT09900006", "NCT09900002"]  # oldest first
    assert [s.nct_id for s in report.newly_stale] == ["NCT09900006"]
    assert report.still_stale == 2
    by_id = {s.nct_id: s for s in report.stale}
    assert by_id["NCT09900001"].stale_since == date(2026, 11, 1)  # carried forward
    assert by_id["NCT09900006"].stale_since == AS_OF
    assert {f.nct_id: f.reason for f in report.fixed} == {
        "NCT09900004": FIX_REVERIFIED,
        "NCT09900007": FIX_GONE,
        "NCT09900008": FIX_STATUS_CHANGED,
        "NCT09900009": FIX_RULES,
    }
    fixed = {f.nct_id: f for f in report.fixed}
    assert fixed["NCT09900004"].detail == "verified 2019-05 → 2026-10; UNKNOWN → ACTIVE_NOT_RECRUITING"
    assert fixed["NCT09900007"].detail == "not in tonight's input"
    assert report.fixed_by_reason == {FIX_REVERIFIED: 1, FIX_STATUS_CHANGED: 1, FIX_GONE: 1, FIX_RULES: 1}
    assert report.records == 7
    assert report.tonight == NightCounts(AS_OF, 7, 3, 1, 4)


def test_first_report_has_no_new_and_no_fixed() -> None:
    report = build_report(
        [summary("NCT00000001", "UNKNOWN", "2019-01")], [finding("NCT00000001")], as_of=AS_OF
    )
    assert report.previous_as_of is None
    assert not report.newly_stale and not report.fixed
    assert report.stale[0].is_new is False
    doc = report.summary_dict()
    assert doc["newly_stale"] is None and doc["fixed"] is None and doc["stale"] == 1
    json.dumps(doc)


def test_counts_by_age_status_sponsor_and_rule() -> None:
    summaries = [
        summary("NCT00000001", "UNKNOWN", "2019-01", sponsor="B"),
        summary("NCT00000002", "UNKNOWN", "2010-01", sponsor="A"),
        summary("NCT00000003", "RECRUITING", "2023-06", sponsor="A"),
        summary("NCT00000004", "COMPLETED", "2026-01", sponsor="A"),
        summary("NCT00000005", "Made-up status", None, sponsor=""),
    ]
    findings = [
        finding("NCT00000001"),
        finding("NCT00000002"),
        finding("NCT00000003", "active-status-unverified"),
        finding("NCT00000004", "some-other-rule", Severity.ERROR),  # not a staleness rule
    ]
    report = build_report(summaries, findings, as_of=AS_OF)
    assert [s.nct_id for s in report.stale] == ["NCT00000002", "NCT00000001", "NCT00000003"]
    assert report.by_age_status[">10"] == {"UNKNOWN": 1, "RECRUITING": 0, "COMPLETED": 0, "OTHER": 0}
    assert report.by_age_status["5–10"]["UNKNOWN"] == 1
    assert report.by_age_status["3–5"]["RECRUITING"] == 1
    assert report.by_age_status["no date"]["OTHER"] == 1
    assert sum(sum(v.values()) for v in report.by_age_status.values()) == 5
    assert [(g.name, g.stale, g.total) for g in report.by_sponsor] == [("A", 2, 3), ("B", 1, 1)]
    assert [(g.name, g.stale, g.total) for g in report.by_status] == [
        ("UNKNOWN", 2, 2),
        ("RECRUITING", 1, 1),
        ("COMPLETED", 0, 1),
        ("OTHER", 0, 1),
    ]
    assert report.by_rule == {"active-status-unverified": 1, "unknown-status-stale": 2}
    assert all(f.rule_id != "some-other-rule" for f in report.findings)


def test_history_is_sorted_and_ends_with_tonight() -> None:
    history = [
        NightCounts(date(2026, 11, 23), 10, 4, 1, 0),
        NightCounts(date(2026, 11, 21), 10, 3),
        NightCounts(date(2026, 11, 26), 10, 9),  # after as_of: ignored
    ]
    report = build_report(
        [summary("NCT00000001", "UNKNOWN", "2019-01")], [finding("NCT00000001")], as_of=AS_OF, history=history
    )
    assert [n.as_of.day for n in report.history] == [21, 23, 25]
    assert report.history[-1].stale == 1


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (None, FIX_GONE),
        (summary("NCT00000001", "UNKNOWN", "2026-10"), FIX_REVERIFIED),
        (summary("NCT00000001", "COMPLETED", "2026-10"), FIX_REVERIFIED),
        (summary("NCT00000001", "COMPLETED", "2020-01"), FIX_STATUS_CHANGED),
        (
            summary("NCT00000001", "COMPLETED", "2019"),
            FIX_STATUS_CHANGED,
        ),  # same year, less precise: not later
        (summary("NCT00000001", "UNKNOWN", "2020-01"), FIX_RULES),
    ],
)
def test_classify_fix(after: RecordSummary | None, reason: str) -> None:
    before = PreviousEntry("NCT00000001", "UNKNOWN", "RECRUITING", PartialDate(2020, 1), "A", "T", (), AS_OF)
    assert classify_fix(before, after) == reason


def test_previous_from_findings_reads_nct_ids_and_values() -> None:
    findings = [
        {
            "rule_id": "unknown-status-stale",
            "nct_id": "NCT00000001",
            "values": {"overall_status": "UNKNOWN", "status_verified_date": "2019-05"},
        },
        {"rule_id": "brief-title-missing", "nct_id": "NCT00000002", "values": {}},
    ]
    previous = previous_from_findings(date(2026, 11, 24), findings, ["unknown-status-stale"])
    assert list(previous.stale) == ["NCT00000001"]
    entry = previous.stale["NCT00000001"]
    assert entry.overall_status == "UNKNOWN" and entry.status_verified == PartialDate(2019, 5)
    assert entry.stale_since == date(2026, 11, 24)


def test_stale_entries_round_trip_through_previous() -> None:
    report = build_report(
        [summary("NCT00000001", "UNKNOWN", "2019-01", last_known="RECRUITING")],
        [finding("NCT00000001")],
        as_of=AS_OF,
    )
    rows = json.loads(json.dumps(stale_entries(report)))
    entry = previous_from_entries(AS_OF, rows).stale["NCT00000001"]
    assert entry == PreviousEntry(
        "NCT00000001",
        "UNKNOWN",
        "RECRUITING",
        PartialDate(2019, 1),
        "Sponsor A",
        "Study NCT00000001",
        ("unknown-status-stale",),
        AS_OF,
    )


def test_night_counts_from_summary_rejects_what_is_not_one() -> None:
    good = {"as_of": "2026-11-24", "records": 5, "stale": 3, "newly_stale": 1, "fixed": {"re-verified": 2}}
    assert night_counts_from_summary(good) == NightCounts(date(2026, 11, 24), 5, 3, 1, 2)
    assert night_counts_from_summary({"as_of": "yesterday", "records": 5, "stale": 3}) is None
    assert night_counts_from_summary({"as_of": "2026-11-24", "records": "5", "stale": 3}) is None


def test_latest_per_study_keeps_the_highest_rank() -> None:
    old = RecordSummary("NCT00000001", "RECRUITING", "", None, "", "", "a", ("2026-01-01T00:00", "", "a"))
    new = RecordSummary("NCT00000001", "UNKNOWN", "", None, "", "", "b", ("2026-02-01T00:00", "", "b"))
    assert latest_per_study([new, old])["NCT00000001"] is new
    assert latest_per_study([old, new])["NCT00000001"] is new
