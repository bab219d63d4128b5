"""The module roll-up and the grades, against the registry's own change lists and the grade table.

The roll-up (``auditor/data/diff_modules.yaml``) must speak the registry's language: every
``moduleLabel`` in the recorded version-history responses of ``../shared/ctgov-history-samples``
is one it knows, and where a recording lets us rebuild both sides of a change, the modules our
diff reports are ones the registry listed. No recording there holds two full versions (see its
README), so the agreement is measured on what can be rebuilt:

* NCT03690141 (``?history=true``, 2023): the current record (version 9) and version 0 rebuilt
  from ``originalData`` (primary outcomes and enrollment as first registered) — our modules
  must be among the labels of versions 1-9, and each field's last-changed version
  (``lastUpdateVersions``) must carry the module we file it under;
* the Ollie change list (2026): the same ``lastUpdateVersions`` check, and every version whose
  status moved carries "Study Status";
* TrialDiff's real ``patchToVersion`` JSON Patches (2,796 operations): every operation inside
  a module is filed under a History-of-Changes label, never "Other".
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from auditor.diff import Grade, compare
from auditor.diff.grades import grade_of, grade_table, key_grade
from auditor.diff.modules import OTHER, module_of, module_table
from auditor.fields import path_key, registry
from auditor.readers import read_bytes
from auditor.records import Record

SAMPLES_NAME = "ctgov-history-samples"
JERRY = "jerryshell__clinicaltrials/extracted/NCT03690141_api_int_studies_history_true.json"
OLLIE = "Ollie1o1__options/tests/fixtures/catalyst/ctgov_history.json"


@pytest.fixture(scope="module")
def samples() -> Path:
    from conftest import SHARED

    root = SHARED / SAMPLES_NAME
    if not root.is_dir():
        pytest.skip(f"{root} not found (../shared is missing)")
    return root


def change_lists(samples: Path) -> list[list[dict]]:  # type: ignore[type-arg]
    out = []
    for path in sorted(samples.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        history = doc.get("history", doc) if isinstance(doc, dict) else {}
        if isinstance(history, dict) and isinstance(history.get("changes"), list):
            out.append(history["changes"])
    return out


def test_every_recorded_module_label_is_one_the_rollup_knows(samples: Path) -> None:
    lists = change_lists(samples)
    assert len(lists) >= 3
    seen = {label for changes in lists for entry in changes for label in entry["moduleLabels"]}
    assert seen >= {"Study Status", "Contacts/Locations", "Oversight", "IPDSharing", "Outcome Measures"}
    assert seen <= set(module_table().labels)
    # SHAPES.md §5: the labels seen only in third-party code that checked live responses
    assert {
        "Sponsor/Collaborators",
        "References",
        "Participant Flow",
        "Baseline Characteristics",
        "Outcome Measures (Results)",
        "Adverse Events",
        "More Information",
    } <= set(module_table().labels)


#: The field under each ``lastUpdateVersions`` key, as our records name it.
LAST_UPDATE_FIELDS = {
    "enrollmentInfo": "enrollment_count",
    "primaryOutcomes": "outcomes_module.primary_outcomes[0].measure",
    "secondaryOutcomes": "outcomes_module.secondary_outcomes[0].measure",
    "outcomes": "outcomes_module.primary_outcomes[0].measure",
}


@pytest.mark.parametrize("sample", [JERRY, OLLIE])
def test_a_fields_last_changed_version_carries_its_module(samples: Path, sample: str) -> None:
    doc = json.loads((samples / sample).read_text(encoding="utf-8"))
    history = doc.get("history", doc)
    labels = {c["version"]: set(c["moduleLabels"]) for c in history["changes"]}
    checked = 0
    for name, version in history["lastUpdateVersions"].items():
        if version == 0:
            continue
        key = LAST_UPDATE_FIELDS[name]
        assert module_of(key, "") in labels[version], f"{name} last changed in v{version}: {labels[version]}"
        checked += 1
    assert checked >= 2
    statuses = [c["status"] for c in history["changes"]]
    for c, before in zip(history["changes"][1:], statuses, strict=False):
        if c["status"] != before:
            assert module_of("overall_status", "") in c["moduleLabels"]
    outcome_versions = sum(1 for c in history["changes"] if "Outcome Measures" in c["moduleLabels"])
    assert history["outcomesUpdateCount"] == outcome_versions


def study_record(study: dict, name: str) -> Record:  # type: ignore[type-arg]
    [record] = read_bytes(json.dumps(study).encode("utf-8"), name)
    assert isinstance(record, Record)
    return record


def test_rebuilt_first_version_against_the_current_one_agrees_with_the_change_list(samples: Path) -> None:
    doc = json.loads((samples / JERRY).read_text(encoding="utf-8"))
    current = doc["study"]
    first = json.loads(json.dumps(current))
    original = doc["history"]["originalData"]
    first["protocolSection"]["outcomesModule"]["primaryOutcomes"] = original["primaryOutcomes"]
    first["protocolSection"]["designModule"]["enrollmentInfo"] = original["enrollmentInfo"]
    result = compare(study_record(first, "v0.json"), study_record(current, "v9.json"), by_snapshot_date=False)
    ours = set(result.by_module())
    registry_labels = {label for c in doc["history"]["changes"] for label in c["moduleLabels"]}
    assert ours == {"Outcome Measures", "Study Design"}
    assert ours <= registry_labels
    enrollment = result.headline.enrollment
    assert enrollment is not None and enrollment.old == original["enrollmentInfo"]["count"]


def patch_ops(samples: Path) -> list[str]:
    paths: list[str] = []
    for path in sorted((samples / "AMBRA7592__trialdiff" / "records").glob("*.json")):
        stack = [json.loads(path.read_text(encoding="utf-8"))]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if isinstance(node.get("patch"), list):
                    paths += [op["path"] for op in node["patch"] if isinstance(op, dict)]
                    continue
                stack += list(node.values())
            elif isinstance(node, list):
                stack += node
    return paths


def test_every_patch_operation_inside_a_module_has_a_history_label(samples: Path) -> None:
    ops = patch_ops(samples)
    assert len(ops) >= 2500
    by_label: Counter[str] = Counter()
    for pointer in ops:
        parts = pointer.strip("/").split("/")
        if len(parts) < 2:
            continue  # a whole section (annotationSection, documentSection …) or hasResults
        dotted = ".".join(p if not p.isdigit() else f"[{p}]" for p in parts[1:]).replace(".[", "[")
        by_label[module_of(path_key(dotted), "")] += 1
    assert OTHER not in by_label
    assert by_label["Adverse Events"] > 1000 and by_label["Contacts/Locations"] > 1000


def test_registered_fields_roll_up_by_their_api_module() -> None:
    """Every registered field with an API path is filed under its module's label."""
    table = module_table()
    for spec in registry().by_key.values():
        if spec.json and spec.json.startswith("protocolSection."):
            module = spec.json.split(".")[1]
            assert module_of(spec.key, spec.section) == table.api_modules[module], spec.key


# --- grades ----------------------------------------------------------------------------------

#: What a registry manager calls material, minor, administrative (the table's sources).
EXPECTED_GRADES = {
    ("overall_status", "Study Status"): Grade.MATERIAL,
    ("why_stopped", "Study Status"): Grade.MATERIAL,
    ("start_date", "Study Status"): Grade.MATERIAL,
    ("primary_completion_date", "Study Status"): Grade.MATERIAL,
    ("completion_date", "Study Status"): Grade.MATERIAL,
    ("enrollment_count", "Study Design"): Grade.MATERIAL,
    ("outcomes_module.primary_outcomes[2].measure", "Outcome Measures"): Grade.MATERIAL,
    ("clinical_study.primary_outcome[0].time_frame", "Outcome Measures"): Grade.MATERIAL,
    ("eligibility_criteria", "Eligibility"): Grade.MATERIAL,
    ("minimum_age", "Eligibility"): Grade.MATERIAL,
    ("arms_interventions_module.arm_groups[0].label", "Arms and Interventions"): Grade.MATERIAL,
    ("clinical_study.intervention[1].intervention_name", "Arms and Interventions"): Grade.MATERIAL,
    ("outcomes_module.secondary_outcomes[4].measure", "Outcome Measures"): Grade.MINOR,
    ("brief_summary", "Study Description"): Grade.MINOR,
    ("conditions_module.conditions[3]", "Conditions"): Grade.MINOR,
    ("contacts_locations_module.locations[7].status", "Contacts/Locations"): Grade.MINOR,
    ("contacts_locations_module.locations[7].zip", "Contacts/Locations"): Grade.ADMINISTRATIVE,
    ("contacts_locations_module.central_contacts[0].phone", "Contacts/Locations"): Grade.ADMINISTRATIVE,
    ("clinical_study.location[2].facility.address.city", "Contacts/Locations"): Grade.ADMINISTRATIVE,
    ("clinical_study.overall_official[0].last_name", "Contacts/Locations"): Grade.ADMINISTRATIVE,
    ("last_update_post_date", "Study Status"): Grade.ADMINISTRATIVE,
    ("status_verified_date", "Study Status"): Grade.ADMINISTRATIVE,
    ("condition_browse_module.meshes[0].term", "Derived"): Grade.ADMINISTRATIVE,
    ("clinical_study.intervention_browse.mesh_term[2]", "Derived"): Grade.ADMINISTRATIVE,
}


@pytest.mark.parametrize(("key", "module"), list(EXPECTED_GRADES))
def test_grade_table_grades_as_a_registry_manager(key: str, module: str) -> None:
    assert key_grade(key, module) is EXPECTED_GRADES[(key, module)]


def test_respelling_is_cosmetic_and_a_refined_date_at_most_minor() -> None:
    assert grade_of("overall_status", "Study Status", "format_only") is Grade.COSMETIC
    assert grade_of("brief_summary", "Study Description", "whitespace_only") is Grade.COSMETIC
    assert grade_of("start_date", "Study Status", "date_precision_changed") is Grade.MINOR
    assert grade_of("start_date", "Study Status", "date_shifted") is Grade.MATERIAL
    assert grade_of("last_update_post_date", "Study Status", "date_precision_changed") is Grade.ADMINISTRATIVE


def test_every_grade_rule_says_why() -> None:
    table = grade_table()
    assert all(rule.why for rule in table.rules)
    assert table.default is Grade.MINOR
