"""The Ignite text reader's shortcuts build exactly what ``type_field`` builds.

The reader types and builds its fields without calling ``type_field`` for most of them
(``auditor.readers.ignite_body.build_fields``); these tests hold the shortcuts to the general
machinery on arbitrary labels, keys and values.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.fields import PATH_LABEL, path_key, registry
from auditor.readers.ignite_body import build_fields
from auditor.readers.ignite_labels import path_label_key
from auditor.readers.ignite_text import read_ignite_text
from auditor.readers.typing import UNTYPED_LITERALS, registered_typing, type_field
from auditor.records import Field, FieldColumns
from auditor.values import ValueType

REG = registry()
KEYS = sorted(REG.by_key)
RAWS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(sorted(UNTYPED_LITERALS | {"2020-13", "2020-01", "Yes", "No", "12", "x" * 100})),
    st.sampled_from(sorted(UNTYPED_LITERALS)).map(lambda literal: f" {literal}\t"),
    st.sampled_from([" x", "x ", "\u2003True", "None\u00a0", "\x1c", "a\nb"]),
    st.sampled_from(sorted({v for s in REG.specs for v in s.enum})),
)


def _reference(
    labels: list[str], line_nos: list[int], keys: list[str], sections: list[str], values: list[str]
) -> tuple[list[Field], list[str]]:
    """The reader's fields and problems as ``type_field`` builds them, one by one."""
    fields, problems, seen = [], [], {}
    for label, line, key, section, raw in zip(labels, line_nos, keys, sections, values, strict=True):
        made, problem = type_field(section, label, raw, key=key, line=line)
        fields.append(made)
        if problem is not None:
            problems.append(f"line {line}: {problem}")
        earlier = seen.setdefault((section, label), line)
        if earlier != line:
            problems.append(f"line {line}: duplicate label {label!r} (first at line {earlier})")
    return fields, problems


def test_fields_made_from_columns_are_the_fields() -> None:
    """Records hold columns and make Field objects by slot setters: the same objects."""
    args = ("Status", "Start Date", "start_date", "2020-01", ValueType.TEXT, "2020-01", 7)
    expected = Field(*args)
    columns = FieldColumns.of([expected, expected])
    for made in (*columns.fields(), columns.field(1)):
        assert made == expected
        assert hash(made) == hash(expected)
        assert repr(made) == repr(expected)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KEYS), RAWS)
def test_registered_typing_matches_make_field(key: str, raw: str) -> None:
    spec = REG.by_key[key]
    expected, problem = type_field("Somewhere", "As Written", raw, key=key)
    for _ in range(2):  # computed, then from the cache
        type_, value, bare_problem = registered_typing(spec, raw)
        assert (type_, value) == (expected.type, expected.value)
        assert problem == (None if bare_problem is None else f"As Written: {bare_problem}")


FIELD_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["Brief Title", "Start Date", "Status", "designModule.phases[0]", "Extra Note"]),
        st.one_of(st.sampled_from(KEYS), st.sampled_from(["design_module.phases[0]", "extra_note", "x"])),
        st.sampled_from(["Header", "Status", "Misc"]),
        RAWS,
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(FIELD_ROWS)
def test_build_fields_matches_make_field(rows: list[tuple[str, str, str, str]]) -> None:
    labels = [r[0] for r in rows]
    keys = [r[1] for r in rows]
    sections = [r[2] for r in rows]
    values = [r[3] for r in rows]
    line_nos = [i + 3 for i in range(len(rows))]
    problems: list[str] = []
    fields = list(build_fields(labels, line_nos, keys, sections, values, problems).fields())
    expected_fields, expected_problems = _reference(labels, line_nos, keys, sections, values)
    assert fields == expected_fields
    assert [f.to_dict() for f in fields] == [f.to_dict() for f in expected_fields]
    assert problems == expected_problems


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_pages_are_found_whatever_the_line_breaks(newline: str) -> None:
    page = ["Viewing Study NCT01234567", "", "Brief Title: A", "Viewing Studying: no", ""]
    second = ["Viewing Study NCT07654321", "Brief Title: B", "Has Results: maybe"]
    text = newline.join(["stray text", *page, *second]) + newline
    records = read_ignite_text(text.encode(), "two.txt")
    assert [r.nct_id for r in records] == ["NCT01234567", "NCT07654321"]  # type: ignore[union-attr]
    first, last = records
    # "Viewing Studying" does not start a page: it is an unknown field after a single-line one.
    assert [(f.label, f.raw, f.line) for f in first.fields] == [  # type: ignore[union-attr]
        ("Brief Title", "A", 4),
        ("Viewing Studying", "no", 5),
    ]
    assert [f.line for f in last.fields] == [8, 9]  # type: ignore[union-attr]
    assert first.problems == (  # type: ignore[union-attr]
        "line 1: 1 line(s) of text before 'Viewing Study' left out of the record (first: 'stray text')",
    )
    assert last.problems == ("line 9: Has Results: 'maybe' is not True or False",)  # type: ignore[union-attr]


PATHISH = st.one_of(
    st.from_regex(PATH_LABEL, fullmatch=True),
    st.text(alphabet="aZb_9.[]0١x", max_size=24),
    st.from_regex(PATH_LABEL, fullmatch=True).map(lambda s: s.replace("[", "[ ", 1)),
)


@settings(max_examples=500, deadline=None)
@given(PATHISH)
def test_path_labels_are_read_as_the_registry_reads_them(label: str) -> None:
    """The reader's cut-at-the-indices reading of a path label is ``PATH_LABEL`` + ``path_key``."""
    expected = path_key(label) if PATH_LABEL.fullmatch(label) else None
    assert path_label_key(label) == expected
