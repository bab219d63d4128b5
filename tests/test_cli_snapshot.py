"""``audit snapshot add|list|verify``: exit codes, output, and an add killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.store import Store

BATCH = 40

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENTRY = [sys.executable, "-c", "from auditor.cli import entry_point; entry_point()"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s")
    code, out, err = run(capsys, "snapshot", "add", "--store", store, str(EXAMPLES))
    assert code == 0, err
    assert out.startswith("11 added, 0 unchanged, 0 conflicts, 0 errors")
    code, out, _ = run(
        capsys, "snapshot", "add", "--store", store, "--format", "json", str(EXAMPLES / "2026-11-24")
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["added"] == [] and len(doc["unchanged"]) == 5

    code, out, _ = run(capsys, "snapshot", "list", "--store", store)
    header, *lines = out.splitlines()
    assert code == 0 and len(lines) == 6 and header.split()[:2] == ["nct_id", "snapshots"]
    assert lines[0].split()[:2] == ["NCT09900001", "2"]
    code, out, _ = run(capsys, "snapshot", "list", "--store", store, "--format", "json", "NCT09900002")
    entries = json.loads(out)
    assert [e["ignite_modified"] for e in entries] == ["2026-11-24T02:10", "2026-11-25T02:12"]

    code, out, _ = run(capsys, "snapshot", "verify", "--store", store)
    assert code == 0 and "11 snapshot files checked, 0 problems, store clean" in out


def test_add_exit_codes_for_bad_input_and_conflicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s")
    bad = tmp_path / "bad.txt"
    bad.write_text("hello, not a record\n", encoding="utf-8")
    code, out, err = run(capsys, "snapshot", "add", "--store", store, str(bad), str(EXAMPLES / "2026-11-24"))
    assert code == 2 and "bad.txt" in err and out.startswith("5 added")
    page = (EXAMPLES / "2026-11-24" / "NCT09900003.txt").read_text(encoding="utf-8")
    edited = tmp_path / "in" / "NCT09900003.txt"
    edited.parent.mkdir()
    edited.write_text(page.replace("Sponsor: ", "Sponsor: Other "), encoding="utf-8")
    code, out, err = run(capsys, "snapshot", "add", "--store", store, str(edited))
    assert code == 1 and "conflict" in err and "both kept" in err and out.startswith("1 added")


def test_list_and_verify_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "snapshot", "list", "--store", str(tmp_path / "none"))
    assert code == 2 and "no snapshot store" in err
    run(capsys, "snapshot", "add", "--store", str(tmp_path / "s"), str(EXAMPLES))
    code, _, err = run(capsys, "snapshot", "list", "--store", str(tmp_path / "s"), "NCT1")
    assert code == 2 and "invalid NCT ID" in err
    victim = next((tmp_path / "s" / "NCT09900001").iterdir())
    victim.unlink()
    code, out, _ = run(capsys, "snapshot", "verify", "--no-repair", "--store", str(tmp_path / "s"))
    assert code == 1 and "missing-file" in out and "NOT clean" in out
    code, out, _ = run(capsys, "snapshot", "verify", "--repair", "--store", str(tmp_path / "s"))
    assert code == 0 and "(repaired)" in out


def _many_pages(folder: Path, count: int) -> None:
    """``count`` distinct small study pages (fictional NCT IDs) made from one example page."""
    page = (EXAMPLES / "2026-11-24" / "NCT09900003.txt").read_text(encoding="utf-8")
    folder.mkdir()
    for i in range(count):
        nct_id = f"NCT0980{i:04d}"
        (folder / f"{nct_id}.txt").write_text(page.replace("NCT09900003", nct_id), encoding="utf-8")


@pytest.mark.slow
def test_killed_add_leaves_a_store_that_verifies_clean(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    _many_pages(inputs, 12 * BATCH)
    store = tmp_path / "s"
    proc = subprocess.Popen(
        [*ENTRY, "snapshot", "add", "--batch-size", str(BATCH), "--store", str(store), str(inputs)]
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        folders = [p for p in store.iterdir()] if store.is_dir() else []
        if sum(1 for p in folders if p.name.startswith("NCT")) >= 2 * BATCH + BATCH // 2:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the add finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    check = subprocess.run(
        [*ENTRY, "snapshot", "verify", "--repair", "--store", str(store)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "store clean" in check.stdout
    again = subprocess.run(
        [*ENTRY, "snapshot", "verify", "--no-repair", "--store", str(store)], capture_output=True, text=True
    )
    assert again.returncode == 0 and "0 problems" in again.stdout
    s = Store(store)
    ids = s.nct_ids()
    # Whole batches only: the interrupted one was rolled back.
    assert len(ids) >= 2 * BATCH and len(ids) % BATCH == 0
    assert not list(store.rglob("*.tmp"))
    on_disk = sorted(p.relative_to(store).as_posix() for p in store.glob("NCT*/*"))
    assert on_disk == sorted(e.path for n in ids for e in s.snapshots_of(n))
    for nct_id in ids[:: max(1, len(ids) // 10)]:
        (entry,) = s.snapshots_of(nct_id)
        assert s.load(entry).nct_id == nct_id
    # Adding again completes the job.
    result = s.add([inputs])
    assert len(result.added) + len(result.unchanged) == 12 * BATCH


def test_two_adds_at_once_store_each_snapshot_once(tmp_path: Path) -> None:
    """The lock is taken batch by batch (never while inputs are read), so two adds of the same
    inputs interleave: between them every snapshot is added exactly once, each add accounts for
    every input (added or found there), and the store verifies clean."""
    inputs = tmp_path / "in"
    _many_pages(inputs, 60)
    store = tmp_path / "s"
    procs = [
        subprocess.Popen(
            [*ENTRY, "snapshot", "add", "--batch-size", "7", "--store", str(store), str(inputs)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    counts = [[int(part.split()[0]) for part in o.split("(")[0].split(",")] for o in outputs]
    assert sum(c[0] for c in counts) == 60  # added: each snapshot by exactly one of them
    assert all(c[0] + c[1] == 60 and c[2:] == [0, 0] for c in counts)  # added + unchanged
    s = Store(store)
    assert len(s.nct_ids()) == 60 and s.verify(repair=False).problems == ()
    assert all(len(s.snapshots_of(n)) == 1 for n in s.nct_ids())
