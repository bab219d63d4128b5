"""Faults: a full disk, a read-only folder, an interrupted run and a lost or broken store index
never leave a half-written file, always give one clear line and the documented exit code, and
lose no data.

Disk full and read-only are real where this process may mount a small tmpfs (root with
CAP_SYS_ADMIN, as in our CI container); elsewhere those tests skip with the reason, and the
portable ones below still run: a file-size limit (RLIMIT_FSIZE) on a subprocess, and failures
injected into the library in-process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.cli import main

HOSTILE = Path(__file__).parent / "hostile"
GOOD = HOSTILE / "good" / "good.txt"
AS_OF = "2026-01-01"
AUDIT = [sys.executable, "-c", "from auditor.cli import entry_point; entry_point()"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(folder: Path) -> list[Path]:
    """Temp files and folders of atomic writes (``.name.XXXX.tmp``, ``.2026-01-01.tmp-XXXX``)."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]


def make_inputs(folder: Path, count: int, size: int = 20_000) -> list[Path]:
    """``count`` distinct studies of about ``size`` bytes each."""
    folder.mkdir(parents=True, exist_ok=True)
    text = GOOD.read_text(encoding="utf-8")
    paths = []
    for i in range(count):
        path = folder / f"s{i:03d}.txt"
        filler = "Detailed Description: " + f"word{i} " * (size // 8) + "\n"
        path.write_text(text.replace("NCT09000001", f"NCT0900{i + 1000:04d}") + filler, encoding="utf-8")
        paths.append(path)
    return paths


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


def fill(folder: Path, leave: int = 2048) -> None:
    """Fill the filesystem of ``folder`` up to ``leave`` bytes."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


# --- disk full ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["160k", "600k"])
def test_store_add_on_a_full_disk_loses_nothing(
    size: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 3 and one line; every batch is in the store or not at all; after space is freed the
    same add completes and the store verifies clean."""
    inputs = make_inputs(tmp_path / "in", 40)
    with tmpfs(tmp_path / "fs", size) as fs:
        store = fs / "store"
        code, _, err = run(
            ["snapshot", "add", "--store", str(store), "--batch-size", "8", str(tmp_path / "in")], capsys
        )
        assert code == 3, err
        assert err.startswith("audit: error: ") and len(err.splitlines()) == 1 and "full" in err
        assert not leftovers(fs)
        remount(fs, "size=8m")
        code, out, _ = run(["snapshot", "verify", "--repair", "--store", str(store)], capsys)
        assert code == 0, out
        code, out, err = run(
            ["snapshot", "add", "--store", str(store), "--format", "json", str(tmp_path / "in")], capsys
        )
        assert code == 0, err
        result = json.loads(out)
        assert len(result["added"]) + len(result["unchanged"]) == len(inputs)
        code, out, _ = run(["snapshot", "list", "--store", str(store)], capsys)
        assert len(out.splitlines()[1:]) == len(inputs)  # after the header


def _report_commands(out: Path, store: Path) -> dict[str, list[str]]:
    return {
        "parse": ["parse", "-o", str(out / "records.json"), str(GOOD)],
        "check": [
            "check",
            "--as-of",
            AS_OF,
            "--format",
            "sarif",
            "-o",
            str(out / "findings.sarif"),
            str(GOOD),
        ],
        "diff": ["diff", "--format", "html", "-o", str(out / "diff.html"), str(GOOD), str(GOOD)],
        "history": [
            "history",
            "--store",
            str(store),
            "--format",
            "html",
            "-o",
            str(out / "h.html"),
            "NCT09000001",
        ],
        "staleness": [
            "report",
            "staleness",
            "--as-of",
            AS_OF,
            "--out",
            str(out / "reports"),
            "-j",
            "1",
            str(GOOD),
        ],
    }


def test_reports_on_a_full_disk_keep_the_previous_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command writing a report: exit 3, one line naming the file, the earlier report
    intact, no temp file."""
    store = tmp_path / "store"
    assert main(["snapshot", "add", "--store", str(store), str(GOOD)]) == 0
    with tmpfs(tmp_path / "fs", "4m") as fs:
        commands = _report_commands(fs, store)
        for argv in commands.values():
            assert main(argv) in (0, 1)
        capsys.readouterr()
        before = {p: p.read_bytes() for p in fs.rglob("*") if p.is_file()}
        fill(fs, leave=1024)
        for name, argv in commands.items():
            code, _, err = run(argv, capsys)
            assert code == 3, (name, err)
            lines = [line for line in err.splitlines() if line.startswith("audit: error: ")]
            assert len(lines) == 1 and str(fs) in lines[0] and "No space left" in lines[0], (name, err)
            assert "Traceback" not in err
        (fs / "filler").unlink()
        assert not leftovers(fs)
        assert {p: p.read_bytes() for p in before} == before


def test_file_size_limit_in_a_subprocess(tmp_path: Path) -> None:
    """Portable disk-full: RLIMIT_FSIZE makes writes fail with EFBIG in a real ``audit`` run."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    big = make_inputs(tmp_path / "in", 1, size=40_000)[0]
    out = tmp_path / "records.json"
    out.write_text("previous", encoding="utf-8")
    done = subprocess.run(
        [*AUDIT, "parse", "-o", str(out), str(big)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("audit: error: ") and "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "previous"
    assert not leftovers(tmp_path)


# --- permission denied ---------------------------------------------------------------------------


def test_read_only_store_and_reports_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Root ignores file modes, so the folder is a read-only mount: exit 3, nothing changed."""
    with tmpfs(tmp_path / "fs", "4m") as fs:
        store = fs / "store"
        assert main(["snapshot", "add", "--store", str(store), str(GOOD)]) == 0
        capsys.readouterr()
        remount(fs, "ro")
        try:
            code, _, err = run(["snapshot", "add", "--store", str(store), str(HOSTILE / "crlf.txt")], capsys)
            assert code == 3 and "Read-only" in err and len(err.splitlines()) == 1, err
            argv = [
                "report",
                "staleness",
                "--as-of",
                AS_OF,
                "--out",
                str(fs / "reports"),
                "-j",
                "1",
                str(GOOD),
            ]
            code, _, err = run(argv, capsys)
            assert code == 3 and "Read-only" in err, err
            code, out, _ = run(
                ["history", "--store", str(store), "NCT09000001"], capsys
            )  # reading still works
            assert code == 0 and "NCT09000001" in out
        finally:
            remount(fs, "rw")
        code, out, _ = run(["snapshot", "verify", "--store", str(store)], capsys)
        assert code == 0, out


def test_write_failure_injected_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where no mount is possible: the final rename of a report and of the store's files fails."""

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    target = tmp_path / "findings.txt"
    target.write_text("previous", encoding="utf-8")
    store = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr("auditor.atomic.os.replace", denied)
        code, _, err = run(["check", "--as-of", AS_OF, "-o", str(target), str(GOOD)], capsys)
        assert code == 3 and "Permission denied" in err and str(target) in err
        patch.setattr("auditor.store.writer.os.replace", denied)
        code, _, err = run(["snapshot", "add", "--store", str(store), str(GOOD)], capsys)
        assert code == 3 and "Permission denied" in err
    assert target.read_text(encoding="utf-8") == "previous"
    assert not leftovers(tmp_path)
    code, out, _ = run(["snapshot", "verify", "--store", str(store)], capsys)
    assert code == 0, out
    code, out, _ = run(["snapshot", "list", "--store", str(store)], capsys)
    assert out == ""  # the failed add left no snapshot behind


# --- interrupted runs ----------------------------------------------------------------------------


#: ``audit`` whose reads of an input named ``never.txt`` block (a slow network file system, a
#: disk that stalls): it writes ``blocked`` beside the input, then sleeps. FIFOs, which the
#: earlier version of this test used to block a read, are refused before they are opened now.
BLOCKING_AUDIT = [
    sys.executable,
    "-c",
    "import pathlib, time, auditor.inputs as inputs\n"
    "real = inputs.read_bounded\n"
    "def stalled(handle, name, limit=inputs.MAX_INPUT_BYTES, **kwargs):\n"
    "    if name.endswith('never.txt'):\n"
    "        pathlib.Path(name).with_name('blocked').touch()\n"
    "        time.sleep(3600)\n"
    "    return real(handle, name, limit, **kwargs)\n"
    "inputs.read_bounded = stalled\n"
    "from auditor.cli import entry_point\n"
    "entry_point()",
]


@pytest.mark.parametrize("command", ["parse", "check", "add", "staleness"])
def test_sigint_exits_130_and_writes_nothing(command: str, tmp_path: Path) -> None:
    """The run blocks reading an input that never ends, gets SIGINT, exits 130 and leaves no
    output, no temp file and no stored snapshot."""
    stalled = tmp_path / "never.txt"
    stalled.write_text(GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    argv = {
        "parse": ["parse", "-o", str(out / "records.json"), str(GOOD), str(stalled)],
        "check": ["check", "--as-of", AS_OF, "-o", str(out / "findings.txt"), str(GOOD), str(stalled)],
        "add": ["snapshot", "add", "--store", str(out / "store"), str(GOOD), str(stalled)],
        "staleness": [
            *("report", "staleness", "--as-of", AS_OF, "-j", "1"),
            *("--out", str(out / "reports"), str(GOOD), str(stalled)),
        ],
    }[command]
    process = subprocess.Popen(
        [*BLOCKING_AUDIT, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until it is blocked reading the input
            time.sleep(0.1)
            if process.poll() is not None or (tmp_path / "blocked").exists():
                break
        else:
            pytest.fail("the run never reached the stalled input")
        (tmp_path / "blocked").unlink(missing_ok=True)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not leftovers(tmp_path)
    assert not (out / "records.json").exists() and not (out / "findings.txt").exists()
    if command == "add":
        assert main(["snapshot", "verify", "--store", str(out / "store")]) == 0
        assert not list((out / "store").glob("NCT*/*"))
    if command == "staleness":
        assert not (out / "reports" / AS_OF).exists()


# --- the store's index ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["deleted", "garbage", "truncated"])
def test_lost_or_broken_index_is_rebuilt_from_the_files(
    damage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Readers say what to run; verify, or the next add, rebuild the index from the files."""
    store = tmp_path / "store"
    assert main(["snapshot", "add", "--store", str(store), str(GOOD), str(HOSTILE / "crlf.txt")]) == 0
    index = store / "index.sqlite"
    for side in store.glob("index.sqlite-*"):
        side.unlink()
    if damage == "deleted":
        index.unlink()
    elif damage == "garbage":
        index.write_bytes(b"this is not SQLite\n" * 100)
    else:
        index.write_bytes(index.read_bytes()[:100])
    capsys.readouterr()
    code, _, err = run(["history", "--store", str(store), "NCT09000001"], capsys)
    assert code == 2 and "audit snapshot verify" in err and len(err.splitlines()) == 1
    code, out, err = run(["snapshot", "add", "--store", str(store), str(HOSTILE / "bom_utf8.txt")], capsys)
    assert code == 0, err
    code, out, _ = run(["snapshot", "list", "--store", str(store)], capsys)
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == [
        "NCT09000001",
        "NCT09000017",
        "NCT09000019",
    ]
    code, out, _ = run(["snapshot", "verify", "--store", str(store)], capsys)
    assert code == 0 and "store clean" in out


def test_rows_pointing_at_missing_files_are_dropped_not_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    assert main(["snapshot", "add", "--store", str(store), str(GOOD)]) == 0
    with sqlite3.connect(store / "index.sqlite") as conn:
        (path,) = conn.execute("SELECT path FROM snapshots").fetchone()
    (store / path).unlink()
    capsys.readouterr()
    code, out, _ = run(["snapshot", "verify", "--repair", "--store", str(store)], capsys)
    assert code == 0 and "missing" in out.lower()
    code, _, err = run(["history", "--store", str(store), "NCT09000001"], capsys)
    assert code == 2 and "no snapshots of NCT09000001" in err


# --- a broken previous report -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe garbage", b'{"stale": 5}', b"{not json"],
    ids=["deep", "binary", "wrong-type", "truncated"],
)
def test_unreadable_previous_report_is_one_line(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    argv = ["report", "staleness", "--out", str(reports), "-j", "1", str(GOOD)]
    assert main([*argv, "--as-of", "2025-12-31"]) in (0, 1)
    (reports / "2025-12-31" / "stale.json").write_bytes(content)
    capsys.readouterr()
    code, _, err = run([*argv, "--as-of", AS_OF], capsys)
    assert code == 2 and "previous report unreadable" in err and "Traceback" not in err
    assert not (reports / AS_OF).exists()
    assert not leftovers(reports)
