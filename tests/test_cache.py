"""The Parquet cache: a warm run gives the cold run's table and errors and parses only changes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas.testing as pdt
import pytest

from auditor.run.cache import MANIFEST, RecordCache
from auditor.run.parse import parse_table


@pytest.fixture()
def inputs(tmp_path: Path, corpus_dir: Path, seed_path: Path) -> Path:
    """Twelve JSON snapshots, a legacy XML one, an Ignite page and a bad file."""
    root = tmp_path / "in"
    root.mkdir()
    versions = sorted((corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions").rglob("*.json"))
    for path in versions[:12]:
        shutil.copy(path, root / f"{path.parent.name}_{path.name}")
    xml = sorted((corpus_dir / "ctti-clinicaltrials__aact" / "xml_versions").rglob("*.xml"))[0]
    shutil.copy(xml, root / "legacy.xml")
    shutil.copy(seed_path, root / "seed.txt")
    (root / "broken.json").write_text('{"protocolSection": ')
    return root


def run(cache_dir: Path, root: Path, **kwargs: object) -> tuple:
    table, errors, stats, _ = RecordCache(cache_dir, **kwargs).table([root], jobs=1)
    return table, [e.one_line() for e in errors], stats


def assert_same_as_uncached(root: Path, table: object, errors: list[str]) -> None:
    expected, expected_errors, _ = parse_table([root], jobs=1)
    pdt.assert_frame_equal(table, expected)
    assert errors == [e.one_line() for e in expected_errors]


def test_warm_run_reads_nothing_and_gives_the_same_table(tmp_path: Path, inputs: Path) -> None:
    cache = tmp_path / "cache"
    cold, cold_errors, stats = run(cache, inputs)
    assert (stats.inputs, stats.parsed, stats.reused_by_stat) == (15, 15, 0)
    assert_same_as_uncached(inputs, cold, cold_errors)
    assert any("broken.json" in e for e in cold_errors)

    warm, warm_errors, stats = run(cache, inputs)
    # Everything but the Ignite page (never cached: module pages merge across files) is reused
    # from a stat alone; the bad file's error is remembered, not lost.
    assert (stats.reused_by_stat, stats.reused_by_hash, stats.parsed) == (14, 0, 1)
    pdt.assert_frame_equal(warm, cold)
    assert warm_errors == cold_errors


def test_only_changed_files_are_parsed(tmp_path: Path, inputs: Path) -> None:
    cache = tmp_path / "cache"
    run(cache, inputs)
    changed = sorted(inputs.glob("NCT*.json"))[3]
    study = json.loads(changed.read_bytes())
    study["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    changed.write_text(json.dumps(study))
    touched = sorted(inputs.glob("NCT*.json"))[5]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    (inputs / "legacy.xml").unlink()

    table, errors, stats = run(cache, inputs)
    assert stats.inputs == 14
    assert stats.reused_by_hash == 1  # touched, same bytes
    assert stats.parsed == 2  # the changed file and the Ignite page
    assert stats.reused_by_stat == 11
    assert table.loc[table["snapshot"] == str(changed), "overall_status"].tolist() == ["WITHDRAWN"]
    assert_same_as_uncached(inputs, table, errors)

    # A third run after the change is fully warm again (the touched file's new mtime was kept).
    again, _, stats = run(cache, inputs)
    assert (stats.reused_by_stat, stats.parsed) == (13, 1)
    pdt.assert_frame_equal(again, table)


def test_dead_rows_are_compacted_away(tmp_path: Path, inputs: Path) -> None:
    cache = tmp_path / "cache"
    run(cache, inputs)
    for path in sorted(inputs.glob("NCT*.json"))[:9]:
        path.unlink()
    table, errors, stats = run(cache, inputs)
    assert stats.compacted
    assert_same_as_uncached(inputs, table, errors)
    manifest = json.loads((cache / MANIFEST).read_text())
    assert len(manifest["segments"]) == 1 and manifest["rows"] == len(table) - 1  # minus Ignite
    assert sorted(p.name for p in cache.glob("*.parquet")) == sorted(
        [manifest["units"], *(f"rows-{s:06d}.parquet" for s in manifest["segments"])]
    )


def test_a_code_change_or_a_broken_manifest_means_a_cold_run(tmp_path: Path, inputs: Path) -> None:
    cache = tmp_path / "cache"
    cold, _, _ = run(cache, inputs)
    manifest = json.loads((cache / MANIFEST).read_text())
    manifest["fingerprint"] = "0" * 64
    (cache / MANIFEST).write_text(json.dumps(manifest))
    table, _, stats = run(cache, inputs)
    assert stats.parsed == stats.inputs == 15
    pdt.assert_frame_equal(table, cold)

    (cache / MANIFEST).write_text("{not json")
    table, _, stats = run(cache, inputs)
    assert stats.parsed == 15
    pdt.assert_frame_equal(table, cold)


def test_verify_hashes_every_file(tmp_path: Path, inputs: Path) -> None:
    cache = tmp_path / "cache"
    run(cache, inputs)
    _, _, stats = run(cache, inputs, verify=True)
    assert (stats.reused_by_stat, stats.reused_by_hash, stats.parsed) == (0, 14, 1)


def test_a_narrow_run_reads_some_columns_but_keeps_every_column(tmp_path: Path, inputs: Path) -> None:
    cache = tmp_path / "cache"
    full, _, _ = run(cache, inputs)
    columns = ["nct_id", "snapshot", "overall_status", "status_verified_date"]
    narrow, _, stats, _ = RecordCache(cache).table([inputs], jobs=1, columns=columns)
    assert stats.parsed == 1  # the Ignite page
    pdt.assert_frame_equal(narrow, full[columns])
    # Changes and a compaction during narrow runs still leave every column in the cache.
    for path in sorted(inputs.glob("NCT*.json"))[:9]:
        path.unlink()
    narrow, errors, stats, _ = RecordCache(cache).table([inputs], jobs=1, columns=columns)
    assert stats.compacted
    table, errors, stats = run(cache, inputs)
    assert stats.parsed == 1
    assert_same_as_uncached(inputs, table, errors)
    pdt.assert_frame_equal(narrow, table[columns])


def test_a_warm_run_with_nothing_new_writes_nothing(tmp_path: Path, inputs: Path) -> None:
    (inputs / "seed.txt").unlink()  # Ignite pages are parsed on every run, never cached
    cache = tmp_path / "cache"
    cold, cold_errors, _ = run(cache, inputs)
    written = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    manifest = (cache / MANIFEST).read_text()
    warm, warm_errors, stats = run(cache, inputs)
    assert stats.reused_by_stat == stats.inputs and not stats.parsed
    pdt.assert_frame_equal(warm, cold)
    assert warm_errors == cold_errors
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == written
    assert (cache / MANIFEST).read_text() == manifest
    (inputs / "broken.json").unlink()  # an input gone: the index changes
    _, errors, _ = run(cache, inputs)
    assert (cache / MANIFEST).read_text() != manifest
    assert not any("broken.json" in e for e in errors)
    assert not any("broken.json" in e for e in run(cache, inputs)[1])


def test_rows_that_cannot_be_read_mean_a_cold_run(
    tmp_path: Path, inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are read on a thread while the inputs are listed; if that read fails (a damaged
    segment whose footer still reads), the run starts again without the cache."""
    cache = tmp_path / "cache"
    run(cache, inputs)

    def broken(self: RecordCache, segments: list[int]) -> None:
        raise OSError("damaged segment")

    monkeypatch.setattr(RecordCache, "_read_rows", broken)
    table, errors, stats = run(cache, inputs)
    assert stats.parsed == stats.inputs
    assert_same_as_uncached(inputs, table, errors)


def test_the_write_can_finish_after_the_table_is_returned(tmp_path: Path, inputs: Path) -> None:
    from auditor.errors import OutputError

    cache = RecordCache(tmp_path / "cache")
    table, _, _, _ = cache.table([inputs], jobs=1, wait=False)
    cache.wait()
    warm, _, stats = run(tmp_path / "cache", inputs)
    assert stats.reused_by_stat == stats.inputs - 1  # all but the Ignite page
    pdt.assert_frame_equal(warm, table)
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    blocked = RecordCache(tmp_path / "blocked")
    blocked.table([inputs], jobs=1, wait=False)
    with pytest.raises(OutputError, match="cannot write the cache"):
        blocked.wait()
