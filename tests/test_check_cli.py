"""``audit check`` and ``audit rules`` through ``main(argv)``: one exit code per test, plus one
real subprocess run of the installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_data import study, write

from auditor.cli import main


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    return write(tmp_path / "stale.json", study("NCT01234567", "UNKNOWN", "2020-09"))


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write(tmp_path / "clean.json", study("NCT07654321", "COMPLETED", "2025-06"))


AS_OF = ["--as-of", "2026-01-05"]


def test_clean_input_exits_0(clean: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(clean), *AS_OF, "--fail-on", "info"]) == 0
    assert "No findings." in capsys.readouterr().out


def test_warning_fails_only_at_fail_on_warning(stale: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(stale), *AS_OF]) == 0  # default --fail-on error
    out = capsys.readouterr().out
    assert "[unknown-status-stale] status UNKNOWN, last verified 2020-09" in out
    assert main(["check", str(stale), *AS_OF, "--fail-on", "warning"]) == 1


def test_param_and_select(stale: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["check", str(stale), *AS_OF, "--fail-on", "warning", "--param", "unknown-status-stale.years=10"]
        )
        == 0
    )
    assert main(["check", str(stale), *AS_OF, "--fail-on", "warning", "--select", "dates"]) == 0
    assert main(["check", str(stale), *AS_OF, "--fail-on", "warning", "--select", "staleness"]) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "yeers=3"], "no selected rule has such a parameter"),
        (["--param", "unknown-status-stale.years=three"], "expects a whole number"),
        (["--param", "years=3", "--store", "no-store", "--history"], "rules give 'years' different defaults"),
        (["--param", "years"], "expected NAME=VALUE"),
        (["--as-of", "2026-13-01"], "expected a date"),
        (["--select", "no-such-rule"], "no rule or tag named"),
        (["--history"], "--history needs --store"),
    ],
)
def test_usage_errors_exit_2(
    stale: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(stale), *extra]) == 2
    assert message in capsys.readouterr().err


def test_no_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2


def test_input_errors_are_reported_and_good_records_still_checked(
    stale: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    missing = tmp_path / "missing.json"
    assert main(["check", str(bad), str(stale), str(missing), *AS_OF]) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("audit: error:")]
    assert len(errors) == 2 and str(bad) in errors[0] and str(missing) in errors[1]
    assert "unknown-status-stale" in captured.out


def test_broken_rule_file_runs_no_rule(
    stale: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text(
        "rules:\n  - id: x\n    title: t\n    severity: warning\n    rationale: r\n    source: s\n"
        "    when: {missing: no_such_field}\n",
        encoding="utf-8",
    )
    assert main(["check", str(stale), "--rules", str(rules)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{rules / 'mine.yaml'}:7: rules[0](x).when.missing: unknown field 'no_such_field'" in captured.err


def test_output_file_and_formats(stale: Path, tmp_path: Path) -> None:
    for fmt in ("json", "csv", "junit", "sarif", "text"):
        out = tmp_path / f"report.{fmt}"
        assert main(["check", str(stale), *AS_OF, "--format", fmt, "--output", str(out)]) == 0
        assert "unknown-status-stale" in out.read_text(encoding="utf-8")
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["count"] == 1
    assert document["findings"][0]["values"] == {
        "overall_status": "UNKNOWN",
        "status_verified_date": "2020-09",
    }


def test_baseline_fails_only_on_new_problems(
    stale: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    assert main(["check", str(stale), *AS_OF, "--format", "json", "-o", str(baseline)]) == 0
    assert main(["check", str(stale), *AS_OF, "--fail-on", "warning", "--baseline", str(baseline)]) == 0
    assert "1 finding already in the baseline" in capsys.readouterr().err
    newer = write(tmp_path / "new.json", study("NCT01111111", "TERMINATED", "2025-06"))
    assert (
        main(["check", str(stale), str(newer), *AS_OF, "--fail-on", "warning", "--baseline", str(baseline)])
        == 1
    )
    out = capsys.readouterr().out
    assert "stop-reason-missing" in out and "unknown-status-stale" not in out


def test_bad_baseline_is_an_input_error(
    stale: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text("[1, 2]")
    assert main(["check", str(stale), "--baseline", str(baseline)]) == 2
    assert "not a baseline" in capsys.readouterr().err


def test_rules_list_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert "unknown-status-stale" in out and "active-status-unverified" in out
    assert main(["rules", "explain", "unknown-status-stale"]) == 0
    out = capsys.readouterr().out
    assert "years = 2" in out and "older_than" in out and "Example:" in out and "rules/status.yaml:" in out
    assert main(["rules", "explain", "no-such-rule"]) == 2
    assert main(["rules", "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rules"][0]["id"]


def test_store_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.store import Store

    old = write(
        tmp_path / "old.json", study("NCT05294952", "NOT_YET_RECRUITING", "2023-02", updated="2023-02-10")
    )
    new = write(tmp_path / "new.json", study("NCT05294952", "UNKNOWN", "2023-02", updated="2026-03-03"))
    store_dir = tmp_path / "store"
    result = Store(store_dir).add([old, new])
    assert not result.errors
    later = ["--as-of", "2026-06-01"]
    assert main(["check", "--store", str(store_dir), *later, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {f["rule_id"] for f in document["findings"]} == {"unknown-status-stale"}  # the latest only
    assert main(["check", "--store", str(store_dir), "--history", *later, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    ids = {f["rule_id"] for f in document["findings"]}
    assert {"unknown-status-stale", "status-changed-to-unknown"} <= ids
    pair = next(f for f in document["findings"] if f["rule_id"] == "status-changed-to-unknown")
    assert "NOT_YET_RECRUITING -> UNKNOWN" in pair["message"] and " -> " in pair["snapshot"]


def test_real_subprocess_run(stale: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from auditor.cli import entry_point; entry_point()",
            "check",
            str(stale),
            *AS_OF,
            "--fail-on",
            "warning",
            "--format",
            "sarif",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["runs"][0]["results"][0]["ruleId"] == "unknown-status-stale"


def test_cli_modules_do_not_import_pandas() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, auditor.cli.check, auditor.cli.rules, auditor.rules, auditor.check; "
            "print('pandas' in sys.modules, 'pandera' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.split() == ["False", "False"]
