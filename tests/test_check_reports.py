"""Findings reporters: golden outputs for every format (``AUDITOR_UPDATE_GOLDEN=1`` rewrites
them), a JUnit file that a JUnit parser reads, a SARIF file that meets SARIF 2.1.0, and record
text escaped in every format."""

from __future__ import annotations

import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from conftest import SHARED
from rules_harness import build_record

from auditor import __version__
from auditor.baseline import new_findings
from auditor.check import check_pairs, check_records
from auditor.cli.options import rule_infos
from auditor.findings import Finding, Severity
from auditor.reports.findings import REPORTERS
from auditor.reports.run_info import RunInfo, Waived
from auditor.rules import load_rules

GOLDEN = Path(__file__).parent / "golden" / "check"
SUFFIX = {
    "text": "txt",
    "json": "json",
    "csv": "csv",
    "junit": "junit.xml",
    "sarif": "sarif.json",
    "github": "github.txt",
    "gitlab": "gitlab.json",
}
HOSTILE_TITLE = "<script>alert('x')</script> & \"quoted\" ]]> \x1b[31mred..."
HOSTILE_SUMMARY = '=HYPERLINK("http://evil") \x0b vertical tab, no full stop'


def sample_findings() -> list[Finding]:
    """A fixed set of findings from hand-made records: stale, hostile text, and a pair."""
    rules = load_rules()
    stale = build_record(
        {
            "path": "snapshots/NCT03765957.txt",
            "fields": {
                "overall_status": "UNKNOWN",
                "status_verified_date": "2020-09",
                "brief_title": "Psoriasis",
                "brief_summary": "Fine.",
            },
        }
    )
    hostile = build_record(
        {
            "nct_id": "NCT01234567",
            "path": "odd dir/ünï <b>.json",
            "fields": {
                "overall_status": "TERMINATED",
                "why_stopped": "Not Stopped",
                "brief_title": HOSTILE_TITLE,
                "brief_summary": HOSTILE_SUMMARY,
            },
        }
    )
    old = build_record(
        {"path": "a/old.txt", "fields": {"first_post_date": "2018-08-28", "overall_status": "COMPLETED"}}
    )
    new = build_record(
        {"path": "a/new.txt", "fields": {"first_post_date": "2019-01-10", "overall_status": "RECRUITING"}}
    )
    as_of = date(2026, 1, 5)
    return check_records([stale, hostile], rules, as_of=as_of) + check_pairs([(old, new)], rules, as_of=as_of)


def sample_run(findings: list[Finding]) -> RunInfo:
    """The run the sample findings came from: every shipped rule over 3 snapshots and 1 pair,
    failing at warning, one more finding waived, paths relative to /srv/registry."""
    waived = Waived(
        Finding(
            "brief-title-missing",
            Severity.ERROR,
            "NCT07654321",
            "snapshots/NCT07654321.json",
            ("brief_title",),
            "brief title missing",
            "rules/identity.yaml:20",
            "Brief title missing",
        ),
        "Sponsor confirmed (REG-1)",
        date(2027, 1, 31),
        "waivers.yaml:3",
    )
    return RunInfo(
        fail_on=Severity.WARNING,
        rules=rule_infos(load_rules()),
        checked=3,
        pairs=1,
        waived=(waived,),
        base_dir="/srv/registry",
    )


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return sample_findings()


def test_sample_covers_every_severity(findings: list[Finding]) -> None:
    assert {
        "unknown-status-stale",
        "stop-reason-missing",
        "brief-summary-cut-off",
        "first-post-date-changed",
        "status-went-backwards",
    } <= {f.rule_id for f in findings}


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_golden(fmt: str, findings: list[Finding]) -> None:
    text = REPORTERS[fmt](findings, sample_run(findings))
    path = GOLDEN / f"findings.{SUFFIX[fmt]}"
    if os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with AUDITOR_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_empty_report(fmt: str) -> None:
    text = REPORTERS[fmt]([])
    if fmt == "junit":
        assert ET.fromstring(text).find("testsuite/testcase") is not None
    elif fmt in ("json", "sarif"):
        json.loads(text)


def test_junit_is_read_by_a_junit_parser(findings: list[Finding]) -> None:
    """The structure Jenkins / GitLab read: testsuites > testsuite(name, tests, failures) >
    testcase(classname, name) > failure(message, type); the counts agree with the cases."""
    run = sample_run(findings)
    root = ET.fromstring(REPORTERS["junit"](findings, run).encode("utf-8"))
    assert root.tag == "testsuites"
    failures = skipped = tests = 0
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("failures", "-1")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("skipped", "-1")) == sum(1 for c in cases if c.find("skipped") is not None)
        for case in cases:
            assert case.get("classname") == suite.get("name") and case.get("name")
            failure = case.find("failure")
            if failure is not None:
                assert failure.get("message") and failure.get("type") in ("error", "warning")
        failures += int(suite.get("failures", "0"))
        skipped += int(suite.get("skipped", "0"))
        tests += int(suite.get("tests", "0"))
    assert failures == int(root.get("failures", "-1")) == sum(1 for f in findings if run.fails(f))
    assert skipped == int(root.get("skipped", "-1")) == 1
    # tests: snapshots x record rules + pairs x the rest (pair and history rules, store checks)
    entries = load_rules().entries
    over_time = sum(1 for e in entries if e.scope != "record")
    assert tests == int(root.get("tests", "-1")) == 3 * (len(entries) - over_time) + 1 * over_time
    texts = [e.text or "" for e in root.iter()] + [v for e in root.iter() for v in e.attrib.values()]
    assert any("<script>alert('x')</script> & \"quoted\" ]]>" in t for t in texts)


def test_junit_below_the_threshold_is_not_a_failure(findings: list[Finding]) -> None:
    """A run that exits 0 (nothing at or above --fail-on) writes failures="0"."""
    for fail_on in (None, Severity.ERROR):
        run = RunInfo(fail_on=fail_on, checked=3)
        below = [f for f in findings if fail_on is None or f.severity.rank < fail_on.rank]
        root = ET.fromstring(REPORTERS["junit"](below, run))
        assert root.get("failures") == "0" and not list(root.iter("failure"))
        assert sum(1 for _ in root.iter("system-out")) == len(below)


#: The official SARIF 2.1.0 JSON schema (OASIS), shared beside the repository.
SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"


def sarif_validator() -> jsonschema.protocols.Validator:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"official SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)  # type: ignore[no-any-return]


def test_sarif_validates_against_the_official_schema(findings: list[Finding]) -> None:
    document = json.loads(REPORTERS["sarif"](findings, sample_run(findings)))
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, errors[0]
    run = document["runs"][0]
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "SRCROOT" and not location["uri"].startswith(("/", "file:"))
        assert " " not in location["uri"]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///srv/registry/"
    assert run["tool"]["driver"]["version"] == __version__
    assert len(run["results"]) == len(findings) + 1  # the waived one, suppressed
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [r["suppressions"][0]["justification"] for r in suppressed] == [
        "Sponsor confirmed (REG-1) (waivers.yaml:3)"
    ]
    stale = next(d for d in run["tool"]["driver"]["rules"] if d["id"] == "unknown-status-stale")
    assert "Source:" in stale["help"]["text"] and stale["fullDescription"]["text"]


def test_text_report_escapes_control_characters(findings: list[Finding]) -> None:
    text = REPORTERS["text"](findings)
    assert "\x1b" not in text and "\x0b" not in text and "\\x1b[31mred" in text


def test_csv_neutralises_formulas_and_keeps_text(findings: list[Finding]) -> None:
    rows = list(csv.DictReader(io.StringIO(REPORTERS["csv"](findings))))
    assert len(rows) == len(findings)
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())


def test_baseline_fingerprints_survive_a_json_round_trip(findings: list[Finding], tmp_path: Path) -> None:
    from auditor.baseline import load_baseline

    path = tmp_path / "b.json"
    path.write_text(REPORTERS["json"](findings))
    kept, suppressed = new_findings(findings, load_baseline(path))
    assert kept == [] and suppressed == len(findings)


@pytest.mark.corpus
def test_golden_check_of_a_real_export(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every shipped rule over one real 100-study v2 export, as CSV (paths relative to the corpus)."""
    from auditor.cli import main

    monkeypatch.chdir(corpus_dir)
    assert main(["check", "vrinda2019__NSCLCBench", "--as-of", "2026-01-05", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    path = GOLDEN / "vrinda2019__NSCLCBench.csv"
    if os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_findings_point_at_the_line_of_their_field(seed_path: Path) -> None:
    """Ignite text keeps lines: SARIF regions and the terminal point at the field."""
    from auditor.readers import read_one

    findings = check_records(
        [read_one(seed_path)], load_rules().select(["unknown-status-stale"]), as_of=date(2026, 1, 5)
    )
    lines = seed_path.read_text(encoding="utf-8").splitlines()
    (finding,) = findings
    assert finding.line is not None and lines[finding.line - 1] == "Status: UNKNOWN"
    region = json.loads(REPORTERS["sarif"](findings))["runs"][0]["results"][0]["locations"][0][
        "physicalLocation"
    ]
    assert region["region"]["startLine"] == finding.line
    assert f"NCT03765957.txt:{finding.line}: NCT03765957: warning" in REPORTERS["text"](findings)
