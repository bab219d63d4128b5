"""Rule tests that catch a wrong rule: every clause of every shipped rule is needed by a case.

Each rule is weakened one clause at a time (:func:`rules_harness.mutants`: drop a condition
from an ``all`` / ``any``, drop or add a value of an ``isin``, change an ``eq`` value, move a
number, date, period or parameter default by one unit) and run over the rule's own cases in
``tests/rules/<rule-id>.yaml``; a weakened rule that every case still agrees with is a clause no
case needs — the rule could be wrong there and nothing would notice. The check runs the rules'
masks over one table per group of cases, so the whole catalogue takes seconds.
"""

from __future__ import annotations

import pytest
from rules_harness import case_record, case_rows, case_tables, load_cases, mutants, outcomes

from auditor.rules import load_rules

RULES = load_rules()
CASES = load_cases()


@pytest.mark.parametrize("rule_id", [rule.id for rule in RULES])
def test_every_clause_of_the_rule_is_needed_by_a_case(rule_id: str) -> None:
    spec = RULES.get(rule_id)
    document = CASES[rule_id]
    rows = case_rows(document, case_record)
    tables = case_tables(document, rows)
    expected = [case["expect"] == "fail" for case, _ in rows]
    assert outcomes(spec, tables) == expected, "the rule itself disagrees with its cases"
    survivors = [m.what for m in mutants(spec) if outcomes(m.spec, tables) == expected]
    assert not survivors, f"{rule_id}: no case notices these changes: {survivors}"


def test_the_check_notices_cases_that_do_not_test_every_clause() -> None:
    """With only its first (failing) case, results-overdue could lose most of its clauses
    unnoticed: the check must say so, naming them."""
    spec = RULES.get("results-overdue")
    document = {**CASES["results-overdue"], "cases": CASES["results-overdue"]["cases"][:1]}
    tables = case_tables(document, case_rows(document, case_record))
    survivors = [m.what for m in mutants(spec) if outcomes(m.spec, tables) == [True]]
    assert "when.all[1].missing: always true" not in survivors  # only real mutants are named
    assert "when.all: drop [1] missing" in survivors and "when.all: drop [2] not" in survivors
    assert any(what.startswith("params.due_after") for what in survivors)
