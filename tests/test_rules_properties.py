"""Property tests of the rule loader and compiler: any text gives rules or RuleErrors (never
another exception), and compiled conditions obey the logic their names promise."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.check import check_records
from auditor.errors import UsageError
from auditor.readers import read_path
from auditor.records import Record
from auditor.rules import RuleSet
from auditor.rules.compile import compile_rules
from auditor.rules.spec import RuleErrors, parse_rule_text

HOSTILE = Path(__file__).parent / "hostile"
AS_OF = date(2026, 1, 1)
VALID = """\
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

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["$years", "UNKNOWN", "overall_status", "eq", "older_than", "error", "record", "pair"]),
)
KEYS = ("rules", "id", "title", "severity", "rationale", "source", "when", "params", "scope", "tags")
OPS = ("message", "all", "any", "not", "eq", "ne", "missing", "older_than", "field", "value", "years", "x")
keys = st.sampled_from([*KEYS, *OPS])
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_yaml_document_gives_rules_or_rule_errors(document: Any) -> None:
    text = yaml.safe_dump({"rules": [document]} if not isinstance(document, dict) else document)
    try:
        specs = parse_rule_text(text, "r.yaml")
    except RuleErrors as exc:
        assert exc.errors and all(e.one_line().startswith("r.yaml") for e in exc.errors)
        return
    with contextlib.suppress(UsageError):  # e.g. a period too long for --as-of
        compile_rules(specs, as_of=AS_OF)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 8), st.text(max_size=8)), max_size=4))
def test_any_edit_of_a_valid_file_gives_rules_or_rule_errors(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    try:
        specs = parse_rule_text(text, "r.yaml")
    except RuleErrors:
        return
    with contextlib.suppress(UsageError):  # e.g. a period too long for --as-of
        compile_rules(specs, as_of=AS_OF)


# --- compiled logic ----------------------------------------------------------------------------

ATOMS = [
    {"eq": {"field": "overall_status", "value": "RECRUITING"}},
    {"eq": {"field": "overall_status", "value": "UNKNOWN"}},
    {"missing": {"field": "acronym"}},
    {"present": {"field": "detailed_description"}},
    {"invalid": {"field": "status_verified_date"}},
    {"older_than": {"field": "status_verified_date", "years": 3}},
    {"newer_than": {"field": "status_verified_date", "months": 70}},
]
conditions = st.recursive(
    st.sampled_from(ATOMS),
    lambda children: st.one_of(
        st.builds(lambda c: {"not": c}, children),
        st.builds(lambda cs: {"all": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def records() -> list[Record]:
    names = [
        "good/good.txt",
        "dates_day_31.txt",
        "unknown_status.txt",
        "label_no_value.txt",
        "json_bad_dates.json",
    ]
    return [r for name in names for r in read_path(HOSTILE / name)]


def fired(when: dict[str, Any], records: list[Record]) -> set[str]:
    rule = {"id": "p", "title": "t", "severity": "info", "rationale": "r", "source": "s", "when": when}
    specs = parse_rule_text(yaml.safe_dump({"rules": [rule]}), "p.yaml")
    return {f.nct_id for f in check_records(records, RuleSet(tuple(specs)), as_of=AS_OF)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conditions)
def test_compiled_conditions_obey_boolean_logic(records: list[Record], when: dict[str, Any]) -> None:
    everyone = {r.nct_id for r in records}
    hits = fired(when, records)
    assert fired({"not": when}, records) == everyone - hits
    assert fired({"not": {"not": when}}, records) == hits
    assert fired({"any": [when, {"not": when}]}, records) == everyone
    assert fired({"all": [when, {"not": when}]}, records) == set()
