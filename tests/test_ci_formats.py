"""CI-native outputs from real runs: SARIF from the corpus validated against the official
2.1.0 schema, JUnit that agrees with the exit code, GitHub workflow commands in the documented
syntax, GitLab Code Quality issues with unique fingerprints."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest
from cli_data import AS_OF, stale_study, study, terminated_study, write
from test_check_reports import sarif_validator

from auditor.cli import main
from auditor.findings import Finding, Severity
from auditor.reports.github import render_github
from auditor.reports.run_info import RunInfo

#: ``::error file=…,line=…,title=…::message`` (docs.github.com, workflow commands): a command,
#: comma-separated ``key=value`` properties without raw ``:`` or ``,``, and a one-line message.
ANNOTATION = re.compile(
    r"^::(error|warning|notice) (file=[^,:\r\n]+)(,line=\d+)?(,title=[^,:\r\n]+)::[^\r\n]*$"
)


@pytest.mark.corpus
def test_sarif_from_the_corpus_validates_against_the_official_schema(
    corpus_dir: Path,
    mixed_corpus_paths: list[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(corpus_dir)
    names = [str(p.relative_to(corpus_dir)) for p in mixed_corpus_paths]
    assert main(["check", *names, *AS_OF, "--format", "sarif", "--fail-on", "none", "-q"]) == 0
    document = json.loads(capsys.readouterr().out)
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, errors[0]
    run = document["runs"][0]
    assert len(run["results"]) > 50
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert all(not uri.startswith("/") for uri in uris)
    assert all((Path.cwd() / unquote(uri).split("!")[0]).exists() for uri in uris)  # relative to SRCROOT
    assert {d["id"] for d in run["tool"]["driver"]["rules"]} >= {r["ruleId"] for r in run["results"]}


def test_junit_of_a_run_that_exits_0_has_no_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale_study(tmp_path)
    terminated_study(tmp_path)
    write(tmp_path / "NCT00000002.json", study("NCT00000002", "COMPLETED", "2025-06"))
    assert main(["check", str(tmp_path), *AS_OF, "--format", "junit"]) == 0  # warnings, --fail-on error
    root = ET.fromstring(capsys.readouterr().out)
    assert root.get("failures") == "0" and root.get("errors") == "0"
    capsys.readouterr()
    assert main(["rules", "list", "--format", "json"]) == 0
    record_rules = [r for r in json.loads(capsys.readouterr().out)["rules"] if r["scope"] == "record"]
    assert int(root.get("tests", "0")) == 3 * len(record_rules)
    assert main(["check", str(tmp_path), *AS_OF, "--format", "junit", "--fail-on", "warning"]) == 1
    assert ET.fromstring(capsys.readouterr().out).get("failures") == "2"


def test_github_annotations_match_the_documented_syntax(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale_study(tmp_path)
    assert main(["check", str(tmp_path), *AS_OF, "--format", "github", "--fail-on", "warning"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert ANNOTATION.match(lines[0]), lines[0]
    assert (
        lines[0].startswith("::warning file=")
        and "title=unknown-status-stale (warning)::NCT01234567" in lines[0]
    )
    assert lines[-1] == "audit: 1 finding (1 warning), 1 failing at --fail-on warning"


def test_github_escapes_what_could_end_or_start_a_command() -> None:
    hostile = Finding(
        "r",
        Severity.ERROR,
        "NCT01234567",
        "odd, name: 100%.txt",
        (),
        "a\nb\r::error::x %0A \x1b[31m",
        "rules/x:1",
        line=3,
    )
    (line, _summary) = render_github([hostile], RunInfo()).splitlines()
    assert ANNOTATION.match(line), line
    assert line == (
        "::error file=odd%2C name%3A 100%25.txt,line=3,title=r (error)::"
        "NCT01234567: a%0Ab%0D::error::x %250A \\x1b[31m"
    )


def test_gitlab_code_quality_issues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_study(tmp_path / "data")
    terminated_study(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "data", *AS_OF, "--format", "gitlab"]) == 0
    issues = json.loads(capsys.readouterr().out)
    assert [i["check_name"] for i in issues] == ["unknown-status-stale", "stop-reason-missing"]
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] == "major" and issue["location"]["path"].startswith("data/")
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == 2
    # stable across runs
    assert main(["check", "data", *AS_OF, "--format", "gitlab"]) == 0
    assert [i["fingerprint"] for i in json.loads(capsys.readouterr().out)] == [
        i["fingerprint"] for i in issues
    ]
