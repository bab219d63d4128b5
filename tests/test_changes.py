"""The diff engine on hand-built records: matching, every semantic class, notes, metadata."""

from __future__ import annotations

from datetime import datetime

import pytest

import auditor
from auditor.diff import (
    ChangeKind,
    SemanticClass,
    apply_changes,
    compare,
    diff,
    mirrored,
    status_flag,
    word_diff,
)
from auditor.errors import UsageError
from auditor.readers.typing import type_field
from auditor.records import HEADER_SECTION, Field, Record, Source, SourceFormat

S = SemanticClass


def rec(
    *rows: tuple[str, str, str] | tuple[str, str],
    nct: str = "NCT03765957",
    fmt: SourceFormat = SourceFormat.IGNITE_TEXT,
    modified: datetime | None = None,
    path: str = "x.txt",
) -> Record:
    fields: list[Field] = []
    for row in rows:
        section, label, raw = row if len(row) == 3 else ("Study Overview", *row)  # type: ignore[misc]
        fields.append(type_field(section, label, raw)[0])
    return Record(nct, Source(path, fmt, "0" * 64), tuple(fields), ignite_modified=modified)


def one(old: Record, new: Record):  # type: ignore[no-untyped-def]
    changes = diff(old, new)
    assert len(changes) == 1, [c.summary for c in changes]
    return changes[0]


def test_identical_records_have_no_changes() -> None:
    a = rec(("Status", "RECRUITING"), ("Brief Title", "A study"))
    assert diff(a, a) == []
    assert compare(a, a).changes == ()


def test_auditor_diff_is_the_public_entry_point() -> None:
    a = rec(("Status", "RECRUITING"))
    b = rec(("Status", "COMPLETED"))
    [change] = auditor.diff(a, b)
    assert isinstance(change, auditor.Change)
    assert change.key == "overall_status"


@pytest.mark.parametrize(
    ("old", "new", "flag"),
    [
        ("RECRUITING", "UNKNOWN", "into_unknown"),
        ("COMPLETED", "RECRUITING", "backwards"),
        ("ACTIVE_NOT_RECRUITING", "RECRUITING", None),  # a re-opening: news, not an alarm
        ("RECRUITING", "ACTIVE_NOT_RECRUITING", None),
        ("RECRUITING", "ENROLLING_BY_INVITATION", None),
        ("COMPLETED", "TERMINATED", None),
        ("UNKNOWN", "COMPLETED", None),
        ("RECRUITING", "SUSPENDED", None),
        ("NOT_YET_RECRUITING", "WITHDRAWN", None),
    ],
)
def test_status_transitions_flag_backwards_and_into_unknown(old: str, new: str, flag: str | None) -> None:
    change = one(rec(("Status", old)), rec(("Status", new)))
    assert change.semantic is S.STATUS_TRANSITION
    assert change.kind is ChangeKind.CHANGED
    assert change.flag == flag
    assert change.summary.startswith(f"status {old} → {new}")


def test_legacy_status_spelling_is_the_same_status() -> None:
    change = one(rec(("Status", "Active, not recruiting")), rec(("Status", "ACTIVE_NOT_RECRUITING")))
    assert change.semantic is S.FORMAT_ONLY
    assert change.cosmetic
    assert status_flag("RECRUITING", "UNKNOWN") == "into_unknown"


@pytest.mark.parametrize(
    ("old", "new", "semantic", "days"),
    [
        ("2020-09-23", "2020-10-05", S.DATE_SHIFTED, 12),
        ("2020-10-05", "2020-09-23", S.DATE_SHIFTED, -12),
        ("2020-09", "2020-09-23", S.DATE_PRECISION_CHANGED, 22),
        ("2020-09-23", "2020-09", S.DATE_PRECISION_CHANGED, -22),
        ("2020", "2020-03", S.DATE_PRECISION_CHANGED, 60),
        ("2020-09", "2020-10-02", S.DATE_SHIFTED, 31),
        ("September 2020", "2020-09", S.FORMAT_ONLY, None),
        ("None", "2020-09", S.DATE_SET, None),
        ("2020-09", "N/A", S.DATE_CLEARED, None),
    ],
)
def test_date_changes(old: str, new: str, semantic: SemanticClass, days: int | None) -> None:
    change = one(rec(("Start Date", old)), rec(("Start Date", new)))
    assert change.semantic is semantic
    assert change.days == days


def test_date_shift_is_described_in_days_and_direction() -> None:
    later = one(rec(("Start Date", "2020-09-23")), rec(("Start Date", "2020-10-05")))
    assert later.summary == "date 2020-09-23 → 2020-10-05: 12 days later"
    earlier = mirrored(later)
    assert earlier.summary == "date 2020-10-05 → 2020-09-23: 12 days earlier"
    precision = one(rec(("Status Verified Date", "2020-09")), rec(("Status Verified Date", "2020-09-23")))
    assert precision.summary == "date 2020-09 → 2020-09-23: precision month → day"


def test_boolean_flip_and_spelling() -> None:
    flip = one(rec(("Has Oversight DMC", "True")), rec(("Has Oversight DMC", "False")))
    assert flip.semantic is S.BOOLEAN_FLIPPED
    assert (flip.old_value, flip.new_value) == (True, False)
    same = one(rec(("Delayed Posting", "No")), rec(("Delayed Posting", "False")))
    assert same.semantic is S.FORMAT_ONLY


@pytest.mark.parametrize(
    ("old", "new", "semantic", "summary"),
    [
        ("None", "PSO-MSC", S.MISSING_TO_VALUE, "value set: None → PSO-MSC"),
        ("PSO-MSC", "N/A", S.VALUE_TO_MISSING, "value cleared: PSO-MSC → N/A"),
        ("None", "N/A", S.MISSING_KIND_CHANGED, "None → N/A (not answered → not applicable)"),
        ("N/A", "", S.MISSING_KIND_CHANGED, 'N/A → "" (not applicable → left empty)'),
    ],
)
def test_none_na_and_empty_are_distinct(old: str, new: str, semantic: SemanticClass, summary: str) -> None:
    change = one(rec(("Acronym", old)), rec(("Acronym", new)))
    assert change.semantic is semantic
    assert change.summary == summary


def test_text_edit_has_word_diff_and_similarity() -> None:
    old = "To evaluate the effect and safety of treatment of psoriasis"
    new = "To evaluate the efficacy and safety of treatment of plaque psoriasis"
    change = one(rec(("Brief Summary", old)), rec(("Brief Summary", new)))
    assert change.semantic is S.TEXT_EDITED
    assert change.word_diff == (
        ("equal", "To evaluate the"),
        ("delete", "effect"),
        ("insert", "efficacy"),
        ("equal", "and safety of treatment of"),
        ("insert", "plaque"),
        ("equal", "psoriasis"),
    )
    assert change.similarity == pytest.approx(2 * 9 / 21)
    assert change.summary == "text edited, 86% similar"


def test_whitespace_only_is_told_apart() -> None:
    change = one(rec(("Brief Summary", "two  words\n")), rec(("Brief Summary", "two words")))
    assert change.semantic is S.WHITESPACE_ONLY
    assert change.cosmetic
    ratio, ops = word_diff("a b", "a b")
    assert ratio == 1.0 and ops == (("equal", "a b"),)


def test_numbers_enums_and_type_changes() -> None:
    n = one(rec(("Study Design", "Enrollment", "50")), rec(("Study Design", "Enrollment", "60")))
    assert n.semantic is S.NUMBER_CHANGED and n.summary == "50 → 60 (+10)"
    e = one(rec(("Study Design", "Allocation", "RANDOMIZED")), rec(("Study Design", "Allocation", "NA")))
    assert e.semantic is S.ENUM_CHANGED
    t = one(rec(("Start Date", "2020-13")), rec(("Start Date", "2020-12")))
    assert t.semantic is S.VALUE_CHANGED


def test_added_removed_and_repeated_keys_match_by_occurrence() -> None:
    a = rec(("Conditions", "Condition", "Psoriasis"), ("Conditions", "Condition", "Eczema"))
    b = rec(
        ("Conditions", "Condition", "Psoriasis"),
        ("Conditions", "Condition", "Acne"),
        ("Conditions", "Condition", "X"),
    )
    changes = diff(a, b)
    assert [(c.identity, c.kind) for c in changes] == [
        ("condition#1", ChangeKind.CHANGED),
        ("condition#2", ChangeKind.ADDED),
    ]
    assert changes[1].semantic is S.FIELD_ADDED
    back = diff(b, a)
    assert back[1].kind is ChangeKind.REMOVED and back[1].semantic is S.FIELD_REMOVED


def test_moved_section() -> None:
    a = rec(("Study Oversight", "Has Oversight DMC", "True"))
    b = rec(("Study Overview", "Has Oversight DMC", "True"))
    change = one(a, b)
    assert change.kind is ChangeKind.MOVED and change.semantic is S.SECTION_MOVED
    assert change.moved_from == "Study Oversight" and change.section == "Study Overview"
    c = rec(("Study Overview", "Has Oversight DMC", "False"))
    both = one(a, c)
    assert both.kind is ChangeKind.CHANGED and both.moved_from == "Study Oversight"


def test_header_compared_only_when_both_have_one() -> None:
    head = (HEADER_SECTION, "Status", "RECRUITING")
    a = rec(head, ("Status", "RECRUITING"))
    b = rec((HEADER_SECTION, "Status", "UNKNOWN"), ("Status", "UNKNOWN"))
    changes = diff(a, b)
    # The summary block repeats the body's status change: one change, the copy set apart.
    assert [(c.identity, c.header) for c in changes] == [("overall_status", False)]
    assert [c.identity for c in compare(a, b).repeated] == ["Header:overall_status"]
    json_like = rec(("Status", "UNKNOWN"), fmt=SourceFormat.CTGOV_JSON)
    result = compare(a, json_like)
    assert [c.identity for c in result.changes] == ["overall_status"]
    assert any("summary header of the before snapshot not compared (1 fields)" in n for n in result.notes)


def test_path_fields_across_formats_compare_only_when_on_both_sides() -> None:
    xml = rec(
        ("Contacts and Locations", "clinical_study.location[0].facility.name", "Hospital"),
        ("Contacts and Locations", "clinical_study.location[0].investigator[0].last_name", "Smith"),
        ("Status", "Recruiting"),
        fmt=SourceFormat.CTGOV_XML,
    )
    js = rec(
        ("Contacts and Locations", "contactsLocationsModule.locations[0].facility", "Hospital"),
        ("Contacts and Locations", "contactsLocationsModule.locations[0].geoPoint.lat", "38.0"),
        ("Status", "UNKNOWN"),
        fmt=SourceFormat.CTGOV_JSON,
    )
    result = compare(xml, js)
    # the XML site's facility is compared under its API v2 name (the same: no change)
    assert [c.key for c in result.changes] == ["overall_status"]
    assert any("2 path fields present on one side only were not comparable" in n for n in result.notes)
    renamed = compare(
        xml,
        rec(
            *js.fields[:0],
            ("Contacts and Locations", "contactsLocationsModule.locations[0].facility", "Clinic"),
            ("Status", "Recruiting"),
            fmt=SourceFormat.CTGOV_JSON,
        ),
    )
    assert [(c.key, c.old_raw, c.new_raw) for c in renamed.changes] == [
        ("contacts_locations_module.locations[0].facility", "Hospital", "Clinic")
    ]
    same_format = compare(js, rec(("Status", "UNKNOWN"), fmt=SourceFormat.CTGOV_JSON))
    assert {c.semantic for c in same_format.changes} == {S.ITEM_REMOVED}


def test_different_studies_need_force() -> None:
    a, b = rec(("Status", "RECRUITING")), rec(("Status", "RECRUITING"), nct="NCT00000001")
    with pytest.raises(UsageError, match=r"not the same study: NCT03765957 .* NCT00000001"):
        diff(a, b)
    result = compare(a, b, force=True)
    assert result.changes == ()
    assert "different studies compared (--force)" in result.notes[0]


def test_ignite_dates_and_ignored_keys_are_metadata() -> None:
    a = rec(
        ("Status", "RECRUITING"),
        ("Derived", "Version Holder", "2026-01-01"),
        modified=datetime(2026, 1, 1, 9),
    )
    b = rec(
        ("Status", "RECRUITING"),
        ("Derived", "Version Holder", "2026-01-09"),
        modified=datetime(2026, 1, 9, 9),
    )
    result = compare(a, b, ignore=["Version Holder"])
    assert result.changes == ()
    assert [(c.key, c.semantic, c.days) for c in result.metadata] == [
        ("ignite_modified", S.DATE_SHIFTED, 8),
        ("version_holder", S.DATE_SHIFTED, 8),
    ]
    assert result.ignored == ("version_holder",)
    # The API's data-version date is snapshot metadata by default.
    assert compare(a, b).changes == ()
    assert [c.key for c in compare(a, b).metadata] == ["ignite_modified", "version_holder"]
    glob = compare(a, b, ignore=["version_*"])
    assert glob.changes == ()


def test_older_snapshot_is_shown_before_whatever_the_order() -> None:
    old = rec(("Status", "RECRUITING"), modified=datetime(2026, 1, 1), path="old.txt")
    new = rec(("Status", "UNKNOWN"), modified=datetime(2026, 2, 1), path="new.txt")
    result = compare(new, old)
    assert result.swapped
    assert result.before.source.path == "old.txt"
    assert result.changes[0].flag == "into_unknown"
    assert "arguments swapped: old.txt is the older snapshot" in result.notes[0]
    assert not compare(old, new).swapped
    # diff() keeps the arguments' order
    assert diff(new, old)[0].new_raw == "RECRUITING"


def test_apply_changes_rebuilds_the_new_record() -> None:
    a = rec(
        (HEADER_SECTION, "Status", "RECRUITING"),
        ("Status", "RECRUITING"),
        ("Acronym", "None"),
        ("Conditions", "Condition", "A"),
        ("Study Oversight", "Has Oversight DMC", "True"),
        modified=datetime(2026, 1, 1),
    )
    b = rec(
        (HEADER_SECTION, "Status", "UNKNOWN"),
        ("Status", "UNKNOWN"),
        ("Conditions", "Condition", "A"),
        ("Conditions", "Condition", "B"),
        ("Study Overview", "Has Oversight DMC", "True"),
        ("Study Overview", "Brief Title", "New"),
        modified=datetime(2026, 2, 1),
    )
    result = compare(a, b)
    applied = apply_changes(a, (*result.changes, *result.repeated, *result.metadata))
    assert compare(applied, b).changes == ()
    assert applied.ignite_modified == b.ignite_modified
    assert sorted(applied.fields, key=repr) == sorted(b.fields, key=repr)
    with pytest.raises(ValueError, match="does not apply"):
        apply_changes(b, result.changes)


def test_to_dict_is_json_ready() -> None:
    change = one(rec(("Start Date", "2020-09")), rec(("Start Date", "2020-09-23")))
    out = change.to_dict()
    assert out["class"] == "date_precision_changed"
    assert out["kind"] == "values_changed"
    assert out["old"]["precision"] == "month" and out["new"]["precision"] == "day"
    assert out["new"]["value"] == "2020-09-23"
    assert out["days"] == 22 and out["similarity"] is None and out["word_diff"] is None


def test_word_diff_is_symmetric() -> None:
    ratio, ops = word_diff("cells psoriasis stem", "stem cells stem")
    back_ratio, back_ops = word_diff("stem cells stem", "cells psoriasis stem")
    assert ratio == back_ratio
    flip = {"delete": "insert", "insert": "delete", "equal": "equal"}
    assert sorted((flip[op], t) for op, t in ops) == sorted(back_ops)


def test_records_sharing_few_keys_are_still_diffed_field_by_field() -> None:
    """DeepDiff would report the whole dict as one value when few keys are shared."""
    a = rec(*[("Conditions", f"Keyword {i}", "x") for i in range(10)], ("Status", "RECRUITING"))
    b = rec(*[("Conditions", f"Other {i}", "y") for i in range(10)], ("Status", "RECRUITING"))
    changes = diff(a, b)
    assert len(changes) == 20
    assert {c.kind for c in changes} == {ChangeKind.ADDED, ChangeKind.REMOVED}


def test_huge_texts_are_diffed_quickly_and_still_mirror() -> None:
    words = [f"w{i % 40}" for i in range(60_000)]
    old, new = " ".join(words), " ".join([*words[1:], "end"])
    ratio, ops = word_diff(old, new)
    back_ratio, _ = word_diff(new, old)
    assert ratio == back_ratio
    assert 0 <= ratio <= 1 and ops


def test_ignore_patterns_keep_brackets_literal() -> None:
    a = rec(
        ("Contacts and Locations", "contactsLocationsModule.locations[0].facility", "A"),
        ("Status", "RECRUITING"),
    )
    b = rec(
        ("Contacts and Locations", "contactsLocationsModule.locations[0].facility", "B"),
        ("Status", "UNKNOWN"),
    )
    key = "contacts_locations_module.locations[0].facility"
    assert [c.key for c in compare(a, b, ignore=[key]).metadata] == [key]
    assert [c.key for c in compare(a, b, ignore=["contacts_locations_module.locations[*"]).metadata] == [key]
    assert [c.key for c in compare(a, b, ignore=["contacts_locations_module.locations0*"]).metadata] == []
    assert [c.key for c in compare(a, b, ignore=["overall status"]).metadata] == ["overall_status"]
    assert [c.key for c in compare(a, b, ignore=["overall_statu"]).metadata] == []
    assert [c.key for c in compare(a, b, ignore=["Status"]).metadata] == ["overall_status"]
