"""Waivers with reasons (``audit check --waivers``, ``--write-waivers``): what they suppress,
how every format counts them, expiry as a finding, and errors with file and line."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from cli_data import AS_OF, stale_study, terminated_study

from auditor.cli import main
from auditor.errors import InputError
from auditor.findings import Finding, Severity
from auditor.waivers import apply_waivers, load_waivers, waiver_text


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Two studies with one warning each: NCT01234567 stale, NCT07654321 stopped without reason."""
    stale_study(tmp_path / "data")
    terminated_study(tmp_path / "data")
    return tmp_path / "data"


def waivers(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + body, encoding="utf-8")
    return path


STALE_WAIVER = """\
  - nct_id: NCT01234567
    rule: unknown-status-stale
    reason: "Registry entry under transfer to a new sponsor (REG-7)."
"""


def test_a_waiver_suppresses_its_finding_and_every_format_counts_it(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = waivers(tmp_path, STALE_WAIVER)
    base = ["check", str(data), *AS_OF, "--fail-on", "warning", "--waivers", str(path)]
    assert main(base) == 1  # the other warning still fails
    out, err = capsys.readouterr()
    assert "unknown-status-stale" not in out.split("\n\n")[0] and "waived: 1 finding (1 reason)" in out
    assert "1 finding waived" in err
    assert main([*base, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["rule_id"] for f in report["findings"]] == ["stop-reason-missing"]
    assert report["waived"][0]["waiver"]["reason"].startswith("Registry entry under transfer")
    assert main([*base, "--format", "csv"]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["rule_id"], bool(r["waiver"])) for r in rows] == [
        ("stop-reason-missing", False),
        ("unknown-status-stale", True),
    ]
    assert main([*base, "--format", "junit"]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    assert root.get("skipped") == "1" and root.get("failures") == "1"
    assert main([*base, "--format", "sarif"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert [bool(r.get("suppressions")) for r in results] == [False, True]
    assert main([*base, "--format", "github"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith(", 1 waived")


def test_both_waived_exits_0_and_a_fingerprint_narrows(data: Path, tmp_path: Path) -> None:
    stopped = "  - nct_id: NCT07654321\n    rule: stop-reason-missing\n    reason: Known, see REG-9.\n"
    path = waivers(tmp_path, STALE_WAIVER + stopped)
    assert main(["check", str(data), *AS_OF, "--fail-on", "warning", "--waivers", str(path)]) == 0
    wrong = waivers(tmp_path, STALE_WAIVER + stopped + "    fingerprint: 0000000000000000\n")
    assert main(["check", str(data), *AS_OF, "--fail-on", "warning", "--waivers", str(wrong)]) == 1


def test_an_expired_waiver_is_a_finding_and_suppresses_nothing(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = waivers(tmp_path, STALE_WAIVER + "    expires: 2025-12-31\n")
    assert main(["check", str(data), *AS_OF, "--waivers", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ids = sorted(f["rule_id"] for f in report["findings"])
    assert ids == ["stop-reason-missing", "unknown-status-stale", "waiver-expired"]
    expired = next(f for f in report["findings"] if f["rule_id"] == "waiver-expired")
    assert expired["snapshot"] == str(path) and expired["line"] == 2 and expired["severity"] == "warning"
    assert "expired on 2025-12-31" in expired["message"]
    # on the day it expires it still holds
    assert (
        main(["check", str(data), "--as-of", "2025-12-31", "--waivers", str(path), "--format", "json"]) == 0
    )
    assert "waiver-expired" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - nct_id: NCT01234567\n    rule: unknown-status-stale\n",
            "waivers.yaml:2: waiver without reason",
        ),
        (
            STALE_WAIVER.replace("unknown-status-stale", "unknown-status-stal"),
            "waivers.yaml:3: no rule 'unknown-status-stal' (did you mean 'unknown-status-stale'?)",
        ),
        (STALE_WAIVER.replace("NCT01234567", "NCT1234"), "waivers.yaml:2: invalid NCT ID 'NCT1234'"),
        (
            STALE_WAIVER + "    expires: soon\n",
            "waivers.yaml:5: expires 'soon': expected a date like 2027-01-31",
        ),
        (STALE_WAIVER + "    why: because\n", "waivers.yaml:5: unknown waiver key 'why'"),
        ("  - [1, 2\n", "waivers.yaml:3: not YAML"),
        (STALE_WAIVER.replace('"Registry', '!!python/object:os.system "Registry'), "unsupported YAML tag"),
    ],
)
def test_waiver_file_errors_name_the_line_and_stop_before_reading(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: str
) -> None:
    path = waivers(tmp_path, body)
    assert main(["check", str(data), *AS_OF, "--waivers", str(path)]) == 2
    out, err = capsys.readouterr()
    assert expected in err and out == "" and "Traceback" not in err


def test_write_waivers_then_the_gate_passes_and_a_rerun_adds_only_new(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.yaml"
    assert main(["check", str(data), *AS_OF, "--fail-on", "warning", "--write-waivers", str(path)]) == 0
    assert "wrote 2 waivers" in capsys.readouterr().err
    text = path.read_text()
    assert text.startswith("# audit waivers") and text.count('reason: "TODO:') == 2
    assert main(["check", str(data), *AS_OF, "--fail-on", "warning", "--waivers", str(path)]) == 0
    path.write_text(text.replace("waivers:\n", "waivers:  # reviewed\n"))
    stale_study(data, "NCT00000001")
    assert (
        main(
            [
                "check",
                str(data),
                *AS_OF,
                "--fail-on",
                "warning",
                "--waivers",
                str(path),
                "--write-waivers",
                str(path),
            ]
        )
        == 0
    )
    again = path.read_text()
    assert "# reviewed" in again and again.count("nct_id:") == 3
    assert [w.nct_id for w in load_waivers(path)] == ["NCT01234567", "NCT07654321", "NCT00000001"]


def test_apply_waivers_from_python() -> None:
    finding = Finding("r", Severity.ERROR, "NCT01234567", "a.json", ("f",), "m", "rules/x.yaml:1")
    other = Finding("r", Severity.ERROR, "NCT07654321", "b.json", ("f",), "m", "rules/x.yaml:1")
    from auditor.waivers import Waiver

    active = Waiver("NCT01234567", "r", "why", date(2026, 1, 31), at="w.yaml:2")
    unused = Waiver("NCT00000009", "r", "why", at="w.yaml:6")
    split = apply_waivers([finding, other], [active, unused], date(2026, 1, 5))
    assert split.open == [other] and split.waived == [(finding, active)] and split.unused == [unused]
    assert waiver_text([], None, date(2026, 1, 5))[1] == 0


def test_load_waivers_refuses_a_list_at_the_top(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("- nct_id: NCT01234567\n")
    with pytest.raises(InputError, match="expected a mapping"):
        load_waivers(path)
