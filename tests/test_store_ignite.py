"""Ignite module pages in the store (issue 18): joined with the study page of the same study and
the same Ignite dates given in the same add, else one snapshot per (study, Ignite dates); read
back as the record :func:`auditor.readers.read_paths` gives for the same files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.readers import read_paths
from auditor.records import Record, SourceFormat
from auditor.run.parse import parse_table, store_units
from auditor.store import INDEX_NAME, Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STUDY = EXAMPLES / "2026-11-24" / "NCT09900002.txt"
CREATED = "2025-12-24 @ 6:59 PM"
MODIFIED = "2026-11-24 @ 2:10 AM"


def module_page(folder: Path, name: str, module: str, fields: str, *, modified: str = MODIFIED) -> Path:
    """An Ignite module page of NCT09900002 (the layout of ../shared/corpus/IGNITE.md)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        f"{module}\nThe {module.lower()} of a study.\nStudy -> Protocol Section -> {module}\n\n"
        f"Ignite Creation Date: {CREATED}\nIgnite Modification Date: {modified}\n"
        f"NCT ID: NCT09900002\n{fields}\nStudy: NCT09900002\nStudy Brief:\nProtocol Section: NCT09900002\n",
        encoding="utf-8",
    )
    return path


def same_record(a: Record, b: Record) -> None:
    assert a.nct_id == b.nct_id
    assert (a.ignite_created, a.ignite_modified) == (b.ignite_created, b.ignite_modified)
    assert [(f.section, f.label, f.key, f.raw) for f in a.fields] == [
        (f.section, f.label, f.key, f.raw) for f in b.fields
    ]


@pytest.fixture()
def pages(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "night"
    folder.mkdir()
    study = folder / "a_study.txt"
    study.write_bytes(STUDY.read_bytes())
    return {
        "study": study,
        "design": module_page(folder, "b_design.txt", "Design Module", "Enrollment: 120\nPhases: PHASE3"),
        "contacts": module_page(
            folder, "c_contacts.txt", "Contacts Locations Module", "Central Contact Name: Dr. Knee"
        ),
        "later": module_page(
            tmp_path / "later",
            "d_outcomes.txt",
            "Outcomes Module",
            "Primary Outcome: pain",
            modified="2026-11-26 @ 9:00 AM",
        ),
    }


def test_study_page_and_its_module_pages_are_one_snapshot(tmp_path: Path, pages: dict[str, Path]) -> None:
    store = Store(tmp_path / "s")
    result = store.add([pages["study"].parent])
    assert not result.errors and len(result.added) == 1
    (entry,) = store.snapshots_of("NCT09900002")
    assert entry.path.endswith(".pages.txt") and entry.format is SourceFormat.IGNITE_TEXT
    assert entry.modified == "2026-11-24T02:10" and entry.tiebreak == "2025-12-24T18:59"
    # The file holds the original pages, study page first, split by a U+001E line.
    stored = (tmp_path / "s" / entry.path).read_bytes()
    parts = stored.split(b"\n\x1e\n")
    assert parts == [pages[k].read_bytes() for k in ("study", "design", "contacts")]
    # Read back: the record read_paths merges from the same files, fields in the same order.
    (expected,) = [r for r in read_paths([pages["study"].parent]) if isinstance(r, Record)]
    loaded = store.load(entry)
    same_record(loaded, expected)
    assert [(f.key, f.raw) for f in loaded.fields[-3:]] == [
        ("enrollment_count", "120"),
        ("design_module.phases", "PHASE3"),
        ("contacts_locations_module.central_contact_name", "Dr. Knee"),
    ]
    assert loaded.source.sha256 == entry.sha256
    # Adding the same night again changes nothing; the store verifies clean.
    assert store.add([pages["study"].parent]).added == ()
    assert store.verify().problems == ()


def test_module_pages_without_their_study_page_stand_alone(tmp_path: Path, pages: dict[str, Path]) -> None:
    store = Store(tmp_path / "s")
    result = store.add([pages["design"], pages["contacts"], pages["later"]])
    assert not result.errors and len(result.added) == 2
    first, second = store.snapshots_of("NCT09900002")  # by Ignite modification date
    assert first.path.endswith(".pages.txt") and first.format is SourceFormat.IGNITE_MODULE
    (together,) = [r for r in read_paths([pages["design"], pages["contacts"]]) if isinstance(r, Record)]
    same_record(store.load(first), together)
    # One module page alone is stored as it is.
    assert second.path.endswith(".txt") and not second.path.endswith(".pages.txt")
    assert (tmp_path / "s" / second.path).read_bytes() == pages["later"].read_bytes()
    assert [f.raw for f in store.load(second).fields] == ["NCT09900002", "pain"]


def test_only_pages_of_the_same_add_and_the_same_dates_are_joined(
    tmp_path: Path, pages: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s"
    assert main(["snapshot", "add", "--store", str(store), str(pages["study"]), str(pages["later"])]) == 0
    # The module page has other dates: its own snapshot, beside the study page.
    assert [e.path.endswith(".pages.txt") for e in Store(store).snapshots_of("NCT09900002")] == [False, False]
    # A module page with the study page's dates, added later, is a snapshot with the same dates
    # and other content: a conflict, kept beside the study page and reported.
    code = main(["snapshot", "add", "--store", str(store), str(pages["design"])])
    err = capsys.readouterr().err
    assert code == 1 and "conflict" in err and "both kept" in err
    assert len(Store(store).snapshots_of("NCT09900002")) == 3


def test_a_lost_index_is_rebuilt_with_the_joined_snapshots(tmp_path: Path, pages: dict[str, Path]) -> None:
    store = Store(tmp_path / "s")
    store.add([pages["study"].parent, pages["later"]])
    before = [(e.path, e.order_key, e.content_sha, e.format) for e in store.snapshots_of("NCT09900002")]
    store.close()
    (tmp_path / "s" / INDEX_NAME).unlink()
    assert Store(tmp_path / "s").verify(repair=True).clean
    entries = Store(tmp_path / "s").snapshots_of("NCT09900002")
    after = [(e.path, e.order_key, e.content_sha, e.format) for e in entries]
    assert after == before


def test_a_page_holding_the_separator_is_an_input_error(tmp_path: Path, pages: dict[str, Path]) -> None:
    bad = module_page(tmp_path / "bad", "e.txt", "Design Module", "Enrollment: 12\x1e0")
    result = Store(tmp_path / "s").add([pages["study"], bad])
    assert result.added == () and len(result.errors) == 1
    assert "U+001E" in result.errors[0].one_line() and "e.txt" in result.errors[0].one_line()


def test_a_merged_record_handed_over_directly_is_refused(tmp_path: Path, pages: dict[str, Path]) -> None:
    (merged,) = [r for r in read_paths([pages["study"].parent]) if isinstance(r, Record)]
    alone = [r for r in read_paths([STUDY]) if isinstance(r, Record)]
    store = Store(tmp_path / "s")
    result = store.add([merged, *alone])
    assert len(result.errors) == 1 and "add the files instead" in result.errors[0].one_line()
    assert [e.sha256 for e in result.added] == [hashlib.sha256(STUDY.read_bytes()).hexdigest()]


def test_the_pipeline_reads_a_joined_snapshot_as_the_files_read(
    tmp_path: Path, pages: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --store`` and ``report staleness --store`` (the parse worker, stored units) read a
    stored ``.pages.txt`` whole — the study page with its module pages merged — the row the
    files given by name make, and the check's findings are the same."""
    store = tmp_path / "store"
    files = [str(pages["study"]), str(pages["design"]), str(pages["contacts"])]
    assert main(["snapshot", "add", "--store", str(store), *files]) == 0
    assert list(store.glob("NCT09900002/*.pages.txt"))
    by_name, errors, _ = parse_table(files, jobs=1)
    stored, stored_errors, _ = parse_table([], jobs=1, units=store_units(store))
    assert not errors and not stored_errors
    assert stored.drop(columns=["snapshot"]).equals(by_name.drop(columns=["snapshot"]))
    assert by_name.loc[0, "enrollment_count"] == 120 and by_name.loc[0, "problems"] == 0
    capsys.readouterr()
    check = ["check", "--as-of", "2026-11-25", "--format", "json"]
    assert main([*check, *files]) in (0, 1)
    expected = [
        {k: v for k, v in f.items() if k != "snapshot"}
        for f in json.loads(capsys.readouterr().out)["findings"]
    ]
    assert main([*check, "--store", str(store)]) in (0, 1)
    found = [
        {k: v for k, v in f.items() if k != "snapshot"}
        for f in json.loads(capsys.readouterr().out)["findings"]
    ]
    assert found == expected
