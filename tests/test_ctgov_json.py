"""ClinicalTrials.gov JSON reader: API v2 studies, lists and search responses, classic API v1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.errors import InputError
from auditor.fields import registry
from auditor.readers import read_bytes
from auditor.readers.ctgov_json import read_ctgov_json
from auditor.readers.typing import ColumnBuilder, registered_field, type_field
from auditor.records import Field, Record, SourceFormat
from auditor.values import Missing, PartialDate, Precision, ValueType

AACT = "ctti-clinicaltrials__aact"
PARTRITA = "partrita__clinicaltrial-watch-tigit"


def _study(nct_id: object = "NCT01234567", **extra: object) -> dict[str, object]:
    return {"protocolSection": {"identificationModule": {"nctId": nct_id}}, **extra}


def _records(items: list[Record | InputError]) -> list[Record]:
    assert all(isinstance(item, Record) for item in items), items
    return [item for item in items if isinstance(item, Record)]


def _read_one(path: Path) -> Record:
    items = read_ctgov_json(path.read_bytes(), str(path))
    (record,) = _records(items)
    return record


# --- real corpus files -------------------------------------------------------------------------


def test_v2_unknown_study_keeps_last_known_status_and_month_precision(corpus_dir: Path) -> None:
    path = corpus_dir / PARTRITA / "versions/NCT05294952/2026-03-03_8078b9f.json"
    record = _read_one(path)
    assert record.nct_id == "NCT05294952"
    assert record.source.path == str(path)
    assert record.source.format is SourceFormat.CTGOV_JSON
    assert record.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.value("overall_status") == "UNKNOWN"
    assert record.value("last_known_status") == "NOT_YET_RECRUITING"
    verified = record.get("status_verified_date")
    assert verified is not None
    assert verified.raw == "2024-02"
    assert verified.value == PartialDate(2024, 2)
    assert verified.precision == Precision.MONTH
    assert verified.section == "Study Overview"
    assert verified.label == "Status Verified Date"
    sponsor = record.get("lead_sponsor")
    assert sponsor is not None
    assert (sponsor.label, sponsor.raw, sponsor.section) == (
        "Sponsor",
        "Assiut University",
        "Sponsor/Collaborators",
    )
    assert record.value("lead_sponsor_class") == "OTHER"
    assert record.value("responsible_party_investigator_affiliation") == "Assiut University"
    assert record.ignite_created is None and record.ignite_modified is None
    assert record.problems == ()


def test_v2_unregistered_leaves_get_path_labels(corpus_dir: Path) -> None:
    record = _read_one(corpus_dir / PARTRITA / "versions/NCT04457778/2026-02-03_91d8d98.json")
    by_label = {f.label: f for f in record.fields}
    facility = by_label.get("contactsLocationsModule.locations[0].facility")
    assert facility is not None and facility.raw == "Sarah Cannon Research Institute"
    assert facility.key == "contacts_locations_module.locations[0].facility"
    assert facility.section == "Contacts and Locations"
    condition = by_label["conditionsModule.conditions[0]"]
    assert (condition.section, condition.raw) == ("Conditions", "Metastatic Solid Tumors")
    # every leaf exactly once, registered or not, and in document order: identification first
    assert record.fields[0].key == "nct_id"
    assert len({f.label for f in record.fields}) == len(record.fields)


def test_classic_v1_search_response_has_100_studies_with_v2_keys(corpus_dir: Path) -> None:
    path = corpus_dir / AACT / "other/covid-19-search.json"
    records = _records(read_ctgov_json(path.read_bytes(), str(path)))
    assert len(records) == 100
    assert len({r.nct_id for r in records}) == 100
    assert [r.source.path for r in records[:2]] == [f"{path}#0", f"{path}#1"]
    assert len({r.source.sha256 for r in records}) == 100
    first = records[0]
    assert first.nct_id == "NCT04973462"
    assert first.value("overall_status") == "RECRUITING"
    assert first.value("status_verified_date") == PartialDate(2021, 7)
    assert first.value("start_date") == PartialDate(2021, 8, 1)
    assert first.value("start_date_type") == "ESTIMATED"  # v1 "Anticipated"
    assert first.value("organization") == "Ain Shams University"
    assert first.value("enrollment_count") == 80
    assert first.value("sex") == "ALL"
    assert first.value("healthy_volunteers") is False
    # v1 lists are unwrapped to the v2 shape: ConditionList.Condition[0] → conditions[0]
    assert first.get("conditions_module.conditions[0]") is not None
    assert first.get("contacts_locations_module.locations[0].city") is not None
    # v1 one-element lists that are single values in v2 are registered fields too
    observational = [r for r in records if r.get("time_perspective") is not None]
    assert len(observational) == 58
    assert {r.get("time_perspective").type for r in observational} == {ValueType.ENUM}  # type: ignore[union-attr]
    assert sum(r.get("masking_description") is not None for r in records) == 13
    statuses = {r.value("overall_status") for r in records}
    assert statuses <= set(registry().by_key["overall_status"].enum)


def test_classic_v1_and_v2_versions_of_one_study_share_keys_and_types(corpus_dir: Path) -> None:
    """NCT05594173: first a classic ``{"Rank", "Study"}`` object, later an API v2 study."""
    old = _read_one(corpus_dir / AACT / "json_versions/NCT05594173/2023-05-16_a9af9cf.json")
    new = _read_one(corpus_dir / AACT / "json_versions/NCT05594173/2024-06-10_3fb859a.json")
    assert old.nct_id == new.nct_id == "NCT05594173"
    registered = set(registry().by_key)
    common = registered & set(old.keys()) & set(new.keys())
    assert {"overall_status", "start_date", "lead_sponsor", "healthy_volunteers", "sex"} <= common
    for key in common:
        a, b = old.get(key), new.get(key)
        assert a is not None and b is not None
        if not (a.is_missing or b.is_missing):
            assert a.type == b.type, (key, a.raw, b.raw)
    assert old.value("org_study_id") == new.value("org_study_id")
    assert old.value("healthy_volunteers") is True  # v1 "Accepts Healthy Volunteers"


def test_single_study_wrappers(corpus_dir: Path) -> None:
    response = corpus_dir / AACT / "json_versions/NCT00023673/2023-10-19_4a38ecb.json"
    (record,) = _records(read_ctgov_json(response.read_bytes(), str(response)))
    assert record.source.path == f"{response}#0"
    assert record.value("status_verified_date") == PartialDate(2017, 11)
    studies = corpus_dir / AACT / "json_versions/NCT03281889/2023-12-05_c2720b7.json"
    (record,) = _records(read_ctgov_json(studies.read_bytes(), str(studies)))
    assert record.nct_id == "NCT03281889"
    assert record.source.path == f"{studies}#0"


# --- errors --------------------------------------------------------------------------------------


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(InputError) as info:
        read_ctgov_json(b'{\n  "protocolSection": {,\n}', "bad.json")
    assert info.value.line == 2
    assert "column 23" in str(info.value)
    assert str(info.value).startswith("bad.json:2: invalid JSON")


def test_json_that_is_not_a_study_is_refused() -> None:
    with pytest.raises(InputError, match="not a study record"):
        read_ctgov_json(b'{"status": "ok"}', "evil_latest.json")
    with pytest.raises(InputError, match="not a study record"):
        read_bytes(b'[{"timestamp": "2026-02-05", "diff": "x"}]', "history.json")
    with pytest.raises(InputError, match="no study records"):
        read_ctgov_json(b'{"studies": []}', "empty.json")


def test_list_with_bad_elements_keeps_the_good_ones() -> None:
    data = json.dumps(
        [
            _study("NCT00000001"),
            _study(12345678),
            {"unrelated": True},
            {"protocolSection": []},
            _study("NCT1"),
            _study("NCT00000006"),
        ]
    ).encode()
    items = read_bytes(data, "mixed.json")
    assert [type(i).__name__ for i in items] == ["Record", *["InputError"] * 4, "Record"]
    errors = [str(i) for i in items if isinstance(i, InputError)]
    assert errors[0].startswith("mixed.json#1: invalid NCT ID 12345678")
    assert errors[1].startswith("mixed.json#2: not a study record")
    assert errors[2].startswith("mixed.json#3: protocolSection is not an object")
    assert errors[3].startswith("mixed.json#4: invalid NCT ID 'NCT1'")
    good = [i for i in items if isinstance(i, Record)]
    assert [r.source.path for r in good] == ["mixed.json#0", "mixed.json#5"]


# --- flattening rules ------------------------------------------------------------------------


def test_scalars_become_ignite_style_raw_text() -> None:
    study = _study(
        hasResults=True,
        rank=3,
    )
    study["protocolSection"]["designModule"] = {  # type: ignore[index]
        "enrollmentInfo": {"count": 42},
        "patientRegistry": False,
        "weight": 0.5,
        "targetDuration": None,
        "phases": [],
        "bioSpec": {},
    }
    (record,) = read_ctgov_json(json.dumps(study).encode(), "s.json")
    assert isinstance(record, Record)
    raws = {f.label: (f.raw, f.type) for f in record.fields}
    assert raws["Has Results"] == ("True", ValueType.BOOLEAN)
    assert raws["Enrollment"] == ("42", ValueType.INTEGER)
    assert raws["designModule.patientRegistry"] == ("False", ValueType.BOOLEAN)
    assert raws["designModule.weight"] == ("0.5", ValueType.TEXT)
    assert raws["Target Duration"] == ("None", ValueType.MISSING)
    assert raws["designModule.phases"] == ("", ValueType.MISSING)
    assert raws["designModule.bioSpec"] == ("", ValueType.MISSING)
    rank = record.get("study.rank")
    assert rank is not None and rank.label == "study.rank" and rank.section == "Misc"
    assert record.get("design_module.phases") is not None
    assert isinstance(record.value("design_module.bio_spec"), Missing)


def test_element_hash_ignores_key_order() -> None:
    a = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "x"}}}
    b = {"protocolSection": {"identificationModule": {"briefTitle": "x", "nctId": "NCT00000001"}}}
    (ra,) = read_ctgov_json(json.dumps([a]).encode(), "a.json")
    (rb,) = read_ctgov_json(json.dumps([b], indent=2).encode(), "b.json")
    assert isinstance(ra, Record) and isinstance(rb, Record)
    assert ra.source.sha256 == rb.source.sha256


def test_typing_problems_go_to_record_problems() -> None:
    study = _study()
    study["protocolSection"]["statusModule"] = {"statusVerifiedDate": "2020-13"}  # type: ignore[index]
    (record,) = read_ctgov_json(json.dumps(study).encode(), "s.json")
    assert isinstance(record, Record)
    assert record.problems == ("Status Verified Date: '2020-13' is not a valid date",)


def _untyped_field(section: str, label: str, key: str, raw: str) -> Field:
    """The field the JSON and XML readers add for a key without a spec."""
    builder = ColumnBuilder()
    builder.add_untyped(section, label, key, raw)
    (field,) = builder.columns().fields()
    return field


@given(st.text(max_size=12))
def test_fast_untyped_field_matches_make_field(raw: str) -> None:
    label = "designModule.someLeaf[0]"
    key = "design_module.some_leaf[0]"
    expected, problem = type_field("Study Design", label, raw, key=key)
    assert problem is None
    assert _untyped_field("Study Design", label, key, raw) == expected


@pytest.mark.parametrize("literal", ["", "None", "N/A", "True", "False", " True ", "x "])
def test_fast_untyped_field_literals(literal: str) -> None:
    expected, _ = type_field("Misc", "study.x", literal, key="study.x")
    assert _untyped_field("Misc", "study.x", "study.x", literal) == expected


@pytest.mark.parametrize(
    ("key", "raw"),
    [("overall_status", "Unknown status"), ("start_date", "2020-13"), ("brief_summary", "x" * 200)],
)
def test_memoised_registered_field_matches_make_field(key: str, raw: str) -> None:
    spec = registry().by_key[key]
    expected = type_field(spec.section, spec.label, raw, key=key)
    assert registered_field(spec, raw) == expected
    assert registered_field(spec, raw) == expected  # from the cache the second time


def test_every_label_leads_back_to_its_key(corpus_dir: Path) -> None:
    """An Ignite page written from a record and read back must give every field the same key:
    registered fields by their registry label, all others by their path label."""
    from auditor.fields import PATH_LABEL, label_key
    from auditor.readers import read_paths

    reg = registry()
    checked = 0
    for item in read_paths([corpus_dir / AACT / "json_versions", corpus_dir / AACT / "other"]):
        assert isinstance(item, Record)
        for field in item.fields:
            if field.key in reg.by_key:
                assert reg.by_key[field.key].label == field.label
            else:
                assert PATH_LABEL.fullmatch(field.label), field.label
                assert label_key(field.label) == field.key
            checked += 1
    assert checked > 50_000


def test_empty_module_keeps_a_path_label() -> None:
    study = _study()
    study["protocolSection"]["oversightModule"] = {}  # type: ignore[index]
    (record,) = read_ctgov_json(json.dumps(study).encode(), "s.json")
    assert isinstance(record, Record)
    field = record.get("protocol_section.oversight_module")
    assert field is not None
    assert (field.label, field.raw, field.section) == (
        "protocolSection.oversightModule",
        "",
        "Study Oversight",
    )


def test_deeply_nested_json_is_an_input_error_not_a_crash() -> None:
    head = '{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}, "x": '
    data = (head + '{"a": ' * 5000 + "{}" + "}" * 5000 + "}}").encode()
    with pytest.raises(InputError, match="nested too deeply"):
        read_ctgov_json(data, "deep.json")


def test_a_repeated_json_key_is_reported_not_silently_dropped() -> None:
    from auditor.readers.ctgov_json import read_ctgov_json

    data = (
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "first",'
        b' "briefTitle": "second"}, "statusModule": {"overallStatus": "RECRUITING"}}}'
    )
    (record,) = read_ctgov_json(data, "dup.json")
    assert not isinstance(record, Exception)
    assert record.value("brief_title") == "second"
    assert any("duplicate JSON keys" in p and "briefTitle" in p for p in record.problems)
