"""``Store.verify``: every way the index and the files can disagree, found and repaired."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from auditor.errors import StoreError
from auditor.store import INDEX_NAME, Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s")
    s.add([EXAMPLES])
    s.close()
    return Store(tmp_path / "s")


def kinds(result: object) -> list[str]:
    return sorted(p.kind for p in result.problems)  # type: ignore[attr-defined]


def snapshot_paths(store: Store) -> list[str]:
    return sorted(e.path for n in store.nct_ids() for e in store.snapshots_of(n))


def test_a_fresh_store_verifies_clean(store: Store) -> None:
    result = store.verify(repair=False)
    assert result.clean and result.checked == 11 and result.problems == ()


def test_missing_file_drops_its_row(store: Store) -> None:
    victim = store.snapshots_of("NCT09900003")[0]
    (store.root / victim.path).unlink()
    assert kinds(store.verify(repair=False)) == ["missing-file"]
    result = store.verify(repair=True)
    assert result.clean and kinds(result) == ["missing-file"]
    paths = [e.path for e in store.snapshots_of("NCT09900003")]
    assert paths != [] and victim.path not in paths
    assert store.verify(repair=False).problems == ()


def test_corrupt_file_is_quarantined_not_deleted(store: Store) -> None:
    victim = store.snapshots_of("NCT09900004")[1]
    path = store.root / victim.path
    path.write_bytes(path.read_bytes().replace(b"Status", b"Statvs", 1))
    with pytest.raises(StoreError, match="does not match its hash"):
        store.load(victim)
    result = store.verify(repair=True)
    assert kinds(result) == ["corrupt-file"] and result.clean
    assert (store.root / ".quarantine" / victim.path).is_file()
    assert victim.path not in snapshot_paths(store)
    assert store.verify(repair=False).problems == ()


def test_files_missing_from_the_index_are_indexed_again(store: Store) -> None:
    before = snapshot_paths(store)
    conn = sqlite3.connect(store.root / INDEX_NAME)
    conn.execute("DELETE FROM snapshots WHERE nct_id = 'NCT09900005'")
    conn.commit()
    conn.close()
    assert kinds(store.verify(repair=False)) == ["unindexed-file", "unindexed-file"]
    assert store.verify(repair=True).clean
    assert snapshot_paths(store) == before


@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_lost_or_broken_index_is_rebuilt_from_the_files(store: Store, damage: str) -> None:
    before = [(e.path, e.order_key, e.content_sha) for n in store.nct_ids() for e in store.snapshots_of(n)]
    store.close()
    for suffix in ("", "-wal", "-shm"):
        (store.root / (INDEX_NAME + suffix)).unlink(missing_ok=True)
    if damage == "garbage":
        (store.root / INDEX_NAME).write_bytes(b"this is not a database" * 100)
    fresh = Store(store.root)
    if damage == "delete":
        with pytest.raises(StoreError, match="no index"):
            fresh.snapshots_of("NCT09900001")
    assert not fresh.verify(repair=False).clean
    result = fresh.verify(repair=True)
    assert result.clean
    after = [(e.path, e.order_key, e.content_sha) for n in fresh.nct_ids() for e in fresh.snapshots_of(n)]
    assert after == before
    if damage == "garbage":
        assert list(store.root.glob(f"{INDEX_NAME}.bad-*"))


def test_temp_files_and_strangers(store: Store) -> None:
    folder = store.root / "NCT09900001"
    name = next(folder.iterdir()).name
    (folder / f".{name}.abc123.tmp").write_bytes(b"half a file")
    (folder / "notes.md").write_text("left by a person", encoding="utf-8")
    result = store.verify(repair=True)
    assert kinds(result) == ["temp-file", "unexpected-entry"]
    assert not result.clean  # the stranger is reported, never deleted
    assert not (folder / f".{name}.abc123.tmp").exists() and (folder / "notes.md").exists()


def test_interrupted_batch_is_rolled_back(store: Store, tmp_path: Path) -> None:
    """A pending row (an add killed between its two index transactions) and the files it left."""
    before = snapshot_paths(store)
    new = tmp_path / "in" / "NCT09900007.txt"
    new.parent.mkdir()
    new.write_text(
        (EXAMPLES / "2026-11-24" / "NCT09900003.txt")
        .read_text(encoding="utf-8")
        .replace("NCT09900003", "NCT09900007"),
        encoding="utf-8",
    )
    other = Store(tmp_path / "other")
    (entry,) = other.add([new]).added
    conn = sqlite3.connect(store.root / INDEX_NAME)
    row = sqlite3.connect(other.root / INDEX_NAME).execute("SELECT * FROM snapshots").fetchone()
    conn.execute(f"INSERT INTO snapshots VALUES ({', '.join('?' * len(row))})", (*row[:-1], 1))
    conn.commit()
    conn.close()
    target = store.root / entry.path
    target.parent.mkdir()
    shutil.copy(other.root / entry.path, target)
    (target.parent / f".{target.name}.xyz.tmp").write_bytes(b"partial")
    assert snapshot_paths(store) == before  # readers never see pending rows
    assert kinds(store.verify(repair=False)) == ["interrupted-add", "temp-file", "unindexed-file"]
    result = store.verify(repair=True)
    assert result.clean and kinds(result) == ["interrupted-add"]
    assert not target.parent.exists()
    assert snapshot_paths(store) == before


def tree(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Everything under ``root``: kind, mode and bytes of each entry (what "untouched" means)."""
    out: dict[str, tuple[str, int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = "dir" if path.is_dir() else "file"
        out[path.relative_to(root).as_posix()] = (
            kind,
            info.st_mode,
            path.read_bytes() if kind == "file" else b"",
        )
    return out


def damage(store: Store, how: str) -> str:
    """Break the store in one way; the path the problem line must name."""
    store.close()
    if how == "corrupt":
        victim = store.snapshots_of("NCT09900004")[1].path
        path = store.root / victim
        path.write_bytes(path.read_bytes().replace(b"Status", b"Statvs", 1))
        store.close()
        return victim
    if how == "temp-file":
        folder = store.root / "NCT09900001"
        name = f".{next(folder.iterdir()).name}.abc123.tmp"
        (folder / name).write_bytes(b"half a file")
        return f"NCT09900001/{name}"
    (store.root / INDEX_NAME).write_bytes(b"this is not a database" * 100)
    return INDEX_NAME


@pytest.mark.parametrize("how", ["corrupt", "temp-file", "garbage-index"])
def test_verify_only_checks_and_verify_repair_repairs(
    store: Store, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.cli import main

    named = damage(store, how)
    before = tree(store.root)
    code = main(["snapshot", "verify", "--store", str(store.root)])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    problems = out.splitlines()[:-1]
    assert len(problems) == 1 and problems[0].startswith(f"{named}: ") and "(not repaired)" in problems[0]
    assert "NOT clean" in out.splitlines()[-1] and "--repair" in out.splitlines()[-1]
    assert tree(store.root) == before  # byte for byte, modes included; nothing created

    code = main(["snapshot", "verify", "--repair", "--store", str(store.root)])
    out, _ = capsys.readouterr()
    assert code == 0 and "store clean" in out
    if how == "corrupt":
        assert f"(repaired: moved to .quarantine/{named})" in out
        assert (store.root / ".quarantine" / named).read_bytes() == before[named][2]
    assert main(["snapshot", "verify", "--store", str(store.root)]) == 0
    assert "0 problems, store clean" in capsys.readouterr().out


def test_check_only_verify_of_an_empty_folder_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    result = Store(tmp_path / "s").verify()
    assert result.clean and result.checked == 0
    assert list((tmp_path / "s").iterdir()) == []
