"""The fast findings JSON writer gives exactly ``json.dumps(..., ensure_ascii=False, indent=1)``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.findings import Finding, Severity
from auditor.reports import findings_json
from auditor.reports.findings_json import SCHEMA, _indented, render_json

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=5) | st.integers() | st.booleans() | st.none(), children, max_size=4
        )
    ),
    max_leaves=20,
)


def _dumps(value: Any) -> str:
    out: list[str] = []
    _indented(value, 0, out)
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_same_text_as_the_standard_library(value: Any) -> None:
    assert _dumps(value) == json.dumps(value, ensure_ascii=False, indent=1)


def test_a_report_is_the_indented_document() -> None:
    findings = [
        Finding(
            rule_id="r",
            severity=Severity("warning"),
            nct_id="NCT01234567",
            snapshot='a "b"\\c\u2028é.json',
            fields=("start_date",),
            message="line\nbreak\x00",
            rule_source="rules/x.yaml:3",
            title="T",
            values=(("start_date", "2020-01"),),
            line=7,
        ),
        Finding("s", Severity("error"), "NCT01234568", "p", (), "m", "rules/y.yaml:1"),
    ]
    document = {"schema": SCHEMA, "count": 2, "findings": [f.to_dict() for f in findings]}
    assert render_json(findings) == json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    assert render_json([]) == json.dumps({"schema": SCHEMA, "count": 0, "findings": []}, indent=1) + "\n"


TEXT = st.text(max_size=12)
FINDINGS = st.builds(
    Finding,
    rule_id=st.sampled_from(["r", "s", 'q"\\']),
    severity=st.sampled_from(list(Severity)),
    nct_id=TEXT,
    snapshot=TEXT,
    fields=st.lists(TEXT, max_size=3).map(tuple),
    message=TEXT,
    rule_source=st.sampled_from(["rules/x.yaml:3", "é\u2028"]),
    title=TEXT,
    values=st.lists(st.tuples(st.sampled_from(["a", "b", "é", ""]), TEXT), max_size=3).map(tuple),
    line=st.none() | st.integers(min_value=0),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FINDINGS, max_size=6))
def test_any_findings_give_the_indented_document(findings: list[Finding]) -> None:
    document = {"schema": SCHEMA, "count": len(findings), "findings": [f.to_dict() for f in findings]}
    assert render_json(findings) == json.dumps(document, ensure_ascii=False, indent=1) + "\n"


@settings(max_examples=100, deadline=None)
@given(st.lists(FINDINGS, max_size=9), st.integers(min_value=1, max_value=4))
def test_the_pieces_written_one_by_one_are_the_document(findings: list[Finding], per_piece: int) -> None:
    """``audit check --format json -o FILE`` writes the report a piece at a time: the pieces, cut
    anywhere, join to the whole document."""
    document = {"schema": SCHEMA, "count": len(findings), "findings": [f.to_dict() for f in findings]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(findings_json, "PIECE_FINDINGS", per_piece)
        pieces = list(findings_json.json_pieces(findings))
    assert "".join(pieces) == json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    assert len(pieces) == (2 + -(-len(findings) // per_piece) if findings else 1)
