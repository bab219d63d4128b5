"""The store as of a day: which snapshots count as captured on or before ``--as-of``.

The capture day has two definitions that must agree, :func:`auditor.store.captured_day` (Python,
on an index entry) and :data:`auditor.store.index.CAPTURED` (SQL, what ``Store.summary`` and
``Store.list`` filter on); both are held to the registry's own capture dates read from the raw
files with :mod:`json` / ElementTree (API v2 ``versionHolder``, legacy XML ``download_date``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.store import Store
from auditor.store.index import CAPTURED

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def store(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("as-of") / "snapshots"
    sets = [
        corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions",
        corpus_dir / "ctti-clinicaltrials__aact" / "xml_versions",
        Path(__file__).resolve().parents[1] / "examples",
    ]
    # exit 2: a few aact fixtures are not study records; everything readable is stored
    assert main(["snapshot", "add", "--store", str(root), *map(str, sets)]) in (0, 1, 2)
    return root


def _raw_capture(path: Path) -> str | None:
    """The registry's capture date of a stored file, read from its raw bytes."""
    if path.suffix == ".json":
        return str(
            json.loads(path.read_text(encoding="utf-8"))["derivedSection"]["miscInfoModule"]["versionHolder"]
        )
    if path.suffix == ".xml":
        text = ET.parse(path).getroot().findtext("required_header/download_date") or ""
        stamp = text.removeprefix("ClinicalTrials.gov processed this data on ").strip()
        return datetime.strptime(stamp, "%B %d, %Y").date().isoformat()
    return None


def test_python_and_sql_agree_with_the_raw_capture_dates(store: Path) -> None:
    with Store(store) as opened:
        rows = (
            opened.index.connect(create=False).execute(f"SELECT path, {CAPTURED} FROM snapshots").fetchall()
        )
        sql = {str(path): str(day) for path, day in rows}
        entries = [entry for nct in opened.nct_ids() for entry in opened.snapshots_of(nct)]
    assert len(entries) > 300
    checked = 0
    for entry in entries:
        assert entry.captured == sql[entry.path], entry.path
        raw = _raw_capture(store / entry.path)
        if raw is not None:
            assert entry.captured == raw, entry.path
            checked += 1
        elif entry.ignite_modified is not None:
            assert entry.captured == entry.ignite_modified.date().isoformat()
    assert checked > 300


def test_summary_and_list_as_of_take_only_what_was_captured_by_then(store: Path) -> None:
    with Store(store) as opened:
        everything = {nct: opened.snapshots_of(nct) for nct in opened.nct_ids()}
        for day in (date(2016, 6, 30), date(2018, 1, 1), date(2026, 2, 15), date(2026, 11, 24)):
            summary = {nct: (count, entry) for nct, count, entry in opened.summary(day)}
            for nct, entries in everything.items():
                by_then = [e for e in entries if e.captured <= day.isoformat()]
                assert opened.snapshots_of(nct, day) == by_then
                if not by_then:
                    assert nct not in summary
                    continue
                count, latest = summary[nct]
                assert count == len(by_then)
                assert latest in by_then and latest.captured <= day.isoformat()
    # the example NCT09900006 was first captured on the 25th: not in the store as of the 24th
    with Store(store) as opened:
        assert "NCT09900006" not in {n for n, _, _ in opened.summary(date(2026, 11, 24))}
        assert "NCT09900006" in {n for n, _, _ in opened.summary(date(2026, 11, 25))}
