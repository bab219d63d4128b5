"""``audit parse``: the documented JSON shape, the table, and bad inputs beside good ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_as_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str], seed_path: Path) -> None:
    code, out, err = run(capsys, "parse", str(seed_path))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == 1 and doc["errors"] == []
    (record,) = doc["records"]
    assert set(record) == {
        "nct_id",
        "source",
        "ignite_created",
        "ignite_modified",
        "truncated",
        "problems",
        "fields",
    }
    assert record["nct_id"] == "NCT03765957"
    assert record["source"]["format"] == "ignite-text"
    assert len(record["source"]["sha256"]) == 64
    assert record["ignite_created"] == "2025-12-24T18:59"
    assert record["ignite_modified"] == "2026-01-05T16:48"
    assert record["truncated"] is True
    verified = next(f for f in record["fields"] if f["key"] == "status_verified_date")
    assert verified["type"] == "date" and verified["value"] == "2020-09" and verified["precision"] == "month"
    acronym = next(f for f in record["fields"] if f["key"] == "acronym")
    assert acronym["type"] == "missing" and acronym["raw"] == "None" and acronym["value"] is None
    assert {"section", "label", "key", "raw", "type", "value"} <= set(record["fields"][0])


def test_bad_inputs_are_one_line_errors_and_good_records_still_print(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = EXAMPLES / "2026-11-24" / "NCT09900001.txt"
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (tmp_path / "notes.txt").write_text("just some notes: nothing to see\n")
    code, out, err = run(
        capsys,
        "parse",
        str(good),
        str(tmp_path / "empty.txt"),
        str(tmp_path / "binary.txt"),
        str(tmp_path / "notes.txt"),
        str(tmp_path / "missing.txt"),
    )
    assert code == 2
    doc = json.loads(out)
    assert [r["nct_id"] for r in doc["records"]] == ["NCT09900001"]
    lines = err.strip().splitlines()
    assert len(lines) == 4 and len(doc["errors"]) == 4
    for name, line in zip(["empty.txt", "binary.txt", "notes.txt", "missing.txt"], lines, strict=True):
        assert line.startswith("audit: error: ") and name in line
    assert "Traceback" not in err


def test_table_and_jsonl_formats(capsys: pytest.CaptureFixture[str]) -> None:
    folder = EXAMPLES / "2026-11-25"
    code, out, _ = run(capsys, "parse", "--format", "jsonl", str(folder))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["nct_id"] for r in rows) == [f"NCT0990000{i}" for i in range(1, 7)]
    assert [r["truncated"] for r in rows if r["nct_id"] == "NCT09900006"] == [True]
    code, out, _ = run(capsys, "parse", "--format", "table", str(folder / "NCT09900001.txt"))
    assert code == 0
    assert "status_verified_date" in out and "[month]" in out


def test_output_file_is_written_whole(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "out" / "records.json"
    code, out, _ = run(capsys, "parse", "-o", str(target), str(EXAMPLES / "2026-11-24"))
    assert code == 0 and out == ""
    assert len(json.loads(target.read_text())["records"]) == 5
    assert [p.name for p in target.parent.iterdir()] == ["records.json"]


def test_installed_console_script_runs_as_a_subprocess() -> None:
    audit = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    if not Path(audit).exists():
        pytest.skip("the audit console script is not installed (pip install -e .)")
    done = subprocess.run(
        [audit, "parse", "--format", "jsonl", str(EXAMPLES / "2026-11-24" / "NCT09900002.txt")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nct_id"] == "NCT09900002"
    done = subprocess.run(
        [audit, "parse", "/no/such/file.txt"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "audit: error: /no/such/file.txt: no such file or directory"
