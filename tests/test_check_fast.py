"""The fast check (the schema's checks called directly, findings built a column at a time) gives
the findings the pandera lazy validation and the row-by-row formatting gave, bit for bit."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracles import failing_rows_lazy, reference_check_table
from rules_harness import build_record

from auditor.check import check_table, failing_rows
from auditor.readers import read_paths
from auditor.records import Record
from auditor.rules import RuleSet, load_rules
from auditor.rules.compile import compile_rules
from auditor.rules.spec import parse_rule_text
from auditor.table import display, display_column, pairs_table, records_table

AS_OF = date(2026, 11, 25)


@pytest.fixture(scope="module")
def corpus_records(mixed_corpus_paths: list[Path]) -> list[Record]:
    return [r for r in read_paths(mixed_corpus_paths) if isinstance(r, Record)]


@pytest.fixture(scope="module")
def corpus_table(corpus_records: list[Record]) -> pd.DataFrame:
    return records_table(corpus_records)


@pytest.fixture(scope="module")
def corpus_pairs(corpus_records: list[Record]) -> pd.DataFrame:
    by_study: dict[str, list[Record]] = defaultdict(list)
    for record in corpus_records:
        by_study[record.nct_id].append(record)
    pairs = [(a, b) for versions in by_study.values() for a, b in itertools.pairwise(versions)]
    assert len(pairs) > 50
    return pairs_table(pairs)


def test_record_rules_on_the_corpus_give_the_reference_findings(corpus_table: pd.DataFrame) -> None:
    rules = load_rules()
    fast = check_table(corpus_table, rules, as_of=AS_OF)
    assert len(fast) > 100 and len({f.rule_id for f in fast}) >= 5
    assert fast == reference_check_table(corpus_table, rules, as_of=AS_OF)
    compiled = compile_rules(list(rules.scope("record")), as_of=AS_OF)
    lazy = failing_rows_lazy(corpus_table, compiled)
    for mine, reference in zip(failing_rows(corpus_table, compiled), lazy, strict=True):
        assert np.array_equal(mine, reference)


def test_pair_rules_on_the_corpus_give_the_reference_findings(corpus_pairs: pd.DataFrame) -> None:
    rules = load_rules()
    fast = check_table(corpus_pairs, rules, as_of=AS_OF)
    assert fast == reference_check_table(corpus_pairs, rules, as_of=AS_OF)


def test_display_column_is_display_for_every_column_and_row(
    corpus_table: pd.DataFrame, corpus_pairs: pd.DataFrame
) -> None:
    odd = records_table(
        [
            build_record({"fields": {"status_verified_date": "0999-01", "enrollment_count": "abc"}}),
            build_record({"fields": {"why_stopped": "", "overall_status": "None"}, "truncated": True}),
            build_record({"ignite_created": "2026-01-05 @ 4:48 PM", "fields": {"start_date": "2020"}}),
        ]
    )
    for frame in (corpus_table, odd, corpus_pairs.head(40)):
        rows = np.arange(len(frame))[::-1]  # any order of positions
        records = frame.take(rows).to_dict("records")
        names = [c for c in frame.columns if "__" not in str(c)]
        for name in names:
            assert display_column(frame, name, rows) == [display(row, name) for row in records], name


def test_messages_fill_params_as_of_and_unshown_fields() -> None:
    text = """
rules:
  - id: verified-long-ago
    title: Verified long ago
    severity: warning
    rationale: r
    source: s
    params: {years: 2}
    fields: [overall_status]
    when:
      older_than: {field: status_verified_date, years: $years}
    message: "{overall_status} / {status_verified_date} / {brief_title} / {years} years before {as_of}"
  - id: no-template
    title: No template
    severity: info
    rationale: r
    source: s
    when:
      older_than: {field: status_verified_date, years: 1}
"""
    rules = RuleSet(parse_rule_text(text, "inline.yaml"))
    frame = records_table(
        [
            build_record({"fields": {"status_verified_date": "2019-05", "brief_title": "x" * 300}}),
            build_record({"nct_id": "NCT00000002", "fields": {"status_verified_date": "2026"}}),
            build_record({"nct_id": "NCT00000003", "fields": {"status_verified_date": "2010-01-02"}}),
        ]
    )
    fast = check_table(frame, rules, as_of=AS_OF, params={"years": 3})
    assert [f.rule_id for f in fast] == ["verified-long-ago", "no-template"] * 2
    assert fast == reference_check_table(frame, rules, as_of=AS_OF, params={"years": 3})
    assert "(absent) / 2019-05 / xxx" in fast[0].message
    assert fast[0].message.endswith("3 years before 2026-11-25")
