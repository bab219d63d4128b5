"""Collecting the report's data from real records: the narrow table equals the full one, and
two nights built from the corpus's versions give the right newly stale and fixed records."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.rules.compile import keys_read

PARTRITA = "partrita__clinicaltrial-watch-tigit"
ACTIVE = {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "ENROLLING_BY_INVITATION"}


def test_narrow_table_has_the_full_tables_columns_and_values(corpus_dir: Path) -> None:
    from auditor.readers import read_paths
    from auditor.rules import load_rules
    from auditor.staleness import STALENESS_RULES
    from auditor.table import records_table

    records = [
        r for r in read_paths([corpus_dir / "UserZetsu__dtx-analysis"]) if not isinstance(r, Exception)
    ]
    records += [
        r for r in read_paths([corpus_dir / "ctti-clinicaltrials__aact"]) if not isinstance(r, Exception)
    ][:40]
    rules = load_rules().select(STALENESS_RULES)
    keys = keys_read(rules)
    assert keys == {"overall_status", "status_verified_date"}  # not the {years} / {as_of} of messages
    narrow = records_table(records, keys=keys)
    full = records_table(records)
    assert len(narrow.columns) < len(full.columns) / 10
    assert set(narrow.columns) <= set(full.columns)
    for column in narrow.columns:
        assert narrow[column].dtype == full[column].dtype, column
        assert narrow[column].equals(full[column]), column


def _stale(status: str, verified: str, as_of: date, years: int) -> bool:
    """Independent of the rules engine: month-precision verified date, measured from the month's
    last day, older than ``years`` whole years before ``as_of``."""
    if status != "UNKNOWN" and status not in ACTIVE:
        return False
    year, month = (int(p) for p in verified.split("-")[:2])
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last_day = date.fromordinal(next_month.toordinal() - 1)
    # the nights are mid-month, so "older than" and "at least" cannot differ on a month's last day
    return (last_day.year + years, last_day.month, last_day.day) < (as_of.year, as_of.month, as_of.day)


@pytest.mark.corpus
def test_two_nights_from_the_corpus_versions(corpus_dir: Path, tmp_path: Path) -> None:
    """Night A (2026-02-07) and night B (2026-03-08) hold, for each of the 53 records with several
    versions, the latest version captured by that day; stale = UNKNOWN or active status, verified
    more than one year before (``--param years=1``: the versions span six weeks)."""
    root = corpus_dir / PARTRITA
    rows = list(csv.DictReader((root / "versions_index.csv").open(encoding="utf-8")))
    nights = {"A": date(2026, 2, 7), "B": date(2026, 3, 8)}
    chosen: dict[str, dict[str, dict[str, str]]] = {name: {} for name in nights}
    by_record: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_record[row["nct_id"]].append(row)
    for name, day in nights.items():
        for nct, versions in by_record.items():
            taken = [v for v in versions if date.fromisoformat(v["commit_date"][:10]) <= day]
            if taken:
                chosen[name][nct] = max(taken, key=lambda v: v["commit_date"])
    expected = {
        name: {
            n
            for n, v in chosen[name].items()
            if _stale(v["overall_status"], v["status_verified_date"], nights[name], 1)
        }
        for name in nights
    }
    newly = expected["B"] - expected["A"]
    fixed = expected["A"] - expected["B"]
    assert newly and fixed and expected["A"] & expected["B"]  # the check is not vacuous

    out = tmp_path / "reports"
    for name, day in nights.items():
        inputs = tmp_path / name
        inputs.mkdir()
        for nct, version in chosen[name].items():
            (inputs / f"{nct}.json").symlink_to(root / version["file"])
        code = main(
            [
                "report",
                "staleness",
                str(inputs),
                "--as-of",
                day.isoformat(),
                "--out",
                str(out),
                "--param",
                "years=1",
            ]
        )
        assert code == 0
    stale = json.loads((out / "2026-03-08" / "stale.json").read_text())
    got_stale = {r["nct_id"] for r in stale["stale"]}
    got_new = {r["nct_id"] for r in stale["stale"] if r["trend"] == "new"}
    got_fixed = {r["nct_id"]: r["reason"] for r in stale["fixed"]}
    assert got_stale == expected["B"]
    assert got_new == newly
    assert set(got_fixed) == fixed
    for nct, reason in got_fixed.items():
        before, after = chosen["A"][nct], chosen["B"][nct]
        if after["status_verified_date"] > before["status_verified_date"]:
            assert reason == "re-verified", nct
        else:
            assert reason == "status changed", nct
    summary = json.loads((out / "2026-03-08" / "summary.json").read_text())
    assert summary["newly_stale"] == len(newly)
    assert sum(summary["fixed"].values()) == len(fixed)
    assert summary["still_stale"] == len(expected["A"] & expected["B"])
    # what the independent count finds, spelled out: one record first captured after night A,
    # one re-verified, and two that went NOT_YET_RECRUITING -> UNKNOWN on 2026-03-03 (still stale)
    assert got_new == {"NCT06821503"}
    assert got_fixed == {"NCT04743661": "re-verified"}
    rules_b = {r["nct_id"]: r["rule_ids"] for r in stale["stale"]}
    assert rules_b["NCT05294952"] == rules_b["NCT06302556"] == ["unknown-status-stale"]
