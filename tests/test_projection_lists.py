"""The projection's list columns are the full readers', on generated API v2 JSON and legacy XML
studies whose lists hold the shapes a registry never should but a file might: empty lists,
missing and empty sub-fields, non-string and nested values, keys in other spellings
(``TimeFrame``, ``time_frame``), repeated and capitalised XML elements, attributes, mixed
content. Where the projection declines (``None``) the full reader reads the input: declining
is allowed, a different column is not; the plain shapes must be projected."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

import pandas.testing as pdt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.list_fields import list_registry
from auditor.readers import read_bytes
from auditor.readers.projection import project
from auditor.records import Record
from auditor.table import records_table

LISTS = frozenset(list_registry())
COLUMNS = ["nct_id", *(column for spec in list_registry().values() for column in spec.columns)]
NCT = "NCT00000001"


def _same_list_columns(data: bytes, name: str) -> bool:
    """Assert the projected list columns equal the full reader's; ``False`` when it declined."""
    projected = project(data, name, LISTS)
    if projected is None:
        return False
    full = [r for r in read_bytes(data, name) if isinstance(r, Record)]
    pdt.assert_frame_equal(records_table(projected, LISTS)[COLUMNS], records_table(full, LISTS)[COLUMNS])
    return True


# --- API v2 JSON ------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["", " ", "Day 1", " 12 weeks ", "None", "N/A", "Recruiting", "PHASE_2", "France"]),
    st.text(max_size=6),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
    ),
    max_leaves=4,
)
OUTCOME_KEYS = ["measure", "timeFrame", "description", "TimeFrame", "time_frame", "other", "time.frame"]
LOCATION_KEYS = ["facility", "city", "country", "status", "Country", "geoPoint", "contacts", "zip"]


def items(keys: list[str]) -> st.SearchStrategy[list[Any]]:
    item = st.dictionaries(st.sampled_from(keys), values, max_size=4)
    return st.lists(st.one_of(item, item, values), max_size=4)


def module(lists: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=lists)


OUTCOMES = st.one_of(
    module({"primaryOutcomes": items(OUTCOME_KEYS), "secondaryOutcomes": items(OUTCOME_KEYS)}),
    module({"primaryOutcomes": items(OUTCOME_KEYS), "primary_outcomes": items(OUTCOME_KEYS)}),
    values,
)
MODULES = {
    "outcomesModule": OUTCOMES,
    "contactsLocationsModule": module({"locations": items(LOCATION_KEYS)}),
    "designModule": module({"phases": st.one_of(st.lists(values, max_size=4), values), "studyType": scalars}),
    "conditionsModule": module({"conditions": items(["a"]), "keywords": values}),
    "armsInterventionsModule": module({"armGroups": items(["label", "type"]), "interventions": values}),
}
json_studies = st.fixed_dictionaries(
    {
        "protocolSection": st.fixed_dictionaries(
            {"identificationModule": st.just({"nctId": NCT})}, optional=MODULES
        )
    },
    optional={"resultsSection": st.just({"outcomesModule": {"primaryOutcomes": [{"measure": "m"}]}})},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_studies)
def test_projected_json_lists_equal_the_full_reader(study: dict[str, Any]) -> None:
    projected = _same_list_columns(json.dumps(study, ensure_ascii=False).encode(), "x.json")
    protocol = study["protocolSection"]
    outcomes = protocol.get("outcomesModule")
    ambiguous = "resultsSection" in study or (isinstance(outcomes, dict) and "primary_outcomes" in outcomes)
    assert projected or ambiguous  # only keys that two objects could give are declined


def test_a_list_given_twice_is_declined() -> None:
    """Two modules whose keys both snake to ``outcomes_module.primary_outcomes``: the full reader
    merges their items field by field, which the projection does not try to copy."""
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": NCT},
            "outcomesModule": {"primaryOutcomes": [{"measure": "a"}]},
            "OutcomesModule": {"primaryOutcomes": [{"timeFrame": "b"}]},
        }
    }
    assert project(json.dumps(study).encode(), "x.json", LISTS) is None


# --- legacy XML -------------------------------------------------------------------------------

texts = st.sampled_from(
    ["", " ", "Day 1", "\n  12 weeks\n ", "Recruiting", "Phase 1/Phase 2", "N/A", "a & b"]
)


def element(tags: list[str], depth: int = 1) -> st.SearchStrategy[str]:
    """One element with a tag of ``tags``: text, maybe an attribute, maybe children."""
    leaf_children = st.just("") if depth == 0 else st.lists(element(tags, depth - 1), max_size=3).map("".join)
    return st.builds(
        lambda tag, text, attribute, children: f"<{tag}{attribute}>{escape(text)}{children}</{tag}>",
        st.sampled_from(tags),
        texts,
        st.sampled_from(["", ' type="x"']),
        st.one_of(st.just(""), leaf_children),
    )


def wrapped(tag: str, children: st.SearchStrategy[str], size: int) -> st.SearchStrategy[str]:
    """``<tag>`` around up to ``size`` elements of ``children``."""
    return st.lists(children, max_size=size).map(lambda found: f"<{tag}>{''.join(found)}</{tag}>")


OUTCOME_TAGS = ["measure", "time_frame", "description", "Measure", "other"]
LOCATION_TAGS = ["facility", "name", "address", "city", "country", "status", "contact"]
xml_parts = st.lists(
    st.one_of(
        element(["primary_outcome", "secondary_outcome"]),
        wrapped("primary_outcome", element(OUTCOME_TAGS, 0), 4),
        wrapped("location", element(LOCATION_TAGS, 2), 3),
        wrapped("location_countries", element(["country"], 0), 3),
        wrapped("arm_group", element(["arm_group_label", "arm_group_type", "description"], 0), 3),
        st.builds(lambda t: f"<phase>{escape(t)}</phase>", texts),
        element(["condition", "keyword"], 1),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml_parts)
def test_projected_xml_lists_equal_the_full_reader(parts: list[str]) -> None:
    body = "".join(parts)
    data = f"<clinical_study><id_info><nct_id>{NCT}</nct_id></id_info>{body}</clinical_study>".encode()
    projected = _same_list_columns(data, "x.xml")
    odd = "<Measure" in body or body.count("<phase>") > 1 or body.count("<location_countries>") > 1
    assert projected or odd  # declined only for a capitalised or repeated-single element


def test_a_plain_xml_study_gives_its_outcomes_and_phases() -> None:
    data = (
        f"<clinical_study><id_info><nct_id>{NCT}</nct_id></id_info><phase>Phase 1/Phase 2</phase>"
        "<primary_outcome><measure> Death </measure><time_frame>1 year</time_frame></primary_outcome>"
        "<primary_outcome><measure>Pain</measure><time_frame/></primary_outcome>"
        "<location_countries><country>France</country><country>Peru</country></location_countries>"
        "</clinical_study>"
    ).encode()
    (record,) = project(data, "x.xml", LISTS) or []
    row = records_table([record], LISTS).iloc[0]
    assert row["primary_outcomes__count"] == 2
    assert json.loads(row["primary_outcomes.time_frame"]) == ["1 year", None]
    assert json.loads(row["primary_outcomes.measure"]) == ["Death", "Pain"]
    assert json.loads(row["phases"]) == ["PHASE1", "PHASE2"]
    assert json.loads(row["countries"]) == ["France", "Peru"]
    assert _same_list_columns(data, "x.xml")
