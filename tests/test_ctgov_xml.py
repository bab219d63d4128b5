"""Legacy ClinicalTrials.gov XML reader."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.readers import read_bytes
from auditor.readers.ctgov_xml import read_ctgov_xml
from auditor.records import Record, SourceFormat
from auditor.values import Missing, PartialDate, Precision, ValueType

AACT_XML = "ctti-clinicaltrials__aact/xml_versions"
REESE = "reesewang25__enrollment_and_studylength/AllPublicXML_subset_5c5cc15.tar.gz"


def _xml(body: str, nct_id: str = "NCT01234567") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<clinical_study>\n'
        f"  <id_info><nct_id>{nct_id}</nct_id></id_info>\n{body}\n</clinical_study>\n"
    ).encode()


def _labels(record: Record) -> dict[str, str]:
    return {f.label: f.raw for f in record.fields}


# --- real corpus files -------------------------------------------------------------------------


def test_bulk_download_study(corpus_dir: Path) -> None:
    """NCT00000102 from the 2023 AllPublicXML download (first member of the archive)."""
    with tarfile.open(corpus_dir / REESE) as archive:
        handle = archive.extractfile("NCT0000xxxx/NCT00000102.xml")
        assert handle is not None
        data = handle.read()
    record = read_ctgov_xml(data, "NCT00000102.xml")
    assert record.nct_id == "NCT00000102"
    assert record.source.format is SourceFormat.CTGOV_XML
    assert record.source.sha256 == hashlib.sha256(data).hexdigest()
    assert record.value("overall_status") == "COMPLETED"
    verified = record.get("status_verified_date")
    assert verified is not None
    assert (verified.raw, verified.value, verified.precision) == (
        "January 2004",
        PartialDate(2004, 1),
        "month",
    )
    assert record.value("first_submit_date") == PartialDate(1999, 11, 3)
    assert record.value("first_post_date_type") == "ESTIMATED"  # legacy "Estimate"
    assert record.value("healthy_volunteers") is False
    assert record.value("lead_sponsor") == "National Center for Research Resources (NCRR)"
    assert record.value("lead_sponsor_class") == "NIH"
    labels = _labels(record)
    assert labels["clinical_study.location[0].facility.name"] == "Medical University of South Carolina"
    assert labels["clinical_study.location[0].facility.address.country"] == "United States"
    assert labels["clinical_study.location_countries.country[0]"] == "United States"
    assert labels["clinical_study.condition[0]"] == "Congenital Adrenal Hyperplasia"
    assert labels["clinical_study.condition_browse.mesh_term[3]"] == "Hyperplasia"
    summary = record.get("brief_summary")
    assert summary is not None
    assert summary.raw.startswith("This study will test the ability of extended release nifedipine")
    assert summary.raw.endswith("(CAH).")
    assert "\n      pressure medication" in summary.raw  # inner line breaks and indentation kept
    assert record.problems == ()


def test_unknown_status_study_with_last_known_status(corpus_dir: Path) -> None:
    record = read_ctgov_xml(
        (corpus_dir / AACT_XML / "NCT02591940/2018-05-14_fed6115.xml").read_bytes(), "x.xml"
    )
    status = record.get("overall_status")
    assert status is not None
    assert (status.raw, status.type, status.value) == ("Unknown status", ValueType.ENUM, "UNKNOWN")
    assert record.value("last_known_status") == "ENROLLING_BY_INVITATION"
    assert record.value("status_verified_date") == PartialDate(2015, 10)
    assert record.get("status_verified_date").precision == Precision.MONTH  # type: ignore[union-attr]
    has_dmc = record.get("has_dmc")
    assert has_dmc is not None and (has_dmc.raw, has_dmc.value, has_dmc.section) == (
        "No",
        False,
        "Study Oversight",
    )
    assert record.value("lead_sponsor") == "German Heart Institute"


def test_first_alternative_wins_the_other_keeps_its_path_label(corpus_dir: Path) -> None:
    """2017 transition files carry both ``firstreceived_date`` and ``study_first_submitted``."""
    record = read_ctgov_xml(
        (corpus_dir / AACT_XML / "NCT00023673/2017-10-20_140a133.xml").read_bytes(), "x.xml"
    )
    first = [f for f in record.fields if f.key == "first_submit_date"]
    assert [f.raw for f in first] == ["September 13, 2001"]
    labels = _labels(record)
    assert labels["clinical_study.firstreceived_date"] == "September 13, 2001"
    assert labels["clinical_study.lastchanged_date"] == "November 14, 2015"
    assert record.get("clinical_study.firstreceived_date").section == "Study Overview"  # type: ignore[union-attr]
    assert record.value("last_update_submit_date") == PartialDate(2015, 11, 14)
    enrollment = record.get("enrollment_count")
    assert enrollment is not None and enrollment.value == 63
    assert record.value("enrollment_type") == "ACTUAL"


def test_results_section_is_indexed_by_list(corpus_dir: Path) -> None:
    record = read_ctgov_xml(
        (corpus_dir / AACT_XML / "NCT00023673/2017-10-20_140a133.xml").read_bytes(), "x.xml"
    )
    results = [f for f in record.fields if f.label.startswith("clinical_study.clinical_results.")]
    assert results and all(f.section == "Results" for f in results)
    labels = _labels(record)
    assert "clinical_study.clinical_results.participant_flow.group_list.group[0].attr_group_id" in labels


def test_malformed_corpus_file_is_a_clear_error(corpus_dir: Path) -> None:
    path = corpus_dir / AACT_XML / "NCT02654730/2017-08-10_6dbeeb5.xml"
    with pytest.raises(InputError) as info:
        read_bytes(path.read_bytes(), str(path))
    assert info.value.line == 86
    assert str(info.value) == f"{path}:86: malformed XML at line 86, column 34: mismatched tag"


# --- hand-made documents -----------------------------------------------------------------------


def test_doctype_and_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        b' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        b"<clinical_study><id_info><nct_id>NCT01234567</nct_id></id_info>"
        b"<brief_title>&lol2;</brief_title></clinical_study>"
    )
    with pytest.raises(InputError, match="refused: XML with a <!DOCTYPE> declaration") as info:
        read_ctgov_xml(bomb, "bomb.xml")
    assert info.value.line == 2


def test_text_mentioning_doctype_after_the_root_is_fine() -> None:
    record = read_ctgov_xml(_xml("<brief_title><![CDATA[<!DOCTYPE html>]]></brief_title>"), "x.xml")
    assert record.value("brief_title") == "<!DOCTYPE html>"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<study><id/></study>", "not a study record (root element <study>"),
        (b"<clinical_study><brief_title>x</brief_title></clinical_study>", "no NCT ID"),
        (
            b"<clinical_study><id_info><nct_id>NCT12</nct_id></id_info></clinical_study>",
            "invalid NCT ID 'NCT12'",
        ),
        (b"<clinical_study>\n<a>\n</clinical_study>", "malformed XML at line 3, column 3"),
    ],
)
def test_invalid_documents(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        read_ctgov_xml(data, "x.xml")


def test_repeatable_elements_are_always_indexed_others_only_when_repeated() -> None:
    record = read_ctgov_xml(
        _xml(
            "<condition>Asthma</condition>"
            "<keyword/>"
            "<location><facility><name>A</name><address><country>X</country></address></facility></location>"
            "<arm_group><arm_group_label>Arm</arm_group_label></arm_group>"
            "<intervention><arm_group_label>Arm</arm_group_label></intervention>"
            "<odd>1</odd><odd>2</odd>"
        ),
        "x.xml",
    )
    labels = _labels(record)
    assert labels["clinical_study.condition[0]"] == "Asthma"
    assert labels["clinical_study.keyword[0]"] == ""
    assert labels["clinical_study.location[0].facility.name"] == "A"
    assert labels["clinical_study.location[0].facility.address.country"] == "X"
    assert labels["clinical_study.arm_group[0].arm_group_label"] == "Arm"
    assert labels["clinical_study.intervention[0].arm_group_label[0]"] == "Arm"
    assert (labels["clinical_study.odd[0]"], labels["clinical_study.odd[1]"]) == ("1", "2")
    keyword = record.get("clinical_study.keyword[0]")
    assert keyword is not None and isinstance(keyword.value, Missing) and keyword.section == "Conditions"
    assert record.get("clinical_study.odd[0]").section == "Misc"  # type: ignore[union-attr]
    location = record.get("clinical_study.location[0].facility.name")
    assert location is not None and location.section == "Contacts and Locations"


def test_attributes_and_registered_paths() -> None:
    record = read_ctgov_xml(
        _xml(
            '<enrollment type="Anticipated">120</enrollment>'
            '<start_date type="Actual">March 5, 2019</start_date>'
            '<study_first_posted type="Estimate" extra=" y ">May 2019</study_first_posted>'
            "<oversight_info><has_dmc>Yes</has_dmc></oversight_info>"
            "<eligibility><healthy_volunteers>Accepts Healthy Volunteers</healthy_volunteers></eligibility>"
        ),
        "x.xml",
    )
    assert record.value("enrollment_count") == 120
    assert record.value("enrollment_type") == "ESTIMATED"
    assert record.value("start_date") == PartialDate(2019, 3, 5)
    assert record.value("start_date_type") == "ACTUAL"
    assert record.value("first_post_date") == PartialDate(2019, 5)
    assert record.value("has_dmc") is True
    assert record.value("healthy_volunteers") is True
    assert _labels(record)["clinical_study.study_first_posted.attr_extra"] == "y"
    order = [f.key for f in record.fields]
    assert order.index("enrollment_count") + 1 == order.index("enrollment_type")
    assert record.problems == ()


def test_typing_problem_is_recorded_not_raised() -> None:
    record = read_ctgov_xml(_xml("<verification_date>Smarch 2020</verification_date>"), "x.xml")
    field = record.get("status_verified_date")
    assert field is not None and field.type is ValueType.TEXT and field.raw == "Smarch 2020"
    assert record.problems == ("Status Verified Date: 'Smarch 2020' is not a valid date",)


def test_every_label_leads_back_to_its_key(corpus_dir: Path) -> None:
    from auditor.fields import PATH_LABEL, label_key, registry
    from auditor.readers import read_paths

    reg = registry()
    checked = 0
    for item in read_paths([corpus_dir / AACT_XML / "NCT00023673", corpus_dir / AACT_XML / "NCT02591940"]):
        assert isinstance(item, Record)
        for field in item.fields:
            if field.key in reg.by_key:
                assert reg.by_key[field.key].label == field.label
            else:
                assert PATH_LABEL.fullmatch(field.label), field.label
                assert label_key(field.label) == field.key
            checked += 1
    assert checked > 10_000


def test_deeply_nested_xml_is_an_input_error_not_a_crash() -> None:
    with pytest.raises(InputError, match="nested too deeply"):
        read_ctgov_xml(_xml("<a>" * 5000 + "</a>" * 5000), "deep.xml")


@pytest.mark.parametrize("encoding", ["x-no-such-codec", "utf-32"])
def test_unusable_encoding_declaration_is_an_input_error(encoding: str) -> None:
    data = f'<?xml version="1.0" encoding="{encoding}"?>\n<clinical_study/>'.encode()
    with pytest.raises(InputError, match="malformed XML"):
        read_ctgov_xml(data, "x.xml")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            b"<clinical_study><study_id><nct_id> NCT00000102 </nct_id></study_id>"
            b"<status_block><overall_status>Completed</overall_status></status_block></clinical_study>",
            "pre-2007 archive schema is not read (study NCT00000102): <study_id>/<status_block> layout",
        ),
        (
            b"<study><status_block><verification_date>May 2005</verification_date></status_block></study>",
            "pre-2007 archive schema is not read: <study_id>/<status_block> layout",
        ),
        (b"<clinical_study><brief_title>no id</brief_title></clinical_study>", "no NCT ID (id_info/nct_id)"),
    ],
)
def test_the_pre_2007_archive_schema_is_refused_by_name(document: bytes, message: str) -> None:
    """The archive schema used to get "no NCT ID", although the file names its study."""
    with pytest.raises(InputError) as info:
        read_ctgov_xml(document, "old.xml")
    assert info.value.message == message
