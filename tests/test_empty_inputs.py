"""Zero study records read is an error for check, report staleness and snapshot add (exit 2,
one line, nothing written) unless ``--allow-empty``: a CI gate must not pass on nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from auditor.cli import main

GOOD = Path(__file__).parent / "hostile" / "good" / "good.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def commands(inputs: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "check": ["check", str(inputs), "--as-of", "2026-01-01"],
        "report staleness": [
            "report",
            "staleness",
            str(inputs),
            "--as-of",
            "2026-01-01",
            "--out",
            str(tmp / "rep"),
        ],
        "snapshot add": ["snapshot", "add", str(inputs), "--store", str(tmp / "store")],
    }


NOTHING = {
    "check": "nothing was checked",
    "report staleness": "no report written",
    "snapshot add": "nothing was stored",
}


def empty_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / ".hidden.json").write_text("{}")
    (folder / "notes.md").write_text("nothing here")
    return folder


def archive_of_non_study_files(tmp_path: Path) -> Path:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "notes")
        archive.writestr("index.csv", "nct_id\nNCT01234567\n")
    return path


@pytest.mark.parametrize("make", [empty_folder, archive_of_non_study_files])
@pytest.mark.parametrize("command", ["check", "report staleness", "snapshot add"])
def test_no_record_is_one_error_line_and_exit_2(
    command: str, make: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = make(tmp_path)  # type: ignore[operator]
    code, out, err = run(capsys, *commands(inputs, tmp_path)[command])
    assert code == 2
    assert err.splitlines() == [
        f"audit: error: no study records read; {NOTHING[command]} (--allow-empty accepts an empty run)"
    ]
    assert out == ""
    assert not (tmp_path / "rep").exists()  # no report of nothing (every stale study "fixed")
    assert not list((tmp_path / "store").glob("NCT*"))


@pytest.mark.parametrize("command", ["check", "report staleness", "snapshot add"])
def test_allow_empty_accepts_an_empty_run(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = empty_folder(tmp_path)
    code, _, err = run(capsys, *commands(inputs, tmp_path)[command], "--allow-empty")
    assert code == 0, err
    assert "audit: error" not in err
    if command == "report staleness":
        summary = json.loads(next((tmp_path / "rep").glob("*/summary.json")).read_text())
        assert summary["records"] == 0


@pytest.mark.parametrize("command", ["check", "report staleness", "snapshot add"])
def test_every_unreadable_input_is_named_before_the_refusal(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "incoming"
    inputs.mkdir()
    (inputs / "a.json").write_text("[1, 2]")
    (inputs / "b.txt").write_text("just notes\n")
    code, _, err = run(capsys, *commands(inputs, tmp_path)[command])
    assert code == 2
    lines = err.splitlines()
    assert [line.split(": ")[2] for line in lines[:2]] == [str(inputs / "a.json"), str(inputs / "b.txt")]
    assert lines[2:] == [
        f"audit: error: no study records read (2 inputs could not be read); {NOTHING[command]} "
        "(--allow-empty accepts an empty run)"
    ]
    assert not (tmp_path / "rep").exists()


def test_one_record_is_enough(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = empty_folder(tmp_path)
    (inputs / "good.json").write_bytes(GOOD.read_bytes())
    code, _, err = run(capsys, *commands(inputs, tmp_path)["check"])
    assert code in (0, 1), err
    assert "checked 1 snapshot " in err


def test_the_installed_audit_refuses_an_empty_run(tmp_path: Path) -> None:
    audit = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    if not Path(audit).exists():
        pytest.skip("the audit console script is not installed (pip install -e .)")
    inputs = empty_folder(tmp_path)
    done = subprocess.run(
        [audit, "check", str(inputs)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "audit: error: no study records read; nothing was checked (--allow-empty accepts an empty run)"
    ]
