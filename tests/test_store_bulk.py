"""Registry-scale bulk add (issue 17): ClinicalTrials.gov's bulk download, one zip of per-study
v2 JSON files (``NCTxxxxxxxx.json``), added in place — members read from the zip one by one,
never extracted, stored batch by batch (``bench/bulk_add.py`` measures 100,000 and more)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.store import Added, Store


@pytest.fixture()
def bulk_zip(tmp_path: Path, corpus_dir: Path) -> tuple[Path, dict[str, str]]:
    """A ``ctg-studies.json.zip`` of 120 real corpus studies, one member per study, and the
    oracle: each NCT ID with its lastUpdateSubmitDate, read with ``json`` directly."""
    source = corpus_dir / "UserZetsu__dtx-analysis" / "ctg-studies.json"
    studies = json.loads(source.read_text(encoding="utf-8"))[:120]
    expected: dict[str, str] = {}
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for study in studies:
            protocol = study["protocolSection"]
            nct_id = protocol["identificationModule"]["nctId"]
            expected[nct_id] = protocol["statusModule"]["lastUpdateSubmitDate"]
            out.writestr(f"{nct_id}.json", json.dumps(study, indent=2))
    return archive, expected


@pytest.mark.corpus
def test_a_bulk_download_zip_is_added_in_place(
    tmp_path: Path, bulk_zip: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    archive, expected = bulk_zip
    store = tmp_path / "s"
    code = main(["snapshot", "add", "--store", str(store), "--batch-size", "25", str(archive)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith(f"{len(expected)} added, 0 unchanged")
    s = Store(store)
    assert s.nct_ids() == sorted(expected)
    for nct_id in list(expected)[:10]:
        (entry,) = s.snapshots_of(nct_id)
        assert entry.modified == expected[nct_id]
        with zipfile.ZipFile(archive) as z:  # the member's own bytes, not a re-serialisation
            assert (store / entry.path).read_bytes() == z.read(f"{nct_id}.json")
    # Nothing was extracted: the only new things beside the zip are the store's.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctg-studies.json.zip", "s"]
    assert s.verify().problems == ()


@pytest.mark.corpus
def test_batches_are_stored_while_the_zip_is_still_being_read(
    tmp_path: Path, bulk_zip: tuple[Path, dict[str, str]]
) -> None:
    """Memory is bounded by the batch: the first batch is in the store (and readable by
    another process) before the rest of the archive is read."""
    archive, expected = bulk_zip
    store = Store(tmp_path / "s", batch_size=25)
    outcomes = store.add_each([archive])
    first = [next(outcomes) for _ in range(25)]
    assert all(isinstance(o, Added) for o in first)
    assert len(Store(tmp_path / "s").nct_ids()) == 25
    rest = list(outcomes)
    assert len(first) + len(rest) == len(expected)
    assert len(Store(tmp_path / "s").nct_ids()) == len(expected)
