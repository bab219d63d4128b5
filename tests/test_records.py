"""The record model: columns in, the same fields out, the same answers as before.

A record keeps its fields as columns (``FieldColumns``) and makes ``Field`` objects when asked;
these tests hold it to the plain model: a record built from fields and one built from columns are
equal, hash alike, pickle, ``dataclasses.replace`` works, and the key index picks the same field
as the reference rule (first with the key, a body field over a header one).
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.records import HEADER_SECTION, Field, FieldColumns, Record, Source, SourceFormat
from auditor.values import Missing, PartialDate, ValueType

SOURCE = Source("x.txt", SourceFormat.IGNITE_TEXT, "0" * 64)


def _field(section: str, key: str, raw: str, line: int) -> Field:
    return Field(section, key.title(), key, raw, ValueType.TEXT, raw, line)


def _reference_get(fields: list[Field], key: str) -> Field | None:
    """The rule as first written: the first field with the key, unless it is in the header and a
    later one is not."""
    chosen = None
    for f in fields:
        if f.key != key:
            continue
        if chosen is None or (chosen.section == HEADER_SECTION and f.section != HEADER_SECTION):
            chosen = f
    return chosen


FIELDS = st.lists(
    st.tuples(st.sampled_from([HEADER_SECTION, "Status", "Misc"]), st.sampled_from(["a", "b", "c", "d"])),
    max_size=14,
).map(lambda rows: [_field(section, key, f"{key}{i}", i + 1) for i, (section, key) in enumerate(rows)])


@given(FIELDS)
def test_get_picks_what_the_reference_rule_picks(fields: list[Field]) -> None:
    from_fields = Record("NCT01234567", SOURCE, fields)
    from_columns = Record("NCT01234567", SOURCE, columns=FieldColumns.of(fields))
    keys_in_order = list(dict.fromkeys(f.key for f in fields))
    for record in (from_fields, from_columns):
        assert list(record.keys()) == keys_in_order
        for key in ("a", "b", "c", "d", "zz"):
            expected = _reference_get(fields, key)
            assert record.get(key) == expected
            assert record.value(key) == (None if expected is None else expected.value)
    assert from_fields == from_columns
    assert hash(from_fields) == hash(from_columns)
    assert from_columns.fields == tuple(fields)


def test_records_pickle_and_replace() -> None:
    fields = [
        Field(
            "Status",
            "Status Verified Date",
            "status_verified_date",
            "2020-09",
            ValueType.DATE,
            PartialDate(2020, 9),
        ),
        Field("Study Overview", "Acronym", "acronym", "None", ValueType.MISSING, Missing("None"), 3),
    ]
    record = Record("NCT01234567", SOURCE, columns=FieldColumns.of(fields), truncated=True, problems=("p",))
    again = pickle.loads(pickle.dumps(record))
    assert again == record
    assert again.fields == tuple(fields)
    assert again.get("acronym") == fields[1]
    shorter = dataclasses.replace(record, fields=fields[:1])
    assert shorter.fields == tuple(fields[:1])
    assert shorter.get("acronym") is None
    assert shorter.truncated and shorter.problems == ("p",)
    renamed = dataclasses.replace(record, nct_id="NCT07654321")
    assert renamed.fields == record.fields and renamed.nct_id == "NCT07654321"


def test_columns_must_line_up() -> None:
    columns = FieldColumns.of([_field("Misc", "a", "x", 1)])
    with pytest.raises(ValueError, match="lengths"):
        dataclasses.replace(columns, raw=())
