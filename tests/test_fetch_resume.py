"""An interrupted ``audit fetch`` (SIGINT, kill -9; real subprocesses of the installed ``audit``)
continues on the next run and ends with the same store as an uninterrupted run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ctgov_server import FakeRegistry, corpus_studies, recorded_histories, samples_available, serve

pytestmark = [
    pytest.mark.skipif(not samples_available(), reason="../shared samples or corpus missing"),
    pytest.mark.slow,
]
HISTORIES = ["NCT03690141", "NCT04280705", "NCT06510816"]


@pytest.fixture(scope="module")
def audit_exe() -> str:
    exe = shutil.which("audit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the audit entry point is not installed in this environment")
    return exe


@pytest.fixture
def api_url() -> Iterator[str]:
    # Every answer takes 50 ms, so that a run lasts long enough to be interrupted mid-way.
    yield from serve(FakeRegistry(studies=corpus_studies(3), histories=recorded_histories(), delay=0.05))


def _command(audit_exe: str, api_url: str, store: Path) -> list[str]:
    return [audit_exe, "fetch", "--history", *HISTORIES, "--store", str(store), "--api-url", api_url]


def _store_content(store: Path) -> dict[str, object]:
    """Snapshot files by name and bytes, and the change lists less their fetch time."""
    files: dict[str, object] = {
        str(p.relative_to(store)): p.read_bytes() for p in sorted(store.glob("NCT*/*")) if p.is_file()
    }
    for path in sorted((store / "ctgov-changes").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        document.pop("fetched_at")
        files[str(path.relative_to(store))] = document
    return files


def _wait_for_progress(store: Path, process: subprocess.Popen[bytes]) -> None:
    """Until the run has stored a first study (its state lists one as done)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for state in (store / ".fetch").glob("*.json"):
            try:
                if json.loads(state.read_text(encoding="utf-8"))["done"]:
                    return
            except (ValueError, OSError):
                pass
        if process.poll() is not None:
            pytest.fail("the run ended before it could be interrupted")
        time.sleep(0.01)
    pytest.fail("the run stored nothing within 30 s")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "kill-9"])
def test_interrupted_run_resumes_to_the_same_store(
    audit_exe: str, api_url: str, tmp_path: Path, stop: signal.Signals
) -> None:
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    fast = ["--rate", "1000", "--backoff", "0"]
    done = subprocess.run([*_command(audit_exe, api_url, whole), *fast], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr

    process = subprocess.Popen([*_command(audit_exe, api_url, resumed), *fast], stderr=subprocess.PIPE)
    _wait_for_progress(resumed, process)
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    if stop is signal.SIGINT:
        assert process.returncode == 130
        assert b"run the same command again to continue" in err
    else:
        assert process.returncode == -signal.SIGKILL
    assert _store_content(resumed) != _store_content(whole)  # it really stopped part-way
    assert list((resumed / ".fetch").glob("*.json"))  # and left its state

    again = subprocess.run([*_command(audit_exe, api_url, resumed), *fast], capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert b"done by the interrupted run" in again.stdout
    assert _store_content(resumed) == _store_content(whole)
    assert not list((resumed / ".fetch").glob("*.json"))  # a finished run leaves no state
    verify = subprocess.run(
        [audit_exe, "snapshot", "verify", "--store", str(resumed)], capture_output=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout
