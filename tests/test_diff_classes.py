"""Real corpus pairs for each class of change a registry manager meets, graded as they would.

Goldens in ``tests/golden/diff/classes/`` (rebuild: ``AUDITOR_UPDATE_GOLDEN=1``); each test also
asserts, from the raw file with ``json``/ElementTree, the facts its golden must show.

* a site moved in the list and edited (NCT06892548);
* MeSH terms reordered, nothing else in that list (NCT01339988, legacy XML);
* the 2016/17 results-format revision (NCT02028676, 4,697 field changes, one note);
* recruitment re-opened across 230 sites (NCT06203210);
* a termination that cut enrollment 263 → 99 (NCT05935098);
* ``audit diff OLD_DIR NEW_DIR`` over those studies: one report, a section per study.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.diff import DiffResult, Grade, batch, batch_records, compare, pair_records
from auditor.diff.lines import report_lines, without_reorders
from auditor.readers import read_one
from auditor.reports.diff_render import render, render_batch

pytestmark = pytest.mark.corpus

GOLDEN = Path(__file__).parent / "golden" / "diff" / "classes"
UPDATE = os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1"
JSON_VERSIONS = "partrita__clinicaltrial-watch-tigit/versions"
XML_VERSIONS = "ctti-clinicaltrials__aact/xml_versions"


def check_golden(name: str, text: str, corpus_dir: Path) -> None:
    text = text.replace(str(corpus_dir) + "/", "")
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"golden {path} missing: run with AUDITOR_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"output differs from golden {path}"


def pair(corpus_dir: Path, folder: str, nct_id: str, old: str, new: str) -> tuple[Path, Path]:
    base = corpus_dir / folder / nct_id
    ext = ".xml" if "xml" in folder else ".json"
    return base / f"{old}{ext}", base / f"{new}{ext}"


def diff_of(paths: tuple[Path, Path]) -> DiffResult:
    return compare(read_one(paths[0]), read_one(paths[1]))


def protocol(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_bytes())["protocolSection"]  # type: ignore[no-any-return]


def test_moved_and_edited_site(corpus_dir: Path) -> None:
    paths = pair(corpus_dir, JSON_VERSIONS, "NCT06892548", "2026-02-05_62edf6a", "2026-02-12_9c89203")
    result = diff_of(paths)
    moved = [line for line in report_lines(result) if line.semantic == "item_moved_and_edited"]
    assert moved, "a site that moved and changed is one edited site, not one removed and one added"
    old_sites = {
        (s.get("facility"), s.get("city")) for s in protocol(paths[0])["contactsLocationsModule"]["locations"]
    }
    for line in moved:
        name = line.label.removeprefix("site: ")
        assert any(f"{f}, {c}" == name for f, c in old_sites)  # named by facility and city
        assert "moved from position" in line.summary
    check_golden("moved_and_edited_site.txt", render(result, "text"), corpus_dir)


def test_mesh_reorder(corpus_dir: Path) -> None:
    paths = pair(corpus_dir, XML_VERSIONS, "NCT01339988", "2016-08-12_c7977cd", "2017-01-19_fb75a57")
    t0, t1 = ([e.text for e in ET.parse(p).getroot().findall("condition_browse/mesh_term")] for p in paths)
    assert t0 != t1 and sorted(t0) == sorted(t1)  # type: ignore[type-var]
    result = diff_of(paths)
    mesh = [
        line for line in report_lines(result) if line.identity.startswith("clinical_study.condition_browse")
    ]
    assert [(line.semantic, line.grade) for line in mesh] == [("reordered", Grade.COSMETIC)]
    assert mesh[0].summary.endswith("moved to another place in the list (same content)")
    quiet = without_reorders(result)
    assert not any(c.key.startswith("clinical_study.condition_browse") for c in quiet.changes)
    check_golden("mesh_reorder.txt", render(result, "text"), corpus_dir)
    check_golden("mesh_reorder_ignore_order.txt", render(quiet, "text"), corpus_dir)


def test_results_format_revision_2016(corpus_dir: Path) -> None:
    paths = pair(corpus_dir, XML_VERSIONS, "NCT02028676", "2016-08-20_d6d462a", "2016-12-06_853c56e")
    old, new = (ET.parse(p).getroot() for p in paths)
    assert old.find("clinical_results/outcome_list/outcome/measure_list") is not None
    assert new.find("clinical_results/outcome_list/outcome/measure/class_list") is not None
    result = diff_of(paths)
    [note] = [n for n in result.notes if n.startswith("format revision: the 2016/17")]
    assert "92% of the values removed there reappear under new keys" in note
    assert len(result.changes) > 4000
    assert set(result.by_module()) <= {
        "Baseline Characteristics",
        "Outcome Measures (Results)",
        "References",
        "Derived",
    }
    assert result.headline.lines() == []  # nothing a registry manager must read first
    text = render(result, "text")
    assert len(text.splitlines()) < 1200  # the mass edits are summarised
    check_golden("results_revision_2016.txt", text, corpus_dir)


def test_reopening_across_230_sites(corpus_dir: Path) -> None:
    paths = pair(corpus_dir, JSON_VERSIONS, "NCT06203210", "2026-02-05_62edf6a", "2026-02-10_ed22b55")
    locations = protocol(paths[1])["contactsLocationsModule"]["locations"]
    statuses = [loc.get("status") for loc in locations]
    result = diff_of(paths)
    status = result.headline.status
    assert status is not None and (status.old, status.new, status.alarm) == (
        "ACTIVE_NOT_RECRUITING",
        "RECRUITING",
        "reopened",
    )
    [line] = [line for line in report_lines(result) if line.identity.endswith("[*].status")]
    counts = {s: statuses.count(s) for s in ("RECRUITING", "NOT_YET_RECRUITING")}
    recruiting, not_yet = counts["RECRUITING"], counts["NOT_YET_RECRUITING"]
    assert line.summary == f"230 sites: status set — RECRUITING {recruiting}, NOT_YET_RECRUITING {not_yet}"
    assert line.grade is Grade.MINOR  # one site's own status; the trial's status is the headline
    assert [c.grade for c in result.changes if c.key == "overall_status"] == [Grade.MATERIAL]
    detailed = report_lines(result, details=True)
    assert sum(1 for ln in detailed if ln.identity.endswith(".status") and "[*]" not in ln.identity) == 230
    check_golden("reopening_230_sites.txt", render(result, "text"), corpus_dir)
    check_golden("reopening_230_sites.html", render(result, "html"), corpus_dir)


def test_termination_with_enrollment_cut(corpus_dir: Path) -> None:
    paths = pair(corpus_dir, JSON_VERSIONS, "NCT05935098", "2026-02-04_9d3bbfc", "2026-03-14_14b1b90")
    new = protocol(paths[1])
    result = diff_of(paths)
    head = result.headline
    assert head.status is not None and head.status.alarm == "stopped"
    assert head.stop_reason == " ".join(new["statusModule"]["whyStopped"].split())
    assert head.enrollment is not None
    assert (head.enrollment.old, head.enrollment.new, head.enrollment.percent) == (263, 99, -62.4)
    assert [s.gap for s in head.date_slips] == ["1 year 2 months 4 days earlier"] * 2
    material = {c.key for c in result.changes if c.grade is Grade.MATERIAL}
    assert {"overall_status", "why_stopped", "enrollment_count", "completion_date"} <= material
    text = render(result, "text")
    assert text.index("status stopped") < text.index("why stopped") < text.index("enrollment 263")
    check_golden("termination_enrollment_cut.txt", text, corpus_dir)
    check_golden("termination_enrollment_cut.md", render(result, "markdown"), corpus_dir)


CASES = [
    ("NCT06892548", "2026-02-05_62edf6a", "2026-02-12_9c89203"),
    ("NCT06203210", "2026-02-05_62edf6a", "2026-02-10_ed22b55"),
    ("NCT05935098", "2026-02-04_9d3bbfc", "2026-03-14_14b1b90"),
    ("NCT04514484", "2026-02-12_9c89203", "2026-02-16_2591e4c"),
]


@pytest.fixture
def two_dirs(corpus_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    for nct_id, a, b in CASES:
        (old / f"{nct_id}.json").write_bytes((corpus_dir / JSON_VERSIONS / nct_id / f"{a}.json").read_bytes())
        (new / f"{nct_id}.json").write_bytes((corpus_dir / JSON_VERSIONS / nct_id / f"{b}.json").read_bytes())
    extra = corpus_dir / JSON_VERSIONS / "NCT04457778" / "2026-02-03_91d8d98.json"
    (new / "NCT04457778.json").write_bytes(extra.read_bytes())  # a study only in NEW
    return old, new


def test_batch_of_two_folders(two_dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = two_dirs
    result = batch_records(read_one_dir(old), read_one_dir(new))
    assert result.counts() == {"changed": 4, "only_new": 1}
    assert [(n, t.alarm) for n, t in result.status_transitions()] == [
        ("NCT05935098", "stopped"),
        ("NCT06203210", "reopened"),
    ]
    assert result.studies_by_module()["Study Status"] == 4
    doc = result.to_dict()
    assert doc["summary"]["by_sponsor"] and doc["studies"][1]["diff"]["schema"] == 2
    text = render_batch(result, "text")
    assert text.startswith("audit diff: 5 studies (4 changed, 1 only new)")
    assert text.count("audit diff NCT") == 4
    # the same through the CLI, in one process; --exit-code: some study changed
    code = main(["diff", str(old), str(new), "--exit-code", "--format", "markdown"])
    out = capsys.readouterr().out
    assert code == 1 and out.count("## Changes to NCT") == 4
    code = main(["diff", str(old), str(new), "--min-grade", "material", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["min_grade"] == "material"
    changed = [s for s in doc["studies"] if s["state"] == "changed"]
    assert all(c["grade"] == "material" for s in changed for c in s["diff"]["changes"])
    assert {s["nct_id"] for s in changed} == {"NCT05935098", "NCT06203210"}  # sites moving: not material


def read_one_dir(folder: Path) -> list:  # type: ignore[type-arg]
    return [read_one(p) for p in sorted(folder.iterdir())]


def test_batch_goldens(
    two_dirs: tuple[Path, Path], corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(two_dirs[0].parent)  # paths in the report: old/…, new/…
    result = batch(pair_records(read_one_dir(Path("old")), read_one_dir(Path("new"))).pairs)
    for fmt, ext in (("text", "txt"), ("markdown", "md"), ("html", "html")):
        check_golden(f"batch.{ext}", render_batch(result, fmt), corpus_dir)


def test_two_dates_of_the_store(corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--store S --from D1 --to D2``: each record's latest snapshot on or before each date."""
    store = tmp_path / "store"
    folder = corpus_dir / JSON_VERSIONS / "NCT04514484"
    assert main(["snapshot", "add", "--store", str(store), str(folder)]) == 0
    capsys.readouterr()
    code = main(
        ["diff", "--store", str(store), "--from", "2026-01-01", "--to", "2026-02-08", "--format", "json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["summary"]["by_state"] == {"changed": 1}
    [study] = doc["studies"]
    before = read_one(folder / "2026-02-05_62edf6a.json")  # last update 2025-10-25
    after = read_one(folder / "2026-02-11_afb21bf.json")  # last update 2026-02-07
    assert [c["key"] for c in study["diff"]["changes"]] == [c.key for c in compare(before, after).changes]
    assert main(["diff", "--store", str(store), "--from", "2026-01-01"]) == 2
    assert "--store needs --from and --to" in capsys.readouterr().err


def test_a_study_given_twice_on_one_side_is_an_error_not_a_guess(two_dirs: tuple[Path, Path]) -> None:
    old, new = two_dirs
    again = old / "copy.json"
    again.write_bytes((old / "NCT05935098.json").read_bytes())
    result = batch_records(read_one_dir(old), read_one_dir(new))
    [study] = [s for s in result.studies if s.nct_id == "NCT05935098"]
    assert study.state == "error" and study.error is not None and "2 snapshots in OLD" in study.error
    assert result.counts() == {"changed": 3, "error": 1, "only_new": 1}
