"""History-of-Changes responses: both change-list forms, versions as v2 studies, shapes refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from ctgov_server import ACTT1_V0, JERRY, OLLIE_CHANGES, recorded_module_labels, samples_available

from auditor.fetch.changelist import MODULE_LABELS, ChangeList, read_change_list, write_change_list
from auditor.fetch.history import ShapeError, VersionChange, change_list_object, parse_changes, version_study
from auditor.readers import read_bytes
from auditor.records import Record

pytestmark = pytest.mark.skipif(not samples_available(), reason="../shared/ctgov-history-samples missing")


def _load(path: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_nested_and_flat_change_lists_read_alike() -> None:
    nested = _load(JERRY)
    flat = copy.deepcopy(nested["history"])
    from_nested = parse_changes(change_list_object(nested))
    assert parse_changes(change_list_object(flat)) == from_nested
    raw = nested["history"]["changes"]  # the oracle: the recorded JSON itself
    assert [(c.version, c.date, c.status, list(c.module_labels)) for c in from_nested] == [
        (e["version"], e["date"], e["status"], e["moduleLabels"]) for e in raw
    ]
    ollie = parse_changes(change_list_object(_load(OLLIE_CHANGES)))
    assert len(ollie) == 11 and ollie[9].module_labels[-1] == "IPDSharing"


def test_every_recorded_module_label_is_documented() -> None:
    labels = recorded_module_labels()
    assert {"Study Status", "Contacts/Locations", "Oversight", "IPDSharing"} <= labels
    assert labels <= set(MODULE_LABELS), labels - set(MODULE_LABELS)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"history": {"versions": []}}, "no 'changes'"),
        ({"changes": []}, "not a non-empty list"),
        (
            {"changes": [{"version": 1, "date": "2020-01-01", "status": "X", "moduleLabels": []}]},
            "expected 0",
        ),
        (
            {"changes": [{"version": 0, "date": "01/02/2020", "status": "X", "moduleLabels": []}]},
            "YYYY-MM-DD",
        ),
        (
            {"changes": [{"version": 0, "date": "2020-01-01", "status": "X", "moduleLabels": "Study"}]},
            "moduleLabels",
        ),
        (
            {
                "changes": [
                    {"version": 0, "date": "2020-02-01", "status": "X", "moduleLabels": []},
                    {"version": 1, "date": "2020-01-01", "status": "X", "moduleLabels": []},
                ]
            },
            "before version 0",
        ),
    ],
)
def test_unknown_change_list_shapes_are_refused(document: object, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        parse_changes(change_list_object(document))


def test_a_version_becomes_a_v2_study_dated_by_its_change() -> None:
    change = VersionChange(0, "2020-02-21", "NOT_YET_RECRUITING", ())
    raw = _load(ACTT1_V0)
    study = version_study(raw, "NCT04280705", change)
    assert study["derivedSection"] == {"miscInfoModule": {"versionHolder": "2020-02-21"}}
    assert study["protocolSection"]["statusModule"] == raw["study"]["protocolSection"]["statusModule"]
    criteria = study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    assert "<li>" not in criteria and "&#x2F;" not in criteria
    [record] = read_bytes(json.dumps(study).encode(), "v0.json")
    assert isinstance(record, Record) and record.nct_id == "NCT04280705"
    assert str(record.value("version_holder")) == "2020-02-21"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(studyVersion=1), "studyVersion is 1"),
        (lambda d: d.pop("study"), "no 'study'"),
        (
            lambda d: d["study"]["protocolSection"]["identificationModule"].update(nctId="NCT00000001"),
            "not NCT04280705",
        ),
        (
            lambda d: d["study"]["protocolSection"]["descriptionModule"].update(
                briefSummary="<table></table>"
            ),
            "briefSummary: unexpected HTML tag <table>",
        ),
        (
            lambda d: d["study"]["protocolSection"]["identificationModule"].update(briefTitle="<p>x</p>"),
            "briefTitle",
        ),
    ],
)
def test_unknown_version_shapes_are_refused(mutate: Any, message: str) -> None:
    document = _load(ACTT1_V0)
    mutate(document)
    with pytest.raises(ShapeError, match=message):
        version_study(document, "NCT04280705", VersionChange(0, "2020-02-21", "X", ()))


def test_change_list_file_round_trip(tmp_path: Any) -> None:
    history = change_list_object(_load(JERRY))
    changes = parse_changes(history)
    written = ChangeList("NCT03690141", "http://x/history", "2026-01-01T00:00:00+00:00", changes, history)
    path = write_change_list(tmp_path, written)
    assert path == tmp_path / "ctgov-changes" / "NCT03690141.json"
    back = read_change_list(tmp_path, "NCT03690141")
    assert back == written
    assert back is not None and back.labels(5)[-2:] == ("Eligibility", "Contacts/Locations")
    assert read_change_list(tmp_path, "NCT00000001") is None
