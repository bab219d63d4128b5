"""``Store.add`` takes snapshots held in memory (``SnapshotBytes``), as ``audit fetch`` hands them."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.store import SnapshotBytes, Store

STUDY = {
    "protocolSection": {
        "identificationModule": {"nctId": "NCT01234567", "briefTitle": "A study"},
        "statusModule": {"overallStatus": "RECRUITING", "lastUpdateSubmitDate": "2024-05-01"},
    }
}


def test_in_memory_snapshot_is_stored_once_and_reads_back(tmp_path: Path) -> None:
    data = json.dumps(STUDY).encode()
    with Store(tmp_path / "s") as store:
        first = store.add([SnapshotBytes("https://example.org/api/v2/studies/NCT01234567", data)])
        again = store.add([SnapshotBytes("elsewhere", data)])
        [entry] = store.snapshots_of("NCT01234567")
        record = store.load(entry)
    assert len(first.added) == 1 and not first.errors
    assert len(again.unchanged) == 1 and not again.added
    assert (tmp_path / "s" / entry.path).read_bytes() == data
    assert record.value("last_update_submit_date") is not None
    assert entry.modified == "2024-05-01"


def test_in_memory_snapshot_that_is_not_a_study_is_an_error_naming_it(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as store:
        result = store.add([SnapshotBytes("https://example.org/x", b"<html>nope</html>")])
    assert not result.added
    assert [e.path for e in result.errors] == ["https://example.org/x"]
