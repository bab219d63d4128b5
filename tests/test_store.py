"""The snapshot store: layout, ordering, no-op re-adds, conflicts, safety, findings, verify."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import InputError, StoreError
from auditor.history_checks import history_findings
from auditor.records import Record
from auditor.store import INDEX_NAME, Store
from auditor.values import parse_date

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
NIGHT1 = EXAMPLES / "2026-11-24"
NIGHT2 = EXAMPLES / "2026-11-25"


def edited(src: Path, dest: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of an example page with some text replaced (each replacement must apply)."""
    text = src.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return dest


def test_layout_and_order_by_ignite_modification_date(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    result = store.add([NIGHT2, NIGHT1])  # newest night first
    assert not result.errors and not result.conflicts
    assert len(result.added) == 11
    entries = store.snapshots_of("NCT09900001")
    assert [e.modified for e in entries] == ["2026-11-24T02:10", "2026-11-25T02:12"]
    first = entries[0]
    assert first.path == f"NCT09900001/20261124T0210_20251224T1859_{first.sha256[:12]}.txt"
    stored = (tmp_path / "s" / first.path).read_bytes()
    assert stored == (NIGHT1 / "NCT09900001.txt").read_bytes()  # original bytes
    assert hashlib.sha256(stored).hexdigest() == first.sha256
    assert (tmp_path / "s" / INDEX_NAME).is_file()
    assert store.snapshots_of("NCT09900006")[0].modified.startswith("2026-11-25")


def test_adding_the_same_content_twice_is_a_no_op(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.add([NIGHT1])
    before = sorted(p.name for p in (tmp_path / "s").rglob("*.txt"))
    again = store.add([NIGHT1, NIGHT1 / "NCT09900002.txt"])
    assert again.added == () and len(again.unchanged) == 6
    assert sorted(p.name for p in (tmp_path / "s").rglob("*.txt")) == before


def test_same_dates_other_content_is_kept_beside_and_reported(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.add([NIGHT1 / "NCT09900002.txt"])
    other = edited(
        NIGHT1 / "NCT09900002.txt", tmp_path / "in" / "NCT09900002.txt", ("Sponsor: ", "Sponsor: Edited ")
    )
    result = store.add([other])
    assert len(result.conflicts) == 1 and len(result.added) == 1
    conflict = result.conflicts[0]
    assert conflict.entry.order_key[:2] == conflict.existing.order_key[:2]
    entries = store.snapshots_of("NCT09900002")
    assert len(entries) == 2  # both kept, nothing overwritten
    assert {e.sha256 for e in entries} == {
        hashlib.sha256((NIGHT1 / "NCT09900002.txt").read_bytes()).hexdigest(),
        hashlib.sha256(other.read_bytes()).hexdigest(),
    }
    rules = {f.rule_id for f in history_findings(store)}
    assert "history-modification-date-backwards" in rules


def test_load_latest_and_pairs(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.add([NIGHT1, NIGHT2])
    record = store.load(store.snapshots_of("NCT09900003")[0])
    assert isinstance(record, Record) and record.nct_id == "NCT09900003"
    latest = list(store.latest())
    assert [r.nct_id for r in latest] == [f"NCT0990000{i}" for i in range(1, 7)]
    assert all(r.ignite_modified is not None and r.ignite_modified.day == 25 for r in latest)
    pairs = list(store.pairs())
    assert len(pairs) == 5
    assert all(old.ignite_modified < new.ignite_modified for old, new in pairs)  # type: ignore[operator]
    assert [p[0].nct_id for p in store.pairs(["NCT09900002"])] == ["NCT09900002"]


def test_history_findings(tmp_path: Path) -> None:
    src = NIGHT1 / "NCT09900004.txt"
    recreated = edited(
        src,
        tmp_path / "a" / "x.txt",
        ("Ignite Creation Date: 2025-12-24 @ 6:59 PM", "Ignite Creation Date: 2026-01-02 @ 9:00 AM"),
        ("Ignite Modification Date: 2026-11-24 @ 2:10 AM", "Ignite Modification Date: 2026-11-26 @ 2:10 AM"),
        ("Last Update Posted: ", "Last Update Posted: 1999-01-01\nX-Old: "),
    )
    store = Store(tmp_path / "s")
    store.add([src, recreated])
    found = {f.rule_id: f for f in history_findings(store)}
    created = found["history-creation-date-changed"]
    assert created.nct_id == "NCT09900004" and created.severity == "warning"
    assert created.rule_source == "auditor/store.py"
    assert dict(created.values) == {"old": "2025-12-24T18:59", "new": "2026-01-02T09:00"}
    backwards = found["history-modification-date-backwards"]
    assert "1999-01-01" in backwards.message
    # NCT09900001 is unchanged between the nights but Ignite says it was modified.
    store.add([NIGHT1 / "NCT09900001.txt", NIGHT2 / "NCT09900001.txt"])
    dup = [f for f in history_findings(store, ["NCT09900001"]) if f.rule_id == "history-duplicate-content"]
    assert len(dup) == 1 and "2026-11-24T02:10" in dup[0].message


def test_invalid_nct_ids_never_become_paths(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.add([NIGHT1 / "NCT09900001.txt"])
    with pytest.raises(InputError):
        store.snapshots_of("../../etc")
    conn = sqlite3.connect(tmp_path / "s" / INDEX_NAME)
    conn.execute("UPDATE snapshots SET path = '../../outside.txt'")
    conn.commit()
    conn.close()
    entry = Store(tmp_path / "s").snapshots_of("NCT09900001")[0]
    with pytest.raises(StoreError, match="unexpected path"):
        Store(tmp_path / "s").load(entry)


def test_record_folder_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store_dir = tmp_path / "s"
    store_dir.mkdir()
    os.symlink(outside, store_dir / "NCT09900001")
    with pytest.raises(StoreError, match="symlink"):
        Store(store_dir).add([NIGHT1 / "NCT09900001.txt"])
    assert list(outside.iterdir()) == []
    assert Store(store_dir).snapshots_of("NCT09900001") == []  # the failed batch was rolled back


def test_missing_store_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no snapshot store"):
        Store(tmp_path / "nothing").snapshots_of("NCT09900001")


def test_multi_study_json_stores_each_study_on_its_own(tmp_path: Path, corpus_dir: Path) -> None:
    from auditor.readers import read_path

    source = corpus_dir / "dgg32__clinical-trials-public" / "ctg-studies.json"
    originals = {r.nct_id: r for r in read_path(source)}
    store = Store(tmp_path / "s")
    result = store.add([source])
    assert not result.errors and len(result.added) == len(originals)
    for nct_id, original in list(originals.items())[:5]:
        (entry,) = store.snapshots_of(nct_id)
        data = (tmp_path / "s" / entry.path).read_bytes()
        element = json.loads(data)
        assert element["protocolSection"]["identificationModule"]["nctId"] == nct_id
        loaded = store.load(entry)
        assert [(f.key, f.raw) for f in loaded.fields] == [(f.key, f.raw) for f in original.fields]
    assert store.add([source]).added == ()


def _corpus_versions(corpus_dir: Path) -> list[tuple[Path, tuple[str, str]]]:
    """Every multi-version file of the corpus with its registry dates from the sets' indexes."""
    out: list[tuple[Path, tuple[str, str]]] = []
    partrita = corpus_dir / "partrita__clinicaltrial-watch-tigit"
    with open(partrita / "versions_index.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            out.append((partrita / row["file"], (row["last_update_submit_date"], row["version_holder"])))
    aact = corpus_dir / "ctti-clinicaltrials__aact"
    with open(aact / "versions_index.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["format"] != "legacy_xml" or not row["file"].startswith("xml_versions/"):
                continue
            if row["nct_id"] == "NCT02654730" and "6dbeeb5" in row["file"]:
                continue  # the one malformed file (see the corpus README)
            updated = parse_date(row["last_update_submitted"])
            downloaded = parse_date(row["download_date"])
            assert updated is not None and downloaded is not None
            out.append((aact / row["file"], (updated.isoformat(), downloaded.isoformat())))
    return out


@pytest.mark.corpus
def test_corpus_versions_added_shuffled_come_out_in_date_order(tmp_path: Path, corpus_dir: Path) -> None:
    versions = _corpus_versions(corpus_dir)
    dates = {hashlib.sha256(p.read_bytes()).hexdigest(): d for p, d in versions}
    shuffled = [p for p, _ in versions]
    random.Random(5).shuffle(shuffled)
    store = Store(tmp_path / "s")
    result = store.add(shuffled)
    assert result.errors == ()
    # Repo-edited AACT fixtures share their dates with another version: kept, as conflicts.
    stored = len(result.added) + len(result.unchanged)
    assert stored == len(versions)
    records = {p.parent.name for p, _ in versions}
    for nct_id in records:
        entries = store.snapshots_of(nct_id)
        expected = [dates[e.sha256] for e in entries if e.sha256 in dates]
        assert len(expected) == len(entries)
        assert expected == sorted(expected), nct_id
    assert store.verify(repair=False).clean


def test_several_study_pages_in_one_file_are_stored_one_per_file(tmp_path: Path) -> None:
    pages = [(NIGHT1 / f"NCT0990000{i}.txt").read_text(encoding="utf-8") for i in (2, 3)]
    combined = tmp_path / "both.txt"
    combined.write_text("".join(pages), encoding="utf-8")
    store = Store(tmp_path / "s")
    result = store.add([combined])
    assert not result.errors and len(result.added) == 2
    for i, text in zip((2, 3), pages, strict=True):
        (entry,) = store.snapshots_of(f"NCT0990000{i}")
        assert (tmp_path / "s" / entry.path).read_text(encoding="utf-8") == text
    # The same pages added from their own files are recognised as already there.
    assert len(store.add([NIGHT1 / "NCT09900002.txt", NIGHT1 / "NCT09900003.txt"]).unchanged) == 2


def test_records_can_be_added_directly(tmp_path: Path) -> None:
    from auditor.readers import read_path

    records = read_path(NIGHT1)
    store = Store(tmp_path / "s")
    result = store.add(records)
    assert len(result.added) == 5 and not result.errors
    assert store.add([NIGHT1]).added == ()


@pytest.mark.corpus
def test_classic_api_search_response_is_split_into_readable_studies(tmp_path: Path, corpus_dir: Path) -> None:
    source = corpus_dir / "ctti-clinicaltrials__aact" / "other" / "covid-19-search.json"
    store = Store(tmp_path / "s")
    result = store.add([source])
    assert not result.errors and len(result.added) == 100
    entry = result.added[17]
    assert store.load(entry).nct_id == entry.nct_id


@pytest.mark.corpus
def test_json_capture_date_going_backwards_is_a_finding(tmp_path: Path, corpus_dir: Path) -> None:
    folder = corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions" / "NCT04514484"
    first, second = sorted(folder.iterdir())[:2]
    late = json.loads(second.read_text(encoding="utf-8"))
    assert late["derivedSection"]["miscInfoModule"]["versionHolder"] == "2026-02-09"
    late["derivedSection"]["miscInfoModule"]["versionHolder"] = "2026-01-01"  # before the first capture
    edited_file = tmp_path / "in" / "late.json"
    edited_file.parent.mkdir()
    edited_file.write_text(json.dumps(late), encoding="utf-8")
    store = Store(tmp_path / "s")
    store.add([first, edited_file])
    (finding,) = history_findings(store)
    assert finding.rule_id == "history-modification-date-backwards"
    assert dict(finding.values) == {"old": "2026-02-04", "new": "2026-01-01"}
    assert "captured earlier" in finding.message


def test_snapshot_file_symlink_is_not_followed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.add([NIGHT1 / "NCT09900001.txt"])
    (entry,) = store.snapshots_of("NCT09900001")
    path = tmp_path / "s" / entry.path
    outside = tmp_path / "secret.txt"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    os.symlink(outside, path)
    with pytest.raises(StoreError, match="symlink"):
        store.load(entry)
    problems = store.verify(repair=True).problems
    assert {p.kind for p in problems} == {"unexpected-entry", "missing-file"}
    assert outside.exists()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(sorted(NIGHT1.glob("*.txt")) + sorted(NIGHT2.glob("*.txt"))))
def test_any_adding_order_gives_the_same_store(tmp_path: Path, order: list[Path]) -> None:
    root = tmp_path / f"s{abs(hash(tuple(order)))}"
    store = Store(root)
    for path in order:  # one add per file: the worst case for ordering
        store.add([path])
    listing = [(e.path, e.order_key) for n in store.nct_ids() for e in store.snapshots_of(n)]
    reference = Store(tmp_path / "reference")
    if not reference.root.exists():
        reference.add([NIGHT1, NIGHT2])
    assert listing == [(e.path, e.order_key) for n in reference.nct_ids() for e in reference.snapshots_of(n)]
    shutil.rmtree(root)
