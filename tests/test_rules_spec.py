"""Rule files are validated before any data is read; every error names file, line and path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from auditor.check import check_records
from auditor.rules import RuleSet, load_rules
from auditor.rules.operators import OPERATORS
from auditor.rules.spec import RuleErrors, parse_rule_text

GOOD = """\
rules:
  - id: my-rule
    title: A rule
    severity: warning
    rationale: Because.
    source: a test
    params: {years: 2}
    when:
      all:
        - eq: {field: overall_status, value: UNKNOWN}
        - older_than: {field: status_verified_date, years: $years}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(RuleErrors) as info:
        parse_rule_text(text, "r.yaml")
    return [e.one_line() for e in info.value.errors]


def test_good_file_loads() -> None:
    (spec,) = parse_rule_text(GOOD, "r.yaml")
    assert spec.id == "my-rule" and spec.location == "r.yaml:2"
    assert spec.referenced_fields() == ("overall_status", "status_verified_date")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("older_than", "newer_thann"),
            "r.yaml:11: rules[0](my-rule).when.all[1].newer_thann: unknown operator",
        ),
        (
            ("status_verified_date", "status_verifed_date"),
            "r.yaml:11: rules[0](my-rule).when.all[1].older_than.field: unknown field 'status_verifed_date'",
        ),
        (
            ("value: UNKNOWN", "value: UNKNOWNN"),
            "r.yaml:10: rules[0](my-rule).when.all[0].eq.value: 'UNKNOWNN' is not a known value of",
        ),
        (
            ("$years", "$yeras"),
            "r.yaml:11: rules[0](my-rule).when.all[1].older_than.years: '$yeras' names no parameter",
        ),
        (
            ("severity: warning", "severity: fatal"),
            "r.yaml:4: rules[0](my-rule).severity: 'fatal' is not error, warning or info",
        ),
        (("id: my-rule", "id: My_Rule"), "r.yaml:2: rules[0].id: 'My_Rule' is not a kebab-case id"),
        (("    source: a test\n", ""), "r.yaml:2: rules[0]: missing 'source'"),
        (
            ("    title: A rule\n", "    title: A rule\n    colour: red\n"),
            "r.yaml:4: rules[0].colour: unknown key",
        ),
        (
            ("field: overall_status,", "field: old.overall_status,"),
            "r.yaml:10: rules[0](my-rule).when.all[0].eq.field: 'old.overall_status': 'old.' fields exist"
        ),
        (
            ("older_than: {field: status_verified_date, years: $years}", "changed: status_verified_date"),
            "r.yaml:11: rules[0](my-rule).when.all[1].changed: compares two snapshots: only in scope: pair",
        ),
        (
            (
                "older_than: {field: status_verified_date, years: $years}",
                "older_than: {field: overall_status, years: 1}",
            ),
            "older_than needs a date or timestamp field",
        ),
        (
            (
                "older_than: {field: status_verified_date, years: $years}",
                "older_than: {field: status_verified_date}",
            ),
            "r.yaml:11: rules[0](my-rule).when.all[1].older_than: give a period",
        ),
        (
            (
                "eq: {field: overall_status, value: UNKNOWN}",
                "matches: {field: brief_title, pattern: '(unclosed'}",
            ),
            "r.yaml:10: rules[0](my-rule).when.all[0].matches.pattern: bad regular expression",
        ),
        (
            ("params: {years: 2}", "params: {years: [2]}"),
            "r.yaml:7: rules[0](my-rule).params.years: a default must be a number or text",
        ),
        (
            ("    when:\n", "    when:\n      missing: brief_title\n"),
            "r.yaml:9: rules[0](my-rule).when: a condition is one operator",
        ),
    ],
)
def test_errors_name_file_line_and_path(edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    errors = _errors(GOOD.replace(old, new, 1))
    assert any(expected in e for e in errors), errors


def test_broken_yaml_names_the_line() -> None:
    (error,) = _errors(GOOD.replace("title: A rule", "title: [A rule"))
    assert error.startswith("r.yaml:") and "not valid YAML" in error


def test_every_error_is_reported_not_only_the_first() -> None:
    text = GOOD + GOOD.replace("rules:\n", "").replace("my-rule", "other").replace("UNKNOWN", "NOPE").replace(
        "warning", "loud"
    )
    errors = _errors(text)
    lines = text.splitlines()
    expected = {str(n + 1) for n, line in enumerate(lines) if "NOPE" in line or "loud" in line}
    assert len(errors) == 2
    assert {e.split(":")[1] for e in errors} == expected


def test_duplicate_key_and_duplicate_rule_id(tmp_path: Path) -> None:
    assert any(
        "given twice" in e
        for e in _errors(GOOD.replace("    title: A rule\n", "    title: A\n    title: B\n"))
    )
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(RuleErrors) as info:
        load_rules([tmp_path])
    assert "b.yaml:2: rule id 'my-rule' already defined at" in info.value.one_line()


def test_no_eval_yaml_tags_are_refused() -> None:
    errors = _errors(GOOD.replace("title: A rule", "title: !!python/object/apply:os.system ['echo hi']"))
    assert errors == ["r.yaml:3: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"]


def test_shipped_catalogue_loads_and_ids_are_kebab_case() -> None:
    rules = load_rules()
    assert len(rules) >= 20
    assert all(rule.source and rule.rationale for rule in rules)
    assert {"unknown-status-stale", "active-status-unverified"} <= set(rules.ids)
    assert all(rule.location.startswith("rules/") for rule in rules)


def test_select_by_id_and_tag_and_unknown_is_a_usage_error() -> None:
    rules = load_rules()
    assert rules.select(["unknown-status-stale"]).ids == ("unknown-status-stale",)
    assert set(rules.select(["staleness"]).ids) >= {"unknown-status-stale", "active-status-unverified"}
    from auditor.errors import UsageError

    with pytest.raises(UsageError):
        rules.select(["no-such-rule"])


def test_round_trip_load_dump_load() -> None:
    """A catalogue file read, written back with yaml.safe_dump, and read again gives equal specs."""
    for file in sorted(Path(load_rules().rules[0].file).parent.glob("*.yaml")) or []:
        text = file.read_text()
        first = parse_rule_text(text, "x.yaml")
        again = parse_rule_text(yaml.safe_dump(yaml.safe_load(text), sort_keys=False), "x.yaml")
        assert [(s.id, s.title, s.params, s.severity, s.scope) for s in first] == [
            (s.id, s.title, s.params, s.severity, s.scope) for s in again
        ]
        assert [_shape(s.when) for s in first] == [_shape(s.when) for s in again]


def _shape(cond: object) -> object:
    from auditor.rules.spec import ConditionSpec

    assert isinstance(cond, ConditionSpec)
    args = {
        k: [_shape(c) for c in v] if k == "conditions" else _shape(v) if k == "condition" else v
        for k, v in cond.args.items()
    }
    return cond.op, args


def test_every_operator_has_a_summary() -> None:
    assert all(signature.summary for _, signature in OPERATORS.values())


def test_param_override_reaches_the_operator() -> None:
    from rules_harness import build_record

    rules = RuleSet(tuple(parse_rule_text(GOOD, "r.yaml")))
    record = build_record({"fields": {"overall_status": "UNKNOWN", "status_verified_date": "2022-06"}})
    assert len(check_records([record], rules, as_of=date(2026, 1, 5))) == 1
    assert check_records([record], rules, params={"years": "5"}, as_of=date(2026, 1, 5)) == []
