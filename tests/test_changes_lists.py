"""List items (path keys with ``[n]``) are aligned by content, not matched by index."""

from __future__ import annotations

from pathlib import Path

from auditor.diff import (
    ChangeKind,
    SemanticClass,
    apply_changes,
    compare,
    diff,
    identities,
    mirrored,
    report_lines,
)
from auditor.readers import read_one
from auditor.readers.typing import type_field
from auditor.records import Record, Source, SourceFormat
from auditor.reports.diff_render import render_markdown, render_text

S = SemanticClass
LOC = "Contacts and Locations"

MAYO = {"facility": "Mayo Clinic", "city": "Rochester", "state": "Minnesota", "country": "United States"}
SOTIRIA = {"facility": "Sotiria", "city": "Athens", "country": "Greece"}
ATTIKON = {"facility": "Attikon", "city": "Chaidari", "country": "Greece"}
SARAH = {"facility": "Sarah Cannon", "city": "Nashville", "state": "Tennessee", "country": "United States"}


def locations(*items: dict[str, str], fmt: SourceFormat = SourceFormat.CTGOV_JSON) -> Record:
    rows = [("Study Overview", "Brief Title", "A study")]
    for i, item in enumerate(items):
        rows += [(LOC, f"contactsLocationsModule.locations[{i}].{k}", v) for k, v in item.items()]
    fields = tuple(type_field(*row)[0] for row in rows)
    return Record("NCT04736173", Source("x.json", fmt, "0" * 64), fields)


def test_an_item_inserted_at_the_start_is_one_item_added() -> None:
    old = locations(MAYO, SOTIRIA, ATTIKON)
    new = locations(SARAH, MAYO, SOTIRIA, ATTIKON)
    result = compare(old, new)
    assert {c.semantic for c in result.changes} == {S.ITEM_ADDED}
    assert [c.key for c in result.changes] == [f"contacts_locations_module.locations[0].{k}" for k in SARAH]
    assert result.items() == {"added": 1, "removed": 0}
    text = render_text(result)
    assert "site added: Sarah Cannon, Nashville (4 fields)" in text
    assert "4 study changes (1 list item added)" in text
    back = compare(new, old, by_snapshot_date=False)
    assert {c.semantic for c in back.changes} == {S.ITEM_REMOVED}
    assert back.items() == {"added": 0, "removed": 1}


def test_an_item_deleted_from_the_middle_is_one_item_removed() -> None:
    changes = diff(locations(MAYO, SOTIRIA, ATTIKON), locations(MAYO, ATTIKON))
    assert [(c.key, c.semantic) for c in changes] == [
        (f"contacts_locations_module.locations[1].{k}", S.ITEM_REMOVED) for k in SOTIRIA
    ]


def test_an_edit_in_a_shifted_item_is_one_change_with_its_old_key() -> None:
    old = locations(MAYO, SOTIRIA, ATTIKON)
    new = locations(SARAH, MAYO, SOTIRIA, {**ATTIKON, "city": "Chaïdári"})
    changes = diff(old, new)
    [edit] = [c for c in changes if not c.item]
    assert (edit.key, edit.old_key, edit.semantic) == (
        "contacts_locations_module.locations[3].city",
        "contacts_locations_module.locations[2].city",
        S.TEXT_EDITED,
    )
    back = [c for c in diff(new, old) if not c.item]
    assert back == [mirrored(edit)]
    assert back[0].key == "contacts_locations_module.locations[2].city"


def test_a_reordered_item_is_that_item_moved() -> None:
    result = compare(locations(MAYO, SOTIRIA, ATTIKON), locations(SOTIRIA, ATTIKON, MAYO))
    changes = result.changes
    assert {(c.kind, c.semantic) for c in changes} == {(ChangeKind.ITEM_MOVED, S.ITEM_MOVED)}
    assert len(changes) == len(MAYO)  # Mayo's fields, each from [0] to [2]; nothing else
    assert {(c.old_key or "").split(".")[1] for c in changes} == {"locations[0]"}
    assert {c.key.split(".")[1] for c in changes} == {"locations[2]"}
    [line] = report_lines(result)
    assert (line.mark, line.summary) == (">", "1 site moved to another place in the list (same content)")


def test_an_item_swapped_for_another_is_not_an_edit() -> None:
    changes = diff(locations(MAYO, SOTIRIA), locations(MAYO, ATTIKON))
    assert {c.semantic for c in changes} == {S.ITEM_ADDED, S.ITEM_REMOVED}
    small_edit = diff(locations(MAYO, SOTIRIA), locations(MAYO, {**SOTIRIA, "city": "Athina"}))
    assert [(c.key, c.semantic) for c in small_edit] == [
        ("contacts_locations_module.locations[1].city", S.TEXT_EDITED)
    ]


def test_apply_changes_renumbers_the_items_that_did_not_change() -> None:
    old = locations(MAYO, SOTIRIA, ATTIKON)
    new = locations(SARAH, MAYO, {**ATTIKON, "city": "Chaïdári"})
    applied = apply_changes(old, diff(old, new))
    assert {i: f.raw for i, f in identities(applied).items()} == {
        i: f.raw for i, f in identities(new).items()
    }
    assert diff(applied, new) == []


def test_records_of_different_formats_are_aligned_by_content_too() -> None:
    old = locations(MAYO, SOTIRIA, fmt=SourceFormat.CTGOV_JSON)
    new = locations(SOTIRIA, fmt=SourceFormat.IGNITE_TEXT)
    assert {c.semantic for c in diff(old, new)} == {S.ITEM_REMOVED}


def test_markdown_lists_an_added_item_on_one_row() -> None:
    result = compare(locations(MAYO), locations(SARAH, MAYO))
    rows = [line for line in render_markdown(result).splitlines() if line.startswith("| +")]
    assert len(rows) == 1 and "Sarah Cannon, Nashville" in rows[0]


def test_nct04736173_versions_count_what_a_person_would(corpus_dir: Path) -> None:
    """The sponsor dropped 41 sites and added 5, renamed 2 (Keimyung University, Metro Davao),
    and 2 countries joined the removed-countries list; with index matching this read as 472
    field changes, nearly all of them sites "edited" into their neighbours."""
    folder = corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions" / "NCT04736173"
    old, new = (read_one(p) for p in sorted(folder.glob("*.json")))
    result = compare(old, new)
    assert result.items() == {"added": 7, "removed": 41}
    edits = [c for c in result.changes if not c.item]
    assert [c.key for c in edits] == [
        "last_update_submit_date",
        "last_update_post_date",
        "contacts_locations_module.locations[14].facility",
        "contacts_locations_module.locations[21].facility",
    ]
    assert edits[2].old_key == "contacts_locations_module.locations[23].facility"
    assert (edits[3].old_raw, edits[3].new_raw) == (
        "Keimyung University Dongsan Hospital",
        "Keimyung University",
    )
    person_count = len(edits) + sum(result.items().values())
    assert person_count == 52  # version_holder is snapshot metadata now
    assert len(result.changes) == 244  # field changes: every field of an added or removed site
    text = render_text(result)
    assert "41 sites removed: Hope and Healing Cancer Service, Hinsdale;" in text  # one line
    assert text.count("site added: ") == 5 and text.count("removed country added: ") == 2
    detailed = render_text(result, details=True)
    assert detailed.count("site removed: ") == 41  # one line per site with --details


def test_a_contact_inserted_at_the_top_of_a_sites_contacts_is_one_contact_added() -> None:
    """Inside a paired item the engine compares by position (every contact "edited" into the
    next); the report aligns the inner list by content: one contact added."""

    def site(*contacts: tuple[str, str]) -> Record:
        rows = [("Study Overview", "Brief Title", "A study")]
        rows += [(LOC, f"contactsLocationsModule.locations[0].{k}", v) for k, v in MAYO.items()]
        for i, (name, phone) in enumerate(contacts):
            rows.append((LOC, f"contactsLocationsModule.locations[0].contacts[{i}].name", name))
            rows.append((LOC, f"contactsLocationsModule.locations[0].contacts[{i}].phone", phone))
        fields = tuple(type_field(*row)[0] for row in rows)
        return Record("NCT04736173", Source("x.json", SourceFormat.CTGOV_JSON, "0" * 64), fields)

    old = site(("Ann Lee", "555-1000"), ("Bo Park", "555-2000"))
    new = site(("Cy Diaz", "555-3000"), ("Ann Lee", "555-1000"), ("Bo Park", "555-2000"))
    result = compare(old, new)
    assert len(result.changes) == 6  # positional inside the site: 4 edits, 2 fields added
    lines = report_lines(result)
    assert [(ln.mark, ln.label, ln.summary) for ln in lines] == [
        ("+", "site: Mayo Clinic, Rochester › contacts", "contacts item added: Cy Diaz, 555-3000")
    ]
