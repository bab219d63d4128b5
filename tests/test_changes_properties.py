"""Hypothesis properties of the diff engine on generated records.

* ``diff(a, a)`` is empty;
* ``diff(b, a)`` is the mirror image of ``diff(a, b)`` (added ↔ removed, old ↔ new, days
  negated, same similarity; status flags recomputed for the new direction);
* applying the changes of ``diff(a, b)`` (and the metadata) to ``a`` gives ``b`` field for
  field, by identity.

The same three hold for records whose list items (path keys with ``[n]``) were inserted,
deleted, reordered and edited; there an item inserted or deleted alone shows as that item's
fields only (an index shift is no change).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.diff import Change, ChangeKind, SemanticClass, apply_changes, compare, diff, identities, mirrored
from auditor.readers.typing import type_field
from auditor.records import HEADER_SECTION, Record, Source, SourceFormat

WORDS = ["psoriasis", "stem", "cells", "safety", "effect", "efficacy", "of", "the", "and", "trial"]
STATUSES = ["NOT_YET_RECRUITING", "RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "UNKNOWN", "SUSPENDED"]
MISSING = st.sampled_from(["None", "N/A", ""])

text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).flatmap(
    lambda words: st.sampled_from([" ".join(words), "  ".join(words), " ".join(words) + "\n"])
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()[:7]),
    st.integers(1990, 2030).map(str),
    st.sampled_from(["2020-13", "September 2020"]),
    MISSING,
)
RAWS = {
    "Status": st.one_of(st.sampled_from(STATUSES), MISSING),
    "Last Known Status": st.sampled_from(STATUSES),
    "Start Date": dates,
    "Status Verified Date": dates,
    "Has Oversight DMC": st.sampled_from(["True", "False", "Yes", "No", "None"]),
    "Acronym": st.one_of(text, MISSING),
    "Brief Summary": text,
    "Enrollment": st.one_of(st.integers(0, 500).map(str), MISSING),
    "Condition": text,
    "contactsLocationsModule.locations[0].facility": text,
    "armsInterventionsModule.armGroups[1].label": text,
}
LABELS = sorted(RAWS)
SECTIONS = ["Study Overview", "Study Oversight", "Conditions"]


def rows(header: bool) -> st.SearchStrategy[list[tuple[str, str, str]]]:
    sections = [*SECTIONS, HEADER_SECTION] if header else SECTIONS
    row = st.sampled_from(LABELS).flatmap(
        lambda label: st.tuples(st.sampled_from(sections), st.just(label), RAWS[label])
    )
    return st.lists(row, max_size=10)


def build(rows_: list[tuple[str, str, str]], modified: datetime | None = None) -> Record:
    fields = tuple(type_field(section, label, raw)[0] for section, label, raw in rows_)
    return Record(
        "NCT03765957", Source("x.txt", SourceFormat.IGNITE_TEXT, "0" * 64), fields, ignite_modified=modified
    )


@st.composite
def record_pairs(draw: st.DrawFn) -> tuple[Record, Record]:
    """Two records of one study: both with a summary header or neither; ``b`` is usually an
    edit of ``a`` (fields kept, dropped, rewritten, moved; some added), sometimes unrelated."""
    header = draw(st.booleans())
    a_rows = draw(rows(header))
    if header:
        a_rows.insert(0, (HEADER_SECTION, "Status", "RECRUITING"))
    if draw(st.integers(0, 4)) == 0:
        b_rows = draw(rows(header))
    else:
        b_rows = []
        for section, label, raw in a_rows:
            action = draw(st.sampled_from(["keep", "keep", "drop", "edit", "move"]))
            if action == "keep":
                b_rows.append((section, label, raw))
            elif action == "edit":
                b_rows.append((section, label, draw(RAWS[label])))
            elif action == "move" and section != HEADER_SECTION:
                b_rows.append((draw(st.sampled_from(SECTIONS)), label, raw))
        b_rows += draw(rows(header).map(lambda r: r[:3]))
    if header and not any(s == HEADER_SECTION for s, _, _ in b_rows):
        b_rows.insert(0, (HEADER_SECTION, "Status", "UNKNOWN"))
    start = datetime(2026, 1, 1, 9, 30)
    a_time = draw(st.sampled_from([None, start]))
    b_time = None if a_time is None else start + timedelta(hours=draw(st.integers(0, 200)))
    return build(a_rows, a_time), build(b_rows, b_time)


def sides(change: Change) -> tuple[str | None, str | None, int, bool]:
    """Where the field was and where it is (``None``: absent), which names a change both ways."""
    was = (change.old_key or change.key) if change.old is not None else None
    now = change.key if change.new is not None else None
    return was, now, change.occurrence, change.header


def by_identity(record: Record) -> dict[tuple[str, int, bool], tuple[str, str, str]]:
    return {i: (f.section, f.label, f.raw) for i, f in identities(record).items()}


@settings(max_examples=40, deadline=None)
@given(record_pairs())
def test_a_record_has_no_changes_against_itself(pair: tuple[Record, Record]) -> None:
    a, _ = pair
    assert diff(a, a) == []
    assert compare(a, a).metadata == ()


@settings(max_examples=80, deadline=None)
@given(record_pairs())
def test_diff_b_a_mirrors_diff_a_b(pair: tuple[Record, Record]) -> None:
    a, b = pair
    assert_mirrored(a, b)


def assert_mirrored(a: Record, b: Record) -> None:
    forward = {sides(c): c for c in diff(a, b)}
    backward = {(s[1], s[0], *s[2:]): c for c in diff(b, a) if (s := sides(c))}
    assert forward.keys() == backward.keys()
    swap = {ChangeKind.ADDED: ChangeKind.REMOVED, ChangeKind.REMOVED: ChangeKind.ADDED}
    for ident, f in forward.items():
        r = backward[ident]
        assert r == mirrored(f)
        assert (r.old, r.new) == (f.new, f.old)
        assert r.kind == swap.get(f.kind, f.kind)
        assert r.semantic == f.semantic.mirror
        assert r.days == (None if f.days is None else -f.days)
        assert r.similarity == f.similarity
        assert len(r.word_diff) == len(f.word_diff)


@settings(max_examples=80, deadline=None)
@given(record_pairs())
def test_applying_diff_a_b_to_a_gives_b(pair: tuple[Record, Record]) -> None:
    a, b = pair
    assert_applies(a, b)


def assert_applies(a: Record, b: Record) -> None:
    result = compare(a, b, by_snapshot_date=False)
    applied = apply_changes(a, (*result.changes, *result.repeated, *result.metadata))
    assert by_identity(applied) == by_identity(b)
    assert applied.ignite_modified == b.ignite_modified
    assert diff(applied, b) == []


# --- list items ------------------------------------------------------------------------------

LIST_RAWS = {
    "facility": st.sampled_from(["Mayo Clinic", "Sarah Cannon", "Hope and Healing", "Attikon"]),
    "city": st.sampled_from(["Nashville", "Athens", "Rochester", ""]),
    "status": st.sampled_from(["RECRUITING", "COMPLETED"]),
}
item = st.fixed_dictionaries({}, optional=LIST_RAWS).filter(bool)


def list_record(locations: list[dict[str, str]], conditions: list[str]) -> Record:
    rows = [("Conditions", "Condition", "Psoriasis")]
    for i, loc in enumerate(locations):
        rows += [
            ("Contacts and Locations", f"contactsLocationsModule.locations[{i}].{k}", v)
            for k, v in loc.items()
        ]
    rows += [("Conditions", f"conditionsModule.conditions[{i}]", c) for i, c in enumerate(conditions)]
    return build(rows)


@st.composite
def list_pairs(draw: st.DrawFn) -> tuple[Record, Record]:
    """Two records whose location and condition lists differ by inserted, deleted, reordered
    and edited items."""
    old_locs = draw(st.lists(item, max_size=6))
    new_locs = list(old_locs)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["insert", "delete", "swap", "edit"]))
        if op == "insert" or not new_locs:
            new_locs.insert(draw(st.integers(0, len(new_locs))), draw(item))
            continue
        i = draw(st.integers(0, len(new_locs) - 1))
        if op == "delete":
            del new_locs[i]
        elif op == "swap":
            j = draw(st.integers(0, len(new_locs) - 1))
            new_locs[i], new_locs[j] = new_locs[j], new_locs[i]
        else:
            new_locs[i] = {**new_locs[i], **draw(item)}
    old_conds = draw(st.lists(st.sampled_from(WORDS), max_size=4))
    new_conds = (
        draw(st.permutations(old_conds)) if draw(st.booleans()) else draw(st.lists(st.sampled_from(WORDS)))
    )
    return list_record(old_locs, old_conds), list_record(new_locs, new_conds)


@settings(max_examples=100, deadline=None)
@given(list_pairs())
def test_list_edits_keep_the_three_properties(pair: tuple[Record, Record]) -> None:
    a, b = pair
    assert diff(a, a) == []
    assert_mirrored(a, b)
    assert_applies(a, b)


@settings(max_examples=50, deadline=None)
@given(st.lists(item, max_size=6), item, st.data())
def test_one_item_inserted_or_deleted_is_that_item_only(
    locations: list[dict[str, str]], new_item: dict[str, str], data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(locations)))
    longer = [*locations[:at], new_item, *locations[at:]]
    a, b = list_record(locations, []), list_record(longer, [])
    added = diff(a, b)
    assert {c.semantic for c in added} == {SemanticClass.ITEM_ADDED}
    assert len(added) == len(new_item)
    assert len({c.list_item for c in added}) == 1
    assert [c.semantic for c in diff(b, a)] == [SemanticClass.ITEM_REMOVED] * len(new_item)
