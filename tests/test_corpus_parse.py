"""Every file of the real corpus through ``read_paths``: counts, errors, statuses, cross-format keys.

The corpus is read once per module (about 10 s on one core, most of it the 6,786 bulk-download
XML files read in place from their ``.tar.gz``); the expected numbers come from each set's
``SOURCE.md`` and the corpus README, and statuses are checked against the sets' index CSVs.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.fields import registry
from auditor.readers import read_paths
from auditor.records import Record, SourceFormat, is_valid_nct_id

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

AACT = "ctti-clinicaltrials__aact"
PARTRITA = "partrita__clinicaltrial-watch-tigit"
REESE = "reesewang25__enrollment_and_studylength"
MALFORMED = f"{AACT}/xml_versions/NCT02654730/2017-08-10_6dbeeb5.xml"
TOOL_LOGS = f"{PARTRITA}/tool_history_logs_HEAD_c69effd.tar.gz"

#: Records per set (SOURCE.md). aact: 231 version files + 7 hand-modified − 1 malformed XML,
#: 22 JSON fixture files (one study each) and the 100-study classic search response;
#: partrita: 1,178 current snapshots + 120 version files.
EXPECTED_RECORDS = {
    AACT: 237 + 22 + 100,
    PARTRITA: 1178 + 120,
    REESE: 6786,
    "UserZetsu__dtx-analysis": 128,
    "unl-stat351__screencast-public-data-jesusrod44": 120,
    "vrinda2019__NSCLCBench": 100,
    "dgg32__graph_bigquery": 100,
    "koy570__herniated_disc": 100,
    "scampbe3__my-website": 88,
    "dgg32__clinical-trials-public": 61,
}

#: overallStatus counts of the JSON-array sets, as their SOURCE.md gives them.
EXPECTED_STATUSES = {
    "UserZetsu__dtx-analysis": {
        "COMPLETED": 64, "ACTIVE_NOT_RECRUITING": 16, "RECRUITING": 15, "NOT_YET_RECRUITING": 10,
        "TERMINATED": 10, "UNKNOWN": 9, "WITHDRAWN": 3, "ENROLLING_BY_INVITATION": 1,
    },
    "unl-stat351__screencast-public-data-jesusrod44": {
        "COMPLETED": 60, "RECRUITING": 18, "TERMINATED": 15, "UNKNOWN": 15, "NOT_YET_RECRUITING": 5,
        "ACTIVE_NOT_RECRUITING": 3, "ENROLLING_BY_INVITATION": 2, "SUSPENDED": 1, "WITHDRAWN": 1,
    },
    "vrinda2019__NSCLCBench": {
        "RECRUITING": 26, "UNKNOWN": 24, "COMPLETED": 16, "ACTIVE_NOT_RECRUITING": 11,
        "NOT_YET_RECRUITING": 9, "TERMINATED": 7, "WITHDRAWN": 5, "ENROLLING_BY_INVITATION": 1,
        "SUSPENDED": 1,
    },
    "dgg32__graph_bigquery": {"RECRUITING": 80, "NOT_YET_RECRUITING": 20},
    "koy570__herniated_disc": {"COMPLETED": 100},
    "scampbe3__my-website": {"RECRUITING": 67, "NOT_YET_RECRUITING": 21},
}  # fmt: skip

#: AACT fixtures trimmed by their authors to have no statusModule (SOURCE.md caveats).
NO_STATUS = {
    f"{AACT}/json_versions/NCT00465816/2023-12-19_134ad97.json",
    f"{AACT}/json_versions/NCT03453554/2024-01-05_0f10a1e.json",
}

#: Same study in two formats (corpus README): reesewang25 XML ∩ partrita / koy570 JSON, aact XML ∩ partrita.
CROSS_FORMAT = [
    "NCT00001245", "NCT00001908", "NCT00001909", "NCT00002297", "NCT00006150", "NCT00460538",
    "NCT00490425", "NCT00000410", "NCT01298141",
]  # fmt: skip


@dataclass(frozen=True)
class Walk:
    records: list[Record]
    errors: list[InputError]
    root: Path

    def __repr__(self) -> str:  # keep pytest's failure reports short
        return f"Walk({len(self.records)} records, {len(self.errors)} errors)"

    def relative(self, record: Record) -> str:
        """``set/path`` of a record's file, or ``set/archive!member``, without ``#index``."""
        return record.source.path.split("#", 1)[0][len(str(self.root)) + 1 :]

    def set_of(self, record: Record) -> str:
        return self.relative(record).split("/", 1)[0]


@pytest.fixture(scope="module")
def walk(corpus_dir: Path) -> Walk:
    records: list[Record] = []
    errors: list[InputError] = []
    for item in read_paths([corpus_dir]):
        (errors if isinstance(item, InputError) else records).append(item)  # type: ignore[arg-type]
    return Walk(records, errors, corpus_dir)


def _index(path: Path, key: str) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row[key]: row for row in csv.DictReader(handle)}


def _raw(record: Record, key: str) -> str:
    field = record.get(key)
    return "" if field is None else field.raw


def test_record_counts_per_set(walk: Walk) -> None:
    counts = Counter(walk.set_of(r) for r in walk.records)
    assert dict(counts) == EXPECTED_RECORDS
    formats = Counter((walk.set_of(r), r.source.format) for r in walk.records)
    assert formats[(AACT, SourceFormat.CTGOV_XML)] == 237
    assert formats[(REESE, SourceFormat.CTGOV_XML)] == 6786


def test_distinct_nct_ids(walk: Walk) -> None:
    # The README's 8,819 counts NCT02278341 by its file name; that fixture file's content is
    # NCT02552212 (also present under its own name), so 8,818 distinct IDs are in the records.
    assert len({r.nct_id for r in walk.records}) == 8818
    by_set: dict[str, set[str]] = {}
    for r in walk.records:
        by_set.setdefault(walk.set_of(r), set()).add(r.nct_id)
    assert len(by_set[REESE]) == 6786
    assert len(by_set["dgg32__clinical-trials-public"]) == 51


def test_the_only_errors_are_the_malformed_xml_and_the_non_study_tool_logs(walk: Walk) -> None:
    """The partrita tool logs (``[{"timestamp", "diff"}]`` change logs, not study records) are
    rejected file by file; apart from them only the known malformed XML fails."""
    study_errors = [e for e in walk.errors if TOOL_LOGS not in (e.path or "")]
    assert [(e.path, e.line) for e in study_errors] == [(str(walk.root / MALFORMED), 86)]
    log_errors = [e for e in walk.errors if TOOL_LOGS in (e.path or "")]
    assert len(log_errors) == 569
    assert all(e.message.startswith("not a study record") for e in log_errors)


def test_every_record_has_a_valid_nct_id_and_its_status(walk: Walk) -> None:
    assert all(is_valid_nct_id(r.nct_id) for r in walk.records)
    without_status = {walk.relative(r) for r in walk.records if r.get("overall_status") is None}
    assert without_status == NO_STATUS
    statuses = set(registry().by_key["overall_status"].enum)
    assert {r.value("overall_status") for r in walk.records if r.get("overall_status")} <= statuses


def test_statuses_agree_with_the_set_indexes(walk: Walk) -> None:
    reese = _index(walk.root / REESE / "index.csv", "nct_id")
    current = _index(walk.root / PARTRITA / "current_snapshots_index.csv", "file")
    versions = _index(walk.root / PARTRITA / "versions_index.csv", "file")
    aact = _index(walk.root / AACT / "versions_index.csv", "file")
    checked = 0
    for record in walk.records:
        rel = walk.relative(record)
        set_name, _, inner = rel.partition("/")
        member = inner.split("!", 1)[-1]
        if set_name == REESE:
            row, status, verified = reese[record.nct_id], "overall_status", "verification_date"
        elif set_name == PARTRITA:
            row = current[member] if "!" in inner else versions[inner]
            status, verified = "overall_status", "status_verified_date"
        elif set_name == AACT and aact.get(inner, {}).get("overall_status"):
            row, status, verified = aact[inner], "overall_status", "verification_date"
        else:
            continue
        assert _raw(record, "overall_status") == row[status], rel
        assert _raw(record, "last_known_status") == row["last_known_status"], rel
        assert _raw(record, "status_verified_date") == row[verified], rel  # Withheld studies have none
        checked += 1
    assert checked == 6786 + 1298 + 237 + 15  # aact: every XML record and the 15 v2 files with a status
    for set_name, expected in EXPECTED_STATUSES.items():
        found = Counter(r.value("overall_status") for r in walk.records if walk.set_of(r) == set_name)
        assert found == expected, set_name


def test_cross_format_versions_share_keys_and_types(walk: Walk) -> None:
    registered = set(registry().by_key)
    by_id: dict[str, list[Record]] = {}
    for record in walk.records:
        if record.nct_id in CROSS_FORMAT:
            by_id.setdefault(record.nct_id, []).append(record)
    for nct_id in CROSS_FORMAT:
        xml = next(r for r in by_id[nct_id] if r.source.format is SourceFormat.CTGOV_XML)
        json = next(r for r in by_id[nct_id] if r.source.format is SourceFormat.CTGOV_JSON)
        common = registered & set(xml.keys()) & set(json.keys())
        assert {"overall_status", "status_verified_date", "lead_sponsor", "study_type"} <= common
        assert len(common) >= 20, nct_id
        for key in common:
            a, b = xml.get(key), json.get(key)
            assert a is not None and b is not None
            if a.is_missing or b.is_missing:  # "N/A" in one snapshot, a value in the other
                continue
            assert a.type == b.type, (nct_id, key, a.raw, b.raw)
        assert xml.value("lead_sponsor") == json.value("lead_sponsor")
