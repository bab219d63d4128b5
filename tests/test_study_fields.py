"""Classic API v1 StudyFields responses read into records.

The oracle builds a StudyFields response from the corpus's classic v1 full-study search
response with ``json`` alone (each leaf's name is its piece name; a piece's values are its
leaves' values in document order, as the classic API listed them) and holds what the reader
makes of it against the raw JSON and against the full studies read by the classic reader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.errors import InputError
from auditor.fields import registry
from auditor.readers import read_bytes, read_path
from auditor.records import Record

CLASSIC = "ctti-clinicaltrials__aact/other/covid-19-search.json"


def pieces_of(study: Any, out: dict[str, list[Any]] | None = None, name: str = "") -> dict[str, list[Any]]:
    """``{piece: [values]}`` of a classic v1 study: every leaf under its own name."""
    out = {} if out is None else out
    if isinstance(study, dict):
        for key, value in study.items():
            pieces_of(value, out, key)
    elif isinstance(study, list):
        for value in study:
            pieces_of(value, out, name)
    else:
        out.setdefault(name, []).append(study)
    return out


@pytest.fixture(scope="module")
def classic(corpus_dir: Path) -> dict[str, Any]:
    return json.loads((corpus_dir / CLASSIC).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def study_fields(classic: dict[str, Any]) -> dict[str, Any]:
    elements = [
        {"Rank": item["Rank"], **pieces_of(item["Study"])}
        for item in classic["FullStudiesResponse"]["FullStudies"]
    ]
    return {
        "StudyFieldsResponse": {
            "APIVrs": "1.01.05",
            "NStudiesReturned": len(elements),
            "StudyFields": elements,
        }
    }


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def test_every_study_is_a_record_with_every_value(study_fields: dict[str, Any]) -> None:
    elements = study_fields["StudyFieldsResponse"]["StudyFields"]
    records = read_bytes(json.dumps(study_fields).encode(), "fields.json")
    assert len(records) == len(elements) == 100
    assert all(isinstance(r, Record) for r in records)
    for index, (record, element) in enumerate(zip(records, elements, strict=True)):
        assert isinstance(record, Record)
        assert record.nct_id == element["NCTId"][0]
        assert record.source.path == f"fields.json#{index}"
        # Every value of every piece but the rank is a field, in order.
        expected = [str(v) for piece, values in element.items() if piece != "Rank" for v in values]
        assert sorted(f.raw for f in record.fields) == sorted(expected)
        assert record.problems == ()


def test_pieces_get_the_keys_of_the_full_study(classic: dict[str, Any], study_fields: dict[str, Any]) -> None:
    """Registered fields and lists of values: the same key, raw text and typed value as the
    classic full study gives; pieces inside lists of objects are kept under their own name."""
    full = read_bytes(json.dumps(classic).encode(), "full.json")
    fields = read_bytes(json.dumps(study_fields).encode(), "fields.json")
    registered = set(registry().by_key)
    compared = 0
    for full_record, record in zip(full, fields, strict=True):
        assert isinstance(full_record, Record) and isinstance(record, Record)
        ours = {f.key: (f.raw, f.type, f.value) for f in record.fields}
        theirs = {f.key: (f.raw, f.type, f.value) for f in full_record.fields}
        for key, value in ours.items():
            if key in registered or re.fullmatch(r"conditions_module\.(conditions|keywords)\[\d+\]", key):
                assert theirs.get(key) == value, (record.nct_id, key)
                compared += 1
            elif key.startswith("study_fields."):
                assert key not in theirs
            else:  # a mapped field outside the registry: the v2 reader's path key
                assert theirs.get(key) == value, (record.nct_id, key)
        for key in registered & theirs.keys():
            assert key in ours, (record.nct_id, key)  # no registered field lost
    assert compared > 3000


def test_values_of_a_list_of_objects_stay_a_list(study_fields: dict[str, Any]) -> None:
    element = study_fields["StudyFieldsResponse"]["StudyFields"][0]
    [record] = read_bytes(
        json.dumps({"StudyFieldsResponse": {"StudyFields": [element]}}).encode(), "one.json"
    )
    assert isinstance(record, Record)
    facilities = element.get("LocationFacility", [])
    assert facilities
    got = [
        (f.label, f.key, f.raw) for f in record.fields if f.key.startswith("study_fields.location_facility")
    ]
    assert got == [
        (f"studyFields.LocationFacility[{i}]", f"study_fields.location_facility[{i}]", value)
        for i, value in enumerate(facilities)
    ]


def test_surrounding_whitespace_in_the_nct_id_is_taken_alike_in_every_reader(tmp_path: Path) -> None:
    """The JSON reader refused " NCT12345678" where the XML reader strips it."""
    v2 = {"protocolSection": {"identificationModule": {"nctId": " NCT12345678 ", "briefTitle": "T"}}}
    pieces = {"StudyFieldsResponse": {"StudyFields": [{"NCTId": ["\tNCT12345678"], "BriefTitle": ["T"]}]}}
    xml = "<clinical_study><id_info><nct_id> NCT12345678\n</nct_id></id_info></clinical_study>"
    text = "Viewing Study NCT12345678\n\nStudy NCT ID:  NCT12345678 \nBrief Title: T\n"
    for name, data in (
        ("v2.json", json.dumps(v2)),
        ("fields.json", json.dumps(pieces)),
        ("old.xml", xml),
        ("page.txt", text),
    ):
        (tmp_path / name).write_text(data)
        [record] = read_path(tmp_path / name)
        assert record.nct_id == "NCT12345678", name
    assert main(["parse", str(tmp_path)]) == 0


def test_an_element_without_an_nct_id_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {
        "StudyFieldsResponse": {
            "StudyFields": [
                {"Rank": 1, "NCTId": ["NCT01234567"], "OverallStatus": ["Recruiting"]},
                {"Rank": 2, "BriefTitle": ["no id"]},
            ]
        }
    }
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(document))
    code = main(["parse", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [f"audit: error: {path}#1: no NCT ID (StudyFields NCTId)"]
    [record] = json.loads(out)["records"]
    assert record["nct_id"] == "NCT01234567"
    status = next(f for f in record["fields"] if f["key"] == "overall_status")
    assert (status["raw"], status["value"]) == ("Recruiting", "RECRUITING")


def test_an_empty_study_fields_response_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text(json.dumps({"StudyFieldsResponse": {"NStudiesReturned": 0, "StudyFields": []}}))
    with pytest.raises(InputError, match="no study records"):
        read_path(path)
