"""Every shipped rule, tested as data: ``tests/rules/<rule-id>.yaml`` lists records in and the
findings expected out (one passing and one failing record at least; real corpus records where
the corpus has them, skipped with a reason when ../shared is missing)."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rules_harness import RULE_CASES, case_record

from auditor.check import check_pairs, check_records
from auditor.rules import load_rules

RULES = load_rules()


def _cases() -> list[Any]:
    out = []
    for file in sorted(RULE_CASES.glob("*.yaml")):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        for i, case in enumerate(document["cases"]):
            out.append(pytest.param(document, case, id=f"{document['rule']}[{i}]-{case.get('name', '')}"))
    return out


@pytest.mark.parametrize(("document", "case"), _cases())
def test_rule_case(document: dict[str, Any], case: dict[str, Any]) -> None:
    rules = RULES.select([document["rule"]])
    as_of = date.fromisoformat(str(case.get("as_of", document.get("as_of", "2026-01-05"))))
    params = case.get("params")
    if "history" in case:
        snapshots = [case_record(spec) for spec in case["history"]]
        findings = check_pairs(list(itertools.pairwise(snapshots)), rules, params=params, as_of=as_of)
    elif "old" in case:
        findings = check_pairs(
            [(case_record(case["old"]), case_record(case["new"]))], rules, params=params, as_of=as_of
        )
    else:
        findings = check_records([case_record(case["record"])], rules, params=params, as_of=as_of)
    expected = case["expect"]
    assert [f.rule_id for f in findings] == ([document["rule"]] if expected == "fail" else []), [
        f.message for f in findings
    ]
    for fragment in case.get("message", []):
        assert fragment in findings[0].message


def test_every_shipped_rule_has_a_passing_and_a_failing_case() -> None:
    covered: dict[str, set[str]] = {}
    for file in RULE_CASES.glob("*.yaml"):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert file.stem == document["rule"], f"{file.name} tests {document['rule']}"
        covered[document["rule"]] = {case["expect"] for case in document["cases"]}
    missing = [rule.id for rule in RULES if covered.get(rule.id) != {"pass", "fail"}]
    assert not missing, f"rules without a passing and a failing case: {missing}"


def test_cases_folder_exists() -> None:
    assert Path(RULE_CASES).is_dir()


def test_the_shipped_catalogue_reads_the_same_through_libyaml() -> None:
    """The shipped catalogue is composed by libyaml at start-up (``auditor.rules.nodes``); every
    rule, line numbers included, is what the pure-Python parser that reads ``--rules`` files gives."""
    from auditor.rules import default_rules_dir, rule_files
    from auditor.rules.nodes import shipped_catalogue
    from auditor.rules.spec import load_rule_file

    files = rule_files([default_rules_dir()])
    with shipped_catalogue():
        fast = [load_rule_file(f) for f in files]
    pure = [load_rule_file(f) for f in files]
    assert fast == pure and sum(map(len, pure)) > 30
    assert [s.line for specs in fast for s in specs] == [s.line for specs in pure for s in specs]
