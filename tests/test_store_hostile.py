"""Hostile stores (issue 19): a FIFO, socket or device where a snapshot file should be, an add
blocked on its input while another runs, a read-only store folder. Each one: the documented
exit code, one stderr line naming the file, no traceback, and a bounded time — every command
runs as a real ``audit`` subprocess with a timeout, so a hang fails the test instead of the
suite."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_faults import BLOCKING_AUDIT

from auditor.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NIGHT1, NIGHT2 = EXAMPLES / "2026-11-24", EXAMPLES / "2026-11-25"
AUDIT = [sys.executable, "-c", "from auditor.cli import entry_point; entry_point()"]
TIMEOUT = 60


def audit(*argv: str, preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AUDIT, *argv], capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=preexec
    )


def one_error_line(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("audit: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    root = tmp_path / "s"
    with Store(root) as s:
        s.add([NIGHT1])
    return root


# --- something else where a snapshot file should be --------------------------------------------


@contextlib.contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)  # a socket path is limited to ~100 bytes: bind a name relative to here
    try:
        yield
    finally:
        os.chdir(before)


def replace_with(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        with _in_folder(path.parent), socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    else:
        try:  # /dev/zero's device numbers: read, it would never end
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))
        except PermissionError:
            pytest.skip("making a device node needs CAP_MKNOD")


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_a_stored_file_that_is_not_a_regular_file_is_never_read(
    store: Path, tmp_path: Path, kind: str
) -> None:
    (entry,) = Store(store).snapshots_of("NCT09900002")
    target = store / entry.path
    replace_with(target, kind)
    name = {"fifo": "a FIFO", "socket": "a socket", "device": "device"}[kind]
    done = audit("history", "--store", str(store), "NCT09900002")
    assert done.returncode == 2, done.stderr
    one_error_line(done, str(target), "not a regular file", name)
    # The commands that read the store's latest snapshots go through the input layer: one
    # error line for that file; the other studies are still checked / reported.
    for argv in (
        ("check", "--store", str(store), "--as-of", "2026-01-01", str(NIGHT2 / "NCT09900006.txt")),
        ("report", "staleness", "--store", str(store), "--out", str(tmp_path / "r"), "-j", "1"),
    ):
        done = audit(*argv)
        errors = [line for line in done.stderr.splitlines() if line.startswith("audit: error: ")]
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(errors) == 1 and str(target) in errors[0], done.stderr  # worded by auditor.inputs
    done = audit("snapshot", "verify", "--store", str(store))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith(entry.path)]
    assert len(problems) == 2 and all(name in line for line in problems), done.stdout
    # Repairing drops the row but leaves the stranger for a person to look at: still exit 1.
    done = audit("snapshot", "verify", "--repair", "--store", str(store))
    assert done.returncode == 1 and "unexpected-entry" in done.stdout and "Traceback" not in done.stderr
    assert stat.S_IFMT(target.lstat().st_mode) != stat.S_IFREG
    assert Store(store).snapshots_of("NCT09900002") == []


# --- an add blocked on its input holds no lock ---------------------------------------------------


def test_an_add_blocked_reading_its_input_does_not_block_another(store: Path, tmp_path: Path) -> None:
    """The first add stalls reading an input (a hung network file system: ``BLOCKING_AUDIT``
    of ``tests/test_faults.py``); another add to the same store completes meanwhile."""
    stalled = tmp_path / "never.txt"
    stalled.write_bytes((NIGHT1 / "NCT09900003.txt").read_bytes())
    blocked = subprocess.Popen(
        [
            *BLOCKING_AUDIT,
            "snapshot",
            "add",
            "--store",
            str(store),
            str(NIGHT2 / "NCT09900001.txt"),
            str(stalled),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (tmp_path / "blocked").exists():
            assert blocked.poll() is None and time.monotonic() < deadline, "never reached the stalled input"
            time.sleep(0.1)
        done = audit("snapshot", "add", "--store", str(store), str(NIGHT2 / "NCT09900006.txt"))
        assert done.returncode == 0 and done.stdout.startswith("1 added"), done.stderr
        blocked.send_signal(signal.SIGINT)
        _, err = blocked.communicate(timeout=TIMEOUT)
    finally:
        if blocked.poll() is None:
            blocked.kill()
    assert blocked.returncode == 130 and "Traceback" not in err
    s = Store(store)
    assert [e.modified for e in s.snapshots_of("NCT09900006")] == ["2026-11-25T02:12"]
    assert len(s.snapshots_of("NCT09900001")) == 1  # the blocked add stored nothing
    assert s.verify().problems == ()


# --- a read-only store folder --------------------------------------------------------------------


def _without_file_permission_override() -> None:
    """In the child, before ``exec``: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER
    from the bounding set, so that even root obeys a folder's mode (as ``setpriv`` does)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def as_a_user(tmp_path: Path) -> Callable[[], None] | None:
    """How to run ``audit`` so that ``chmod 555`` holds: as is for a user; for root, without
    the permission override (skipped with the reason where that is not possible)."""
    if os.geteuid() != 0:
        return None
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe / 'x')!r}, 'w')"],
            capture_output=True,
            preexec_fn=_without_file_permission_override,
            timeout=TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"running as root and cannot drop the permission override: {exc}")
    if done.returncode == 0:
        pytest.skip("running as root and chmod is not enforced even without CAP_DAC_OVERRIDE")
    return _without_file_permission_override


@pytest.mark.parametrize("where", ["store root", "study folder"])
def test_snapshot_add_to_a_read_only_store_folder_is_one_line_exit_3(
    store: Path, tmp_path: Path, where: str
) -> None:
    preexec = as_a_user(tmp_path)
    folder = store if where == "store root" else store / "NCT09900002"
    new = NIGHT2 / ("NCT09900006.txt" if where == "store root" else "NCT09900002.txt")
    before = sorted(p.relative_to(store).as_posix() for p in store.rglob("*"))
    folder.chmod(0o555)
    try:
        done = audit("snapshot", "add", "--store", str(store), str(new), preexec=preexec)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 3, done.stderr
    line = one_error_line(done, f"audit: error: {folder}", "cannot write the store")
    # The study folder: the snapshot's temp file cannot be made. The root: SQLite cannot make
    # its write-ahead log beside the index ("attempt to write a readonly database").
    assert ("Permission denied" if where == "study folder" else "readonly database") in line
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) == before
    assert Store(store).verify().problems == ()
