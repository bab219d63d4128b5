"""The Ignite text reader: the seed, hand-made pages, hostile bytes and module-page merging."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.readers import read_bytes, read_paths
from auditor.readers.ignite_text import merge_module_pages, read_ignite_text
from auditor.records import HEADER_SECTION, Record, SourceFormat
from auditor.values import Missing, PartialDate, Precision, ValueType

FIXTURES = Path(__file__).parent / "fixtures" / "ignite"


def read_one(data: bytes, path: str = "page.txt") -> Record:
    [record] = read_ignite_text(data, path)
    assert isinstance(record, Record)
    return record


def fixture(name: str) -> Record:
    return read_one((FIXTURES / name).read_bytes(), name)


def signature(record: Record) -> list[tuple[object, ...]]:
    return [(f.section, f.label, f.key, f.raw, f.type, f.value, f.line) for f in record.fields]


def raws(record: Record) -> dict[str, str]:
    return {f.label: f.raw for f in record.fields if f.section != HEADER_SECTION}


# --- the seed -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(seed_path: Path) -> Record:
    return read_one(seed_path.read_bytes(), str(seed_path))


def test_seed_has_a_field_for_every_label_line(seed: Record, seed_path: Path) -> None:
    text = seed_path.read_text(encoding="utf-8")
    label_lines = [
        line for line in text.split("\n") if re.match(r"[A-Z][^:]*:( |$)", line) and "Ignite" not in line
    ]
    assert len(label_lines) == 28
    assert len(seed.fields) == len(label_lines)
    assert [f.label for f in seed.fields] == [line.split(":")[0] for line in label_lines]


def test_seed_identity_dates_and_truncation(seed: Record) -> None:
    assert seed.nct_id == "NCT03765957"
    assert seed.source.format is SourceFormat.IGNITE_TEXT
    assert len(seed.source.sha256) == 64
    assert seed.ignite_created == datetime(2025, 12, 24, 18, 59)
    assert seed.ignite_modified == datetime(2026, 1, 5, 16, 48)
    assert not any(f.label.startswith("Ignite") for f in seed.fields)
    assert seed.truncated is True
    assert seed.problems == (
        "line 44: page cut off (no line break after the last line 'Is an FDA AA801 Violation?:')",
    )


def test_seed_sections(seed: Record) -> None:
    sections = [f.section for f in seed.fields]
    assert sections[:9] == [HEADER_SECTION] * 9
    assert sections.count("Study Overview") == 12
    assert sections[-7:] == ["Study Oversight"] * 7


def test_seed_typed_values(seed: Record) -> None:
    status = seed.get("overall_status")
    assert status is not None and status.section == "Study Overview"
    assert (status.type, status.value) == (ValueType.ENUM, "UNKNOWN")
    verified = seed.get("status_verified_date")
    assert verified is not None
    assert verified.value == PartialDate(2020, 9) and verified.value.precision is Precision.MONTH
    assert seed.value("last_known_status") == "RECRUITING"
    assert seed.value("organization") == Missing("")
    assert seed.value("acronym") == Missing("None")
    expanded = seed.get("expanded_access_nct_id")
    assert expanded is not None and expanded.label == "If Expanded Access, NCT#"
    assert expanded.value == Missing("N/A")
    assert seed.value("has_dmc") is True
    assert seed.value("delayed_posting") is False  # "No" in a boolean field


def test_seed_detailed_description_is_whole(seed: Record) -> None:
    description = seed.get("detailed_description")
    assert description is not None
    paragraphs = description.raw.split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("Psoriasis is a chronic")
    assert paragraphs[2].endswith("human umbilical cord-derived mesenchymal stem cell.")
    assert description.line == 30


def test_seed_last_field_present_and_empty(seed: Record) -> None:
    last = seed.fields[-1]
    assert (last.label, last.key, last.raw, last.value) == (
        "Is an FDA AA801 Violation?",
        "fdaaa801_violation",
        "",
        Missing(""),
    )
    assert last.line == 44


def test_header_repeating_body_fields_is_not_a_duplicate(seed: Record) -> None:
    assert not any("duplicate" in p for p in seed.problems)
    status = seed.get("overall_status")
    assert status is not None and status.section != HEADER_SECTION  # the body copy is authoritative


# --- line endings and encodings ------------------------------------------------------------


def test_crlf_and_mixed_line_endings_read_the_same(seed_path: Path) -> None:
    data = seed_path.read_bytes()
    plain = read_one(data)
    crlf = read_one(data.replace(b"\n", b"\r\n"))
    lines = data.split(b"\n")
    endings = (b"\r\n", b"\n", b"\r")
    mixed = read_one(b"".join(line + endings[i % 3] for i, line in enumerate(lines[:-1])) + lines[-1])
    assert signature(crlf) == signature(plain)
    assert signature(mixed) == signature(plain)
    assert crlf.truncated and mixed.truncated
    assert not read_one(data.replace(b"\n", b"\r\n") + b"\r\n").truncated


def test_utf8_bom_and_utf16(seed_path: Path) -> None:
    data = seed_path.read_bytes()
    plain = read_one(data)
    bom = read_one(b"\xef\xbb\xbf" + data)
    assert signature(bom) == signature(plain) and bom.nct_id == "NCT03765957"
    assert bom.problems == plain.problems
    utf16 = read_one(data.decode("utf-8").encode("utf-16"))
    assert signature(utf16) == signature(plain)
    assert "decoded as UTF-16" in utf16.problems


def test_latin1_bytes_are_read_with_a_problem() -> None:
    page = "Viewing Study NCT01234567\n\n\nStudy NCT ID: NCT01234567\nSponsor: Université de Genève\n"
    record = read_one(page.encode("latin-1"))
    assert record.value("lead_sponsor") == "Université de Genève"
    assert any("Windows-1252" in p for p in record.problems)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"  \n\r\n\t", "empty file"),
        (b"Viewing Study NCT01234567\n\x00\x01\x02binary", "binary"),
    ],
)
def test_empty_and_binary_inputs_are_input_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        read_ignite_text(data, "bad.txt")
    assert info.value.path == "bad.txt"


# --- hand-made pages -----------------------------------------------------------------------


def test_module_page() -> None:
    record = fixture("module_description.txt")
    assert record.source.format is SourceFormat.IGNITE_MODULE
    assert record.nct_id == "NCT03765957"
    assert record.ignite_created == datetime(2025, 12, 24, 19, 1)
    assert record.ignite_modified == datetime(2026, 1, 5, 16, 50)
    assert [f.label for f in record.fields] == ["NCT ID", "Brief Summary", "Detailed Description"]
    assert {f.section for f in record.fields} == {"Study Overview"}  # Description Module's section
    description = record.fields[2].raw
    assert "Detailed Description: repeated inside the value. Inclusion Criteria: 1." in description
    assert description.endswith("escapes.\n\nPeriod 1: Day 1-5")  # relation lines are not in it
    assert "\\<7.5%" in description
    assert not any(f.label in ("Study", "Study Brief", "Protocol Section") for f in record.fields)
    assert record.problems == ()


def test_multi_paragraph_values_keep_label_like_text() -> None:
    record = fixture("multi_paragraph.txt")
    values = raws(record)
    assert values["Brief Summary"] == "Summary with a colon: still the same value."
    assert values["Detailed Description"] == (
        "First paragraph: it has colons: several of them.\n\nResults\n\n"
        "The second paragraph follows a line that looks like a section heading.\n"
        "Inclusion Criteria: not a field, because Detailed Description runs over paragraphs."
    )
    assert values["Eligibility Criteria"] == (
        "Inclusion Criteria:\n\n* Adults \\>= 18 years\nPeriod 1: Day 1-5\nExclusion Criteria:\n\n* Pregnancy"
    )
    assert [(f.section, f.label) for f in record.fields if f.section == "Eligibility"] == [
        ("Eligibility", "Eligibility Criteria"),
        ("Eligibility", "Sex"),
        ("Eligibility", "Minimum Age"),
    ]
    assert record.value("sex") == "ALL"
    assert record.problems == ()


def test_duplicates_and_unknown_labels() -> None:
    record = fixture("duplicates_unknown.txt")
    labels = [(f.section, f.label, f.key) for f in record.fields]
    assert labels == [
        (HEADER_SECTION, "Study NCT ID", "nct_id"),
        (HEADER_SECTION, "Summary Flag", "summary_flag"),
        ("Study Overview", "Funny Unknown Label", "funny_unknown_label"),
        ("Study Overview", "Official Title", "official_title"),
        ("Study Overview", "Also Unknown", "also_unknown"),
        ("Study Overview", "Acronym", "acronym"),
        ("Study Overview", "Acronym", "acronym"),
        ("Study Overview", "Brief Summary", "brief_summary"),
    ]
    assert record.fields[1].raw == "yes, a label the registry does not know"
    assert record.fields[6].raw == "ABD\nlowercase label: text of the Acronym value"
    assert record.fields[7].raw == "Text.\nLooks Like A Label: text of Brief Summary (multi-line field)"
    assert record.problems == ("line 14: duplicate label 'Acronym' (first at line 13)",)
    assert record.value("acronym") == "ABC"  # the first one is the authoritative copy


def test_two_study_pages_in_one_file() -> None:
    records = read_ignite_text((FIXTURES / "two_studies.txt").read_bytes(), "two.txt")
    assert [r.nct_id for r in records if isinstance(r, Record)] == ["NCT01234567", "NCT07654321"]
    first, second = records
    assert isinstance(first, Record) and isinstance(second, Record)
    assert (first.source.path, second.source.path) == ("two.txt#0", "two.txt#1")
    assert first.source.sha256 != second.source.sha256  # each page's own digest
    assert first.value("brief_title") == "First study"
    assert second.fields[0].line == 15
    assert second.ignite_created == datetime(2025, 1, 2, 0, 6)


def test_a_bad_page_among_good_ones_is_an_error_item() -> None:
    data = (FIXTURES / "two_studies.txt").read_bytes() + b"Viewing Study NCT1\n\nStatus: RECRUITING\n"
    first, second, third = read_ignite_text(data, "three.txt")
    assert isinstance(first, Record) and isinstance(second, Record)
    assert isinstance(third, InputError)
    assert third.one_line() == "three.txt#2:17: no NCT ID"


def test_no_nct_id() -> None:
    with pytest.raises(InputError, match="no NCT ID"):
        read_ignite_text((FIXTURES / "no_nct_id.txt").read_bytes(), "no_nct_id.txt")
    with pytest.raises(InputError) as info:
        read_ignite_text(b"Viewing Study NCT123\n\nStatus: RECRUITING\n", "short.txt")
    assert info.value.one_line() == "short.txt:1: no NCT ID"


def test_nct_id_from_the_field_when_the_header_has_none() -> None:
    record = read_one(b"Viewing Study\n\nStudy NCT ID: NCT01234567\n")
    assert record.nct_id == "NCT01234567"
    assert record.problems == ("line 1: 'Viewing Study' line has no valid NCT ID: ''",)


def test_mismatched_nct_id_bad_dates_and_text_before_the_page() -> None:
    record = fixture("mismatch_bad_dates.txt")
    assert record.nct_id == "NCT01234567"
    assert record.ignite_created is None and record.ignite_modified is None
    assert record.problems == (
        "line 1: 1 line(s) of text before 'Viewing Study' left out of the record "
        "(first: 'Some text before the page')",
        "line 5: Ignite Creation Date: '2025-13-02 @ 12:05 AM' is not a valid timestamp",
        "line 6: Ignite Modification Date: 'yesterday' is not a valid timestamp",
        "line 8: Status: 'NOT A STATUS' is not a known value",
        "line 12: Status Verified Date: '2020-13' is not a valid date",
        "line 7: Study NCT ID 'NCT07654321' differs from 'Viewing Study NCT01234567'",
    )
    verified = record.get("status_verified_date")
    assert verified is not None and (verified.type, verified.raw) == (ValueType.TEXT, "2020-13")


def test_text_outside_any_field_is_a_problem_not_dropped() -> None:
    record = read_one(b"Viewing Study NCT01234567\n\nstray words here\nStudy NCT ID: NCT01234567\n")
    assert record.problems == ("line 3: text outside any field: 'stray words here'",)


def test_heading_inside_a_value_needs_a_field_after_it() -> None:
    page = (
        "Viewing Study NCT01234567\n\nStudy Overview\n\n"
        "Detailed Description: Intro.\n\nConditions\n\nWe studied three conditions.\n\n"
        "Conditions\n\nUnknown Label Here: a value\n\n"
        "Eligibility\n\nSex: ALL\n"
    )
    record = read_one(page.encode())
    assert [(f.section, f.label) for f in record.fields] == [
        ("Study Overview", "Detailed Description"),
        ("Eligibility", "Sex"),
    ]
    assert record.fields[0].raw == (
        "Intro.\n\nConditions\n\nWe studied three conditions.\n\nConditions\n\nUnknown Label Here: a value"
    )
    after_single = read_one(b"Viewing Study NCT01234567\n\nSex: ALL\nConditions\n\nUnknown Label: x\n")
    assert [(f.section, f.label) for f in after_single.fields] == [
        (HEADER_SECTION, "Sex"),
        ("Conditions", "Unknown Label"),
    ]


def test_path_labels_and_indented_labels() -> None:
    page = (
        "Viewing Study NCT01234567\n\nContacts and Locations\n\n"
        "contactsLocationsModule.locations[0].facility: Hospital: main site\n"
        "Eligibility Criteria: Criteria\n    Sex: indented, so text of the value\n"
        "oversightModule:\n"
    )
    record = read_one(page.encode())
    assert [(f.label, f.key, f.raw) for f in record.fields] == [
        ("contactsLocationsModule.locations[0].facility", "contacts_locations_module.locations[0].facility",
         "Hospital: main site"),
        ("Eligibility Criteria", "eligibility_criteria", "Criteria\n    Sex: indented, so text of the value"),
        ("oversightModule", "oversight_module", ""),
    ]  # fmt: skip


def test_raw_keeps_all_but_one_leading_space() -> None:
    record = read_one(b"Viewing Study NCT01234567\n\nBrief Title:   spaced  \nAcronym:tight\n")
    assert [f.raw for f in record.fields] == ["  spaced  ", "tight"]


# --- size ----------------------------------------------------------------------------------


def test_ten_megabyte_single_line() -> None:
    blob = "word: " * (10 * 1024 * 1024 // 6)
    page = f"{blob}\nViewing Study NCT01234567\n\nStudy Overview\n\nDetailed Description: {blob}\n"
    record = read_one(page.encode())
    assert record.fields[0].raw == blob
    assert record.problems[0].startswith("line 1: 1 line(s) of text before 'Viewing Study'")
    with pytest.raises(InputError, match="no NCT ID"):  # one 10 MB line and nothing else
        read_ignite_text(b"Viewing Study NCT01234567 " + b"x: " * 3_500_000, "one_line.txt")


def test_a_hundred_thousand_fields_and_lines() -> None:
    lines = [f"identificationModule.items[{i}]: value {i}" for i in range(100_000)]
    long_value = "\n".join(f"- line {i}: text" for i in range(100_000))
    page = "Viewing Study NCT01234567\n\nStudy Overview\n\n" + "\n".join(lines) + "\n"
    page += f"Detailed Description: {long_value}\n"
    record = read_one(page.encode())
    assert len(record.fields) == 100_001
    assert record.fields[99_999].raw == "value 99999"
    assert record.fields[-1].raw == long_value


# --- through the dispatcher and merging ------------------------------------------------------


def test_read_bytes_dispatches_study_and_module_pages(seed_path: Path) -> None:
    [study] = read_bytes(seed_path.read_bytes(), "seed.txt")
    [module] = read_bytes((FIXTURES / "module_description.txt").read_bytes(), "module.txt")
    assert isinstance(study, Record) and study.source.format is SourceFormat.IGNITE_TEXT
    assert isinstance(module, Record) and module.source.format is SourceFormat.IGNITE_MODULE


def test_module_page_merges_into_its_study_page(seed_path: Path, tmp_path: Path) -> None:
    (tmp_path / "study.txt").write_bytes(seed_path.read_bytes())
    (tmp_path / "module.txt").write_bytes((FIXTURES / "module_description.txt").read_bytes())
    [merged] = list(read_paths([tmp_path]))
    assert isinstance(merged, Record)
    assert merged.source.format is SourceFormat.IGNITE_TEXT
    study = read_one(seed_path.read_bytes())
    added = merged.fields[len(study.fields) :]
    # NCT ID repeats the study page's raw value: not duplicated; the summaries differ: kept.
    assert [f.label for f in added] == ["Brief Summary", "Detailed Description"]
    assert merged.truncated  # the study page is cut off
    assert merged.value("brief_summary") == study.value("brief_summary")  # first one wins


def _page(nct: str, created: str, extra: str = "") -> bytes:
    return f"Viewing Study {nct}\n\nIgnite Creation Date: {created}\nStudy NCT ID: {nct}\n{extra}".encode()


def _module(nct: str, created: str, summary: str) -> bytes:
    return (
        f"Description Module\nStudy -> Protocol Section -> Description Module\n"
        f"Ignite Creation Date: {created}\nNCT ID: {nct}\nBrief Summary: {summary}\nStudy: {nct}\n"
    ).encode()


def test_merge_picks_the_study_page_closest_in_creation_date() -> None:
    early = read_one(_page("NCT01234567", "2025-01-01 @ 9:00 AM"), "early.txt")
    late = read_one(_page("NCT01234567", "2025-02-01 @ 9:00 AM"), "late.txt")
    module = read_one(_module("NCT01234567", "2025-01-31 @ 11:00 PM", "near late"), "m.txt")
    merged = merge_module_pages([early, module, late])
    assert [r.source.path for r in merged] == ["early.txt", "late.txt"]
    assert merged[0].get("brief_summary") is None
    assert merged[1].value("brief_summary") == "near late"


def test_orphan_module_pages_merge_per_nct_id() -> None:
    a1 = read_one(_module("NCT01234567", "2025-01-02 @ 9:00 AM", "one"), "a1.txt")
    b = read_one(_module("NCT07654321", "2025-01-02 @ 9:00 AM", "other"), "b.txt")
    a2 = read_one(_module("NCT01234567", "2025-01-01 @ 9:00 AM", "two"), "a2.txt")
    merged = merge_module_pages([a1, b, a2])
    assert [(r.nct_id, r.source.path, r.source.format) for r in merged] == [
        ("NCT01234567", "a1.txt", SourceFormat.IGNITE_MODULE),
        ("NCT07654321", "b.txt", SourceFormat.IGNITE_MODULE),
    ]
    assert [f.raw for f in merged[0].fields] == ["NCT01234567", "one", "two"]
    assert merged[0].ignite_created == datetime(2025, 1, 1, 9, 0)
    assert merge_module_pages([a1, b, a2]) == merged  # deterministic


def test_labels_inside_a_multi_line_value_must_match_the_registry_exactly() -> None:
    page = (
        "Viewing Study NCT01234567\n\nStudy Overview\n\n"
        "Detailed Description: Intro.\nsex: any, in prose\nBrief Title: A title\nSEX: ALL\n"
    )
    record = read_one(page.encode())
    assert [(f.label, f.raw) for f in record.fields] == [
        ("Detailed Description", "Intro.\nsex: any, in prose"),
        ("Brief Title", "A title"),
        ("SEX", "ALL"),  # after a single-line field any spelling of a label counts
    ]
    assert record.value("sex") == "ALL"
