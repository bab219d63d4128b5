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
from rules_harness import build_record

from auditor.baseline import new_findings
from auditor.check import check_pairs, check_records
from auditor.findings import Finding
from auditor.reports.findings import REPORTERS
from auditor.rules import load_rules

GOLDEN = Path(__file__).parent / "golden" / "check"
SUFFIX = {"text": "txt", "json": "json", "csv": "csv", "junit": "junit.xml", "sarif": "sarif.json"}
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
    text = REPORTERS[fmt](findings)
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
    testcase(classname, name) > failure(message, type)."""
    root = ET.fromstring(REPORTERS["junit"](findings).encode("utf-8"))
    assert root.tag == "testsuites"
    total = 0
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(1 for c in cases if c.find("failure") is not None)
        for case in cases:
            assert case.get("classname") == suite.get("name") and case.get("name")
            failure = case.find("failure")
            assert (
                failure is not None
                and failure.get("message")
                and failure.get("type") in ("error", "warning", "info")
            )
        total += len(cases)
    assert total == len(findings) == int(root.get("failures", "-1"))
    titles = [c.find("failure").get("message") for c in root.iter("testcase")]  # type: ignore[union-attr]
    assert any("<script>alert('x')</script> & \"quoted\" ]]>" in (t or "") for t in titles)


#: The SARIF 2.1.0 properties our consumers need, written from the OASIS spec's required
#: properties (the official schema file is not available offline): log (version, runs), run
#: (tool.driver.name, results), reportingDescriptor (id), result (message.text, level,
#: locations[].physicalLocation.artifactLocation.uri, region.startLine >= 1).
SARIF_MINIMAL_SCHEMA = {
    "type": "object",
    "required": ["version", "$schema", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "pattern": "sarif-2\\.1\\.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {
                                                            "enum": ["none", "note", "warning", "error"]
                                                        }
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {
                                                            "uri": {
                                                                "type": "string",
                                                                "format": "uri-reference",
                                                            }
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1}
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_meets_the_2_1_0_structure(findings: list[Finding]) -> None:
    """Validated with jsonschema against a minimal schema written from the SARIF 2.1.0 spec's
    required properties (the official schema is not on disk and there is no network)."""
    document = json.loads(REPORTERS["sarif"](findings))
    jsonschema.validate(document, SARIF_MINIMAL_SCHEMA)
    run = document["runs"][0]
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert " " not in result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert len(run["results"]) == len(findings)


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
