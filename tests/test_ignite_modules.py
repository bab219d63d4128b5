"""Ignite module pages: every API v2 module's labels, each results module in the public layout,
pages of one study merged with its study page, and the keys the JSON reader gives.

The fixtures (``tests/fixtures/ignite/modules/``, see its README) are the pages of NCT04326231
written by hand in the layout the Ignite site prints, from the study's API v2 record in the
corpus; the oracle below reads that record with ``json`` alone.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditor.diff import ChangeKind, SemanticClass, compare
from auditor.fields import registry
from auditor.ignite_writer import (
    RESULTS_MODULES,
    expected_after_pages,
    pages_ambiguities,
    read_pages,
    write_ignite_pages,
)
from auditor.readers import read_bytes, read_path, read_paths
from auditor.readers.ignite_labels import module_labels
from auditor.readers.ignite_text import read_ignite_text
from auditor.records import Record, SourceFormat

FIXTURES = Path(__file__).parent / "fixtures" / "ignite" / "modules"
NCT = "NCT04326231"
STUDY_SET = "UserZetsu__dtx-analysis/ctg-studies.json"
PAGES = {
    "participantFlowModule": "participant_flow.txt",
    "baselineCharacteristicsModule": "baseline_characteristics.txt",
    "outcomeMeasuresModule": "outcome_measures.txt",
    "adverseEventsModule": "adverse_events.txt",
    "moreInfoModule": "more_info.txt",
}


def snake(name: str) -> str:
    """The oracle's own snake_case (not the registry's)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@pytest.fixture(scope="module")
def study_json(corpus_dir: Path) -> dict[str, Any]:
    studies = json.loads((corpus_dir / STUDY_SET).read_text(encoding="utf-8"))
    [study] = [s for s in studies if s["protocolSection"]["identificationModule"]["nctId"] == NCT]
    return study  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def json_record(corpus_dir: Path) -> Record:
    [record] = [r for r in read_path(corpus_dir / STUDY_SET) if r.nct_id == NCT]
    return record


def read_page(name: str) -> Record:
    [record] = read_ignite_text((FIXTURES / name).read_bytes(), name)
    assert isinstance(record, Record)
    return record


def raws(record: Record) -> dict[str, str]:
    return {f.key: f.raw for f in record.fields}


# --- the labels ------------------------------------------------------------------------------


def test_labels_are_the_ones_ignite_prints() -> None:
    """The labels seen on public Ignite pages come out of the registry's module names."""
    seen = {
        "participantFlowModule": ["Pre Assignment Details", "Recruitment Details", "Type Units Analyzed"],
        "baselineCharacteristicsModule": ["Population Description"],
        "adverseEventsModule": [
            "Description",
            "Frequency Threshold",
            "Time Frame",
            "Event Groups(If Any)",
            "Serious Events(If Any)",
            "Other Events(If Any)",
        ],
        "eligibilityModule": [
            "Eligibility Criteria",
            "Healthy Volunteers",
            "Sex",
            "Minimum Age",
            "Maximum Age",
        ],
    }
    for module, labels in seen.items():
        written = {entry[2] for entry in module_labels(module).values()}
        assert set(labels) <= written, module


def test_every_module_of_the_corpus_is_registered_with_every_field(corpus_dir: Path) -> None:
    """Oracle: every direct child of every module of every v2 study in the corpus, from the raw
    JSON; scalars must be the module's ``fields``, objects and lists its ``nested``."""
    modules = registry().ignite_modules
    seen: Counter[tuple[str, str, bool]] = Counter()
    for path in corpus_dir.rglob("*.json"):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        studies = document.get("studies", []) if isinstance(document, dict) else document
        for study in studies if isinstance(studies, list) else []:
            if not isinstance(study, dict) or "protocolSection" not in study:
                continue
            for section, content in study.items():
                if not isinstance(content, dict):
                    continue
                assert section in modules, section
                for module, children in content.items():
                    assert module in modules[section].nested, (section, module)
                    for name, value in children.items():
                        seen[(module, name, isinstance(value, dict | list))] += 1
    assert len(seen) > 100
    # Not an API field: the dgg32 set's author added it to their export (its SOURCE.md).
    seen.pop(("contactsLocationsModule", "locations_nested", True))
    for module, name, nested in seen:
        where = modules[module].nested if nested else modules[module].fields
        assert name in where, (module, name)


# --- each results module as the Ignite site prints it ------------------------------------------


@pytest.mark.parametrize("module", RESULTS_MODULES)
def test_results_module_page_reads_the_json_fields(module: str, study_json: dict[str, Any]) -> None:
    record = read_page(PAGES[module])
    assert record.source.format is SourceFormat.IGNITE_MODULE
    assert record.nct_id == NCT
    assert record.problems == ()
    assert record.ignite_created is not None and record.ignite_modified is not None
    content = study_json["resultsSection"][module]
    got = raws(record)
    for name, value in content.items():
        key = f"{snake(module)}.{snake(name)}"
        if not isinstance(value, dict | list):  # Ignite prints a value on one line
            assert got.get(key) == " ".join(str(value).split()), key
        # (a nested list is printed as a table on some pages only: not on Participant Flow's)
    # Every field is the module's (its own leaves and tables), the NCT ID or the brief title.
    own = {f.key for f in record.fields} - {"nct_id", "brief_title"}
    assert all(key.startswith(snake(module) + ".") for key in own), own
    assert not {f.label for f in record.fields} & {"Study", "Results Section"}


def test_empty_values_on_consecutive_lines_are_fields() -> None:
    record = read_page("participant_flow_empty.txt")
    assert [(f.label, f.key, f.raw, f.type.value) for f in record.fields] == [
        ("NCT ID", "nct_id", NCT, "text"),
        ("Pre Assignment Details", "participant_flow_module.pre_assignment_details", "", "missing"),
        ("Recruitment Details", "participant_flow_module.recruitment_details", "", "missing"),
        ("Type Units Analyzed", "participant_flow_module.type_units_analyzed", "", "missing"),
    ]
    assert record.problems == ()


def test_relation_line_with_a_value_is_the_brief_title(study_json: dict[str, Any]) -> None:
    record = read_page("baseline_characteristics.txt")
    assert record.problems == ()  # nothing "outside any field"
    brief = record.get("brief_title")
    assert brief is not None
    assert (brief.label, brief.section) == ("Study Brief", "Study Overview")
    assert brief.raw == study_json["protocolSection"]["identificationModule"]["briefTitle"]
    assert record.get("nct_id").section == "Study Overview"  # type: ignore[union-attr]
    assert record.get("baseline_characteristics_module.population_description").section == "Results"  # type: ignore[union-attr]


def test_tables_after_if_any_are_one_field_each() -> None:
    record = read_page("adverse_events.txt")
    table = record.get("adverse_events_module.event_groups")
    assert table is not None and table.label == "Event Groups(If Any)"
    assert table.raw.splitlines()[-1].startswith("Primary Usability of Cognoa ASD Therapeutic Device")
    assert "Deaths # Affected" in table.raw
    for key in ("adverse_events_module.serious_events", "adverse_events_module.other_events"):
        assert record.get(key) is not None and record.get(key).raw == ""  # type: ignore[union-attr]


def test_a_value_that_looks_like_a_label_inside_a_module_page() -> None:
    """Only the module's own labels start fields: a table row or a value line with a colon stays
    text, and an unknown label-looking line after a field continues it."""
    page = (
        (FIXTURES / "participant_flow.txt")
        .read_text()
        .replace(
            "Recruitment Details: Withdrawn",
            "Recruitment Details: Withdrawn\nPeriod 1: Day 1-5\nGroups: A and B",
        )
    )
    [record] = read_ignite_text(page.encode(), "pf.txt")
    assert isinstance(record, Record) and record.problems == ()
    details = raws(record)["participant_flow_module.recruitment_details"]
    assert (
        details == "Withdrawn\nPeriod 1: Day 1-5\nGroups: A and B (limited recruitment within study timeline)"
    )


# --- pages of one study --------------------------------------------------------------------


def test_study_page_and_module_pages_merge_into_one_record(tmp_path: Path) -> None:
    for name in ("study.txt", *PAGES.values()):
        shutil.copy(FIXTURES / name, tmp_path / name)
    [record] = list(read_paths([tmp_path]))
    assert isinstance(record, Record)
    assert record.source.path == str(tmp_path / "study.txt")
    assert record.problems == ()
    keys = {f.key for f in record.fields}
    for name in PAGES.values():
        assert {f.key for f in read_page(name).fields} <= keys
    assert Counter(f.key for f in record.fields)["nct_id"] == 1  # the pages' NCT ID lines add nothing
    assert Counter(f.key for f in record.fields)["brief_title"] == 1  # nor their Study Brief lines


def test_a_module_page_alone_is_a_record() -> None:
    [record] = read_bytes((FIXTURES / "adverse_events.txt").read_bytes(), "ae.txt")
    assert isinstance(record, Record) and record.nct_id == NCT


def test_text_pages_and_the_json_record_compare_field_by_field(tmp_path: Path, json_record: Record) -> None:
    """The hand-written pages against the API v2 record: the results fields they print compare
    under the same keys; the only change is the whitespace Ignite joins a value's lines with."""
    for name in ("study.txt", *PAGES.values()):
        shutil.copy(FIXTURES / name, tmp_path / name)
    [text] = list(read_paths([tmp_path]))
    assert isinstance(text, Record)
    result = compare(json_record, text)
    kept = [c for c in result.changes if c.kind is not ChangeKind.REMOVED]  # the study page prints less
    assert [(c.key, c.semantic) for c in kept] == [
        ("baseline_characteristics_module.population_description", SemanticClass.WHITESPACE_ONLY)
    ]
    removed = {c.key for c in result.changes if c.kind is ChangeKind.REMOVED}
    assert not any(key.startswith(("participant_flow_module", "adverse_events_module")) for key in removed)


# --- the writer: JSON → module pages → record ----------------------------------------------


def test_written_module_pages_have_the_public_layout(json_record: Record) -> None:
    pages = write_ignite_pages(json_record)
    assert [p.module for p in pages] == [None, *RESULTS_MODULES]
    flow = pages[1].text.splitlines()
    assert flow[:2] == ["Participant Flow Module", "Study -> Results Section -> Participant Flow Module"]
    assert f"NCT ID: {NCT}" in flow
    details = "The protocol enrollment number represents Child/Caregiver enrollment in the study."
    assert f"Pre Assignment Details: {details}" in flow
    assert flow[-3:] == [f"Study: {NCT}", "Study Brief:", f"Results Section: {NCT}"]
    assert "Participant Flow Module" not in pages[0].text and "participantFlowModule" not in pages[0].text


@pytest.mark.corpus
def test_corpus_results_modules_round_trip_through_module_pages(corpus_dir: Path) -> None:
    """Every API v2 study of the corpus with results: JSON → record → study page and results
    module pages → record gives the same fields, and ``compare`` finds nothing, with no
    "not comparable" note."""
    checked = 0
    for item in read_paths([corpus_dir]):
        if not isinstance(item, Record) or item.source.format is not SourceFormat.CTGOV_JSON:
            continue
        if not any(f.key.startswith("participant_flow_module.") for f in item.fields):
            continue
        checked += 1
        assert pages_ambiguities(item) == [], item.source.path
        back = read_pages(write_ignite_pages(item))
        assert [(f.key, f.raw) for f in back.fields] == [(f.key, f.raw) for f in expected_after_pages(item)]
        result = compare(item, back)
        assert result.changes == [] or all(
            c.semantic is SemanticClass.WHITESPACE_ONLY for c in result.changes
        )
        assert not any("not comparable" in note for note in result.notes), result.notes
    assert checked >= 150


def test_a_relation_line_with_another_value_is_kept_as_a_field() -> None:
    page = (
        (FIXTURES / "participant_flow.txt")
        .read_text()
        .replace(f"Results Section: {NCT}", "Results Section: see the posted results")
    )
    [record] = read_ignite_text(page.encode(), "pf.txt")
    assert isinstance(record, Record) and record.problems == ()
    assert raws(record)["participant_flow_module.results_section"] == "see the posted results"
