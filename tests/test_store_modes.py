"""File modes: what the auditor writes (stored snapshots, the index, ``-o`` reports, report
folders) follows the umask, as ``open`` and ``mkdir`` do, and a replaced file keeps its mode.

Shared stores and report folders are read by a team and a web server; 0600 files (what
``tempfile`` makes) would lock them out."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.cli import main

HOSTILE = Path(__file__).parent / "hostile"
GOOD = HOSTILE / "good" / "good.txt"
AS_OF = "2026-01-01"


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def written(tmp_path: Path) -> dict[str, list[Path]]:
    """Run every writer once: the store, a ``-o`` report, a staleness report folder."""
    store, reports = tmp_path / "store", tmp_path / "reports"
    assert main(["snapshot", "add", "--store", str(store), str(GOOD)]) == 0
    assert main(["check", "--as-of", AS_OF, "-o", str(tmp_path / "findings.txt"), str(GOOD)]) in (0, 1)
    argv = ["report", "staleness", "--as-of", AS_OF, "--out", str(reports), "-j", "1", str(GOOD)]
    assert main(argv) in (0, 1)
    snapshots = list(store.glob("NCT*/*"))
    assert snapshots
    return {
        "files": [*snapshots, store / "index.sqlite", store / ".lock", tmp_path / "findings.txt"]
        + [p for p in (reports / AS_OF).rglob("*") if p.is_file()],
        "folders": [store, snapshots[0].parent, reports / AS_OF],
    }


@pytest.mark.parametrize(("mask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_new_files_follow_the_umask(
    tmp_path: Path, mask: int, file_mode: int, folder_mode: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with umask(mask):
        made = written(tmp_path)
    capsys.readouterr()
    assert {p.name: oct(mode(p)) for p in made["files"]} == {p.name: oct(file_mode) for p in made["files"]}
    assert {p.name: oct(mode(p)) for p in made["folders"]} == {
        p.name: oct(folder_mode) for p in made["folders"]
    }


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "findings.txt"
    target.write_text("previous", encoding="utf-8")
    target.chmod(0o640)
    with umask(0o077):  # the umask would say 0600; the file says 0640
        assert main(["check", "--as-of", AS_OF, "-o", str(target), str(GOOD)]) in (0, 1)
    capsys.readouterr()
    assert target.read_text(encoding="utf-8") != "previous"
    assert mode(target) == 0o640


def test_a_rebuilt_index_keeps_the_mode_of_the_broken_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    assert main(["snapshot", "add", "--store", str(store), str(GOOD)]) == 0
    index = store / "index.sqlite"
    index.write_bytes(b"not a database" * 100)
    index.chmod(0o640)
    assert main(["snapshot", "verify", "--repair", "--store", str(store)]) == 0
    capsys.readouterr()
    assert mode(index) == 0o640 and list(store.glob("index.sqlite.bad-*"))
