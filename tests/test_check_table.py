"""The records table and the operators' "never overstate" semantics."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from rules_harness import build_record

from auditor.rules.operators import OPERATORS
from auditor.table import META_COLUMNS, column_kind, display, pairs_table, records_table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return records_table(
        [
            build_record(
                {
                    "fields": {
                        "overall_status": "UNKNOWN",
                        "status_verified_date": "2020-09",
                        "why_stopped": "Not Stopped",
                        "enrollment_count": "abc",
                    }
                }
            ),
            build_record(
                {
                    "nct_id": "NCT00000002",
                    "fields": {
                        "status_verified_date": "September 15, 2020",
                        "why_stopped": "None",
                        "enrollment_count": "12",
                    },
                }
            ),
        ]
    )


def test_documented_columns_and_types(table: pd.DataFrame) -> None:
    assert list(table.columns[: len(META_COLUMNS)]) == list(META_COLUMNS)
    assert str(table["status_verified_date"].dtype).startswith("datetime64")
    assert table.loc[0, "status_verified_date"] == pd.Timestamp("2020-09-01")
    assert table.loc[0, "status_verified_date__latest"] == pd.Timestamp("2020-09-30")
    assert list(table["status_verified_date__precision"]) == ["month", "day"]
    assert str(table["enrollment_count"].dtype) == "Int64" and table.loc[1, "enrollment_count"] == 12
    assert column_kind("old.overall_status") == "enum" and column_kind("ignite_created") == "timestamp"


def test_absent_empty_and_invalid_stay_distinguishable(table: pd.DataFrame) -> None:
    row0, row1 = table.to_dict("records")
    assert display(row0, "why_stopped") == "Not Stopped" and display(row1, "why_stopped") == "None"
    assert display(row1, "overall_status") == "(absent)"
    assert display(row0, "enrollment_count") == "abc (not a valid value)"
    assert (
        display(row0, "status_verified_date") == "2020-09"
        and display(row1, "status_verified_date") == "2020-09-15"
    )
    invalid = OPERATORS["invalid"][0](table, {"field": "enrollment_count"})
    missing = OPERATORS["missing"][0](table, {"field": "why_stopped"})
    assert list(invalid) == [True, False] and list(missing) == [True, True]


def _older(table: pd.DataFrame, as_of: date, years: int) -> list[bool]:
    return list(
        OPERATORS["older_than"][0](table, {"field": "status_verified_date", "years": years, "as_of": as_of})
    )


def test_older_than_uses_the_last_possible_day(table: pd.DataFrame) -> None:
    # 2020-09 may mean 2020-09-30: not older than 2 years on 2022-09-30, older on 2022-10-01.
    assert _older(table, date(2022, 9, 30), 2) == [False, True]
    assert _older(table, date(2022, 10, 1), 2) == [True, True]
    assert _older(table, date(2022, 9, 15), 2) == [False, False]


def test_after_is_certain_only(table: pd.DataFrame) -> None:
    frame = records_table(
        [
            build_record({"fields": {"first_post_date": "2020-09", "last_update_post_date": "2020-09-10"}}),
            build_record({"fields": {"first_post_date": "2020-10", "last_update_post_date": "2020-09-10"}}),
        ]
    )
    after = OPERATORS["after"][0](frame, {"field": "first_post_date", "other": "last_update_post_date"})
    assert list(after) == [False, True]


def test_pair_table_and_changed() -> None:
    old = build_record({"path": "a", "fields": {"overall_status": "RECRUITING", "why_stopped": "None"}})
    new = build_record({"path": "b", "fields": {"overall_status": "RECRUITING", "why_stopped": "N/A"}})
    frame = pairs_table([(old, new)])
    assert frame.loc[0, "snapshot"] == "a -> b" and frame.loc[0, "old.overall_status"] == "RECRUITING"
    assert list(OPERATORS["changed"][0](frame, {"field": "overall_status"})) == [False]
    assert list(OPERATORS["changed"][0](frame, {"field": "why_stopped"})) == [True]  # None -> N/A


def test_empty_inputs() -> None:
    assert records_table([]).empty and pairs_table([]).empty


def test_check_table_picks_the_scope_and_a_broken_check_is_not_a_finding() -> None:
    from auditor.check import check_table
    from auditor.rules import load_rules

    rules = load_rules()
    frame = records_table(
        [build_record({"fields": {"overall_status": "UNKNOWN", "status_verified_date": "2019"}})]
    )
    doubled = pd.concat([frame, frame])  # duplicate index labels
    ids = [f.rule_id for f in check_table(doubled, rules, as_of=date(2026, 1, 5))]
    assert ids.count("unknown-status-stale") == 2 and "first-post-date-changed" not in ids
    with pytest.raises(RuntimeError, match="unknown-status-stale could not run"):
        check_table(
            frame.drop(columns=["overall_status"]),
            rules.select(["unknown-status-stale"]),
            as_of=date(2026, 1, 5),
        )


def test_never_overstate_age_property() -> None:
    """For any partial date and day: older_than fires only if *every* day the date can mean is
    more than N years before as_of, and newer_than(days=0) only if every such day is after it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from auditor.values import PartialDate

    @st.composite
    def partial_dates(draw: st.DrawFn) -> PartialDate:
        year = draw(st.integers(1990, 2030))
        month = draw(st.one_of(st.none(), st.integers(1, 12)))
        day = None if month is None else draw(st.one_of(st.none(), st.integers(1, 28)))
        return PartialDate(year, month, day)

    @settings(max_examples=150, deadline=None)
    @given(partial_dates(), st.dates(date(1995, 1, 1), date(2035, 12, 31)), st.integers(0, 5))
    def check(value: PartialDate, as_of: date, years: int) -> None:
        frame = records_table([build_record({"fields": {"status_verified_date": value.isoformat()}})])
        args = {"field": "status_verified_date", "years": years, "as_of": as_of}
        older = bool(OPERATORS["older_than"][0](frame, args).iloc[0])
        future = bool(OPERATORS["newer_than"][0](frame, {**args, "years": 0, "days": 0}).iloc[0])
        limit = pd.Timestamp(as_of) - pd.DateOffset(years=years)
        assert older == (pd.Timestamp(value.latest()) < limit)
        assert future == (value.earliest() > as_of)

    check()
