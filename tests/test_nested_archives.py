"""Archives inside archives: read in place to three levels, bombs refused by name, nothing
skipped without a word.

Archives are made here from real corpus studies; the oracle lists what they hold with
``zipfile``/``tarfile`` directly and reads each study's NCT ID with ``json``.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

import auditor.inputs
from auditor.cli import main
from auditor.errors import InputError
from auditor.inputs import MAX_ARCHIVE_DEPTH, list_inputs
from auditor.readers import read_paths
from auditor.records import Record

JSON_VERSIONS = "ctti-clinicaltrials__aact/json_versions"


@pytest.fixture(scope="module")
def studies(corpus_dir: Path) -> dict[str, bytes]:
    """Five real API v2 studies, ``{file name: bytes}``."""
    files = [
        p
        for p in sorted((corpus_dir / JSON_VERSIONS).rglob("*.json"))
        if b'"protocolSection"' in p.read_bytes()
    ]
    assert len(files) >= 5
    return {f"{path.parent.name}_{path.name}": path.read_bytes() for path in files[:5]}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def nct_of(data: bytes) -> str:
    return json.loads(data)["protocolSection"]["identificationModule"]["nctId"]  # type: ignore[no-any-return]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_zip_inside_a_tar_gz_is_read_in_place(tmp_path: Path, studies: dict[str, bytes]) -> None:
    """The issue's case: 5 records in a zip in a tar.gz used to vanish without a word."""
    outer = tmp_path / "export.tar.gz"
    outer.write_bytes(tar_gz_bytes({"batch/inner.zip": zip_bytes(studies), "notes.csv": b"a,b\n"}))
    records = list(read_paths([outer]))
    assert all(isinstance(r, Record) for r in records)
    assert sorted(r.nct_id for r in records) == sorted(nct_of(data) for data in studies.values())  # type: ignore[union-attr]
    names = {r.source.path for r in records}  # type: ignore[union-attr]
    assert names == {f"{outer}!batch/inner.zip!{name}" for name in studies}


def test_nested_archives_through_the_cli(
    tmp_path: Path, studies: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    outer = tmp_path / "export.zip"
    outer.write_bytes(zip_bytes({"inner.zip": zip_bytes(studies)}))
    code, out, err = run(capsys, "parse", str(outer))
    assert code == 0, err
    assert sorted(r["nct_id"] for r in json.loads(out)["records"]) == sorted(map(nct_of, studies.values()))
    code, _, err = run(capsys, "check", str(outer), "--as-of", "2026-01-01", "--fail-on", "error")
    assert f"checked {len(studies)} snapshots" in err


def test_deeper_than_three_levels_is_one_error_and_the_rest_is_read(
    tmp_path: Path, studies: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    names = sorted(studies)
    level4 = zip_bytes({names[3]: studies[names[3]]})
    level3 = zip_bytes({names[2]: studies[names[2]], "deeper.zip": level4})
    level2 = zip_bytes({names[1]: studies[names[1]], "l3.zip": level3})
    outer = tmp_path / "l1.zip"
    outer.write_bytes(zip_bytes({names[0]: studies[names[0]], "l2.zip": level2}))
    assert MAX_ARCHIVE_DEPTH == 3
    items = list(list_inputs([outer]))
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.path, e.message) for e in errors] == [
        (
            f"{outer}!l2.zip!l3.zip!deeper.zip",
            "archive nested more than 3 levels deep (an archive bomb?); not read",
        )
    ]
    assert len(items) == 4  # three studies, one error
    code, out, err = run(capsys, "parse", str(outer))
    assert code == 2
    assert err.splitlines() == [f"audit: error: {outer}!l2.zip!l3.zip!deeper.zip: {errors[0].message}"]
    assert len(json.loads(out)["records"]) == 3


def test_an_archive_that_contains_itself_stops_at_the_depth_limit(
    tmp_path: Path, studies: dict[str, bytes]
) -> None:
    """A zip quine's listing is endless; here, a zip holding itself as far as we let it."""
    name, data = next(iter(studies.items()))
    inner = zip_bytes({name: data})
    for _ in range(10):
        inner = zip_bytes({name: data, "again.zip": inner})
    (tmp_path / "quine.zip").write_bytes(inner)
    items = list(list_inputs([tmp_path / "quine.zip"]))
    assert sum(isinstance(i, InputError) for i in items) == 1
    assert sum(not isinstance(i, InputError) for i in items) == MAX_ARCHIVE_DEPTH


def test_an_inner_archive_that_expands_too_far_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, studies: dict[str, bytes]
) -> None:
    monkeypatch.setattr(auditor.inputs, "MAX_NESTED_EXPANSION", 10_000)
    names = sorted(studies)
    big = {f"{i:02d}_{name}": studies[name] for i in range(5) for name in names}  # ~25 studies
    outer = tmp_path / "bomb.tar.gz"
    outer.write_bytes(tar_gz_bytes({"a.json": studies[names[0]], "inner.zip": zip_bytes(big)}))
    items = list(list_inputs([outer]))
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(errors) == 1
    assert errors[0].path == f"{outer}!inner.zip"
    assert "expands to more than 10000 bytes (an archive bomb?)" in errors[0].message
    read = [i for i in items if not isinstance(i, InputError)]
    assert read[0].name == f"{outer}!a.json"  # the outer archive's own members are not counted
    assert 1 <= len(read) - 1 < len(big)


def test_a_broken_inner_archive_is_named(tmp_path: Path, studies: dict[str, bytes]) -> None:
    name, data = next(iter(studies.items()))
    outer = tmp_path / "outer.zip"
    outer.write_bytes(zip_bytes({"bad.tar.gz": b"not gzip at all", name: data}))
    items = list(list_inputs([outer]))
    errors = [i for i in items if isinstance(i, InputError)]
    assert [e.path for e in errors] == [f"{outer}!bad.tar.gz"]
    assert errors[0].message.startswith("unreadable archive")
    assert [i.name for i in items if not isinstance(i, InputError)] == [f"{outer}!{name}"]
