"""Parallel parsing gives exactly the sequential reader's table and errors, streaming."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pandas.testing as pdt
import pytest

from auditor.errors import InputError
from auditor.inputs import InputUnit, list_inputs, read_inputs
from auditor.readers import read_paths
from auditor.run.executor import ProcessExecutor, SequentialExecutor
from auditor.run.parse import ParseJob, parse_chunks, parse_table
from auditor.table import records_table

SMALL_SETS = (
    "partrita__clinicaltrial-watch-tigit/versions/NCT04457778",
    "ctti-clinicaltrials__aact/xml_versions/NCT00001177",
    "dgg32__clinical-trials-public",
)


def sequential(paths: list[Path]) -> tuple[object, list[str]]:
    items = list(read_paths(paths))
    errors = [i.one_line() for i in items if isinstance(i, InputError)]
    return records_table(i for i in items if not isinstance(i, InputError)), errors


@pytest.fixture()
def mixed_dir(tmp_path: Path, corpus_dir: Path, seed_path: Path) -> Path:
    """A folder with every kind of input: JSON study, JSON array, XML, Ignite text, a tar.gz,
    a bad JSON element, a binary file and a file that is no record."""
    root = tmp_path / "in"
    root.mkdir()
    versions = sorted((corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions").rglob("*.json"))
    for path in versions[:5]:
        shutil.copy(path, root / f"{path.parent.name}_{path.name}")
    xml = sorted((corpus_dir / "ctti-clinicaltrials__aact" / "xml_versions").rglob("*.xml"))[0]
    shutil.copy(xml, root / "legacy.xml")
    shutil.copy(seed_path, root / "seed.txt")
    studies = json.loads((corpus_dir / "dgg32__graph_bigquery" / "ctg-studies.json").read_bytes())
    (root / "array.json").write_text(json.dumps([studies[0], {"not": "a study"}, studies[1]]))
    (root / "binary.json").write_bytes(b"\x00\x01\x02garbage")
    (root / "notes.txt").write_text("just some notes\n")
    with tarfile.open(root / "pack.tar.gz", "w:gz") as archive:
        for n, study in enumerate(studies[2:6]):
            data = json.dumps(study).encode()
            info = tarfile.TarInfo(f"pack/s{n}.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return root


def test_same_table_and_errors_as_the_sequential_reader(mixed_dir: Path) -> None:
    expected, expected_errors = sequential([mixed_dir])
    table, errors, _ = parse_table([mixed_dir], jobs=2, chunk_size=3)
    pdt.assert_frame_equal(table, expected)
    assert [e.one_line() for e in errors] == expected_errors
    # Every kind of input made it: 5 + 1 + 1 (Ignite) + 2 (array) + 4 (archive) records.
    assert len(table) == 13
    assert (table["source_format"] == "ignite-text").sum() == 1
    assert any("binary" in e for e in expected_errors)
    assert any("array.json#1" in e for e in expected_errors)


@pytest.fixture(scope="module")
def small_sets(corpus_dir: Path) -> tuple[list[Path], object, list[str]]:
    paths = [corpus_dir / name for name in SMALL_SETS]
    return (paths, *sequential(paths))


@pytest.mark.parametrize("jobs,chunk_size", [(1, 1), (2, 7)])
def test_corpus_sets_parse_identically(small_sets: tuple, jobs: int, chunk_size: int) -> None:
    paths, expected, expected_errors = small_sets
    table, errors, _ = parse_table(paths, jobs=jobs, chunk_size=chunk_size)
    pdt.assert_frame_equal(table, expected)
    assert [e.one_line() for e in errors] == expected_errors
    assert len(table) > 60


def test_listing_follows_the_readers_order_without_reading_files(mixed_dir: Path) -> None:
    units = [u for u in list_inputs([mixed_dir]) if isinstance(u, InputUnit)]
    names = [item[0] for item in read_inputs([mixed_dir]) if not isinstance(item, InputError)]
    assert [u.name for u in units] == names
    on_disk = [u for u in units if "!" not in u.name]
    assert on_disk and all(u.data is None and u.size > 0 and u.mtime_ns > 0 for u in on_disk)
    assert all(u.data for u in units if "!" in u.name)  # archive members travel as bytes


def test_missing_input_is_an_error_not_a_crash(tmp_path: Path) -> None:
    table, errors, _ = parse_table([tmp_path / "nope.json"], jobs=1)
    assert len(table) == 0
    assert [e.one_line() for e in errors] == [f"{tmp_path / 'nope.json'}: no such file or directory"]


def test_unchanged_bytes_are_not_parsed_again(corpus_dir: Path) -> None:
    path = next((corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions").rglob("*.json"))
    here = SequentialExecutor()
    first = next(parse_chunks([InputUnit(str(path), str(path))], ParseJob(), here))
    sha = first.units[0].sha256
    again = next(parse_chunks([InputUnit(str(path), str(path), known_sha256=sha)], ParseJob(), here))
    assert first.units[0].rows == 1 and first.frame is not None
    assert again.units[0].unchanged and again.frame is None


pulled: list[int] = []


def _square(x: int) -> int:
    return x * x


def test_process_executor_keeps_order_and_bounds_the_work_in_flight() -> None:
    pulled.clear()

    def tasks() -> object:
        for n in range(40):
            pulled.append(n)
            yield n

    results = ProcessExecutor(2).map(_square, tasks())
    first = next(results)
    # Bounded: the first result arrives after at most 2 × jobs tasks were taken from the input.
    assert first == 0 and len(pulled) <= 4
    assert [first, *results] == [n * n for n in range(40)]


def test_columns_keep_only_what_is_asked(small_sets: tuple) -> None:
    paths, expected, _ = small_sets
    columns = ["nct_id", "snapshot", "overall_status"]
    table, _, _ = parse_table(paths, jobs=1, columns=columns)
    pdt.assert_frame_equal(table, expected[columns])
