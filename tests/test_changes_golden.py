"""Golden tests of ``audit diff`` on real pairs and on hand-made edits of the seed.

Goldens live in ``tests/golden/diff/``; rebuild them with ``AUDITOR_UPDATE_GOLDEN=1 pytest
tests/test_changes_golden.py`` and review the diff. Corpus paths are written relative to the
corpus root so the goldens do not depend on where ``../shared`` is.

* ``partrita_versions.txt`` — every consecutive pair of the 53 API v2 JSON studies;
* ``aact_xml_versions.txt`` — every consecutive pair of the 44 legacy XML studies;
* ``cross_format.txt`` — studies seen as 2023 XML and as 2026 JSON (corpus README overlaps);
* ``seed/*`` — every output format for one set of seed edits; the per-class seed cases are
  data in ``tests/fixtures/diff/seed_edits.yaml``;
* the same JSON/XML pairs rendered as Ignite text must give the same body changes.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from itertools import groupby, pairwise
from pathlib import Path

import pytest
import yaml

from auditor.diff import Change, DiffResult, compare, is_path_key
from auditor.diff.crossformat import crossformat_table
from auditor.errors import InputError
from auditor.readers import read_bytes, read_one
from auditor.records import Record
from auditor.reports.diff_render import render

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "diff"
SEED_EDITS = HERE / "fixtures" / "diff" / "seed_edits.yaml"
UPDATE = os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1"

pytestmark = pytest.mark.corpus


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"golden {path} missing: run with AUDITOR_UPDATE_GOLDEN=1")
    assert text == path.read_text(encoding="utf-8"), f"output differs from golden {path}"


# --- corpus pairs --------------------------------------------------------------------------

Versions = dict[str, list[tuple[str, Record | InputError]]]


def load_versions(root: Path, pattern: str) -> Versions:
    """Each study's version files in date order, read (or the error that reading gave)."""
    out: Versions = {}
    files = sorted(root.glob(pattern))
    for study, group in groupby(files, key=lambda p: p.parent.name):
        items: list[tuple[str, Record | InputError]] = []
        for path in group:
            try:
                items.append((path.stem, read_one(path)))
            except InputError as exc:
                items.append((path.stem, exc))
        out[study] = items
    return out


def pairs(versions: Versions) -> Iterator[tuple[str, str, Record, str, Record]]:
    """Consecutive readable versions of each study."""
    for study, items in versions.items():
        good = [(name, rec) for name, rec in items if isinstance(rec, Record)]
        for (a_name, a), (b_name, b) in pairwise(good):
            yield study, a_name, a, b_name, b


def summarise(result: DiffResult, root: Path) -> list[str]:
    """Compact golden lines: every registry field change, path-field changes as counts."""
    lines: list[str] = []
    path_counts: dict[str, int] = {}
    for c in result.changes:
        if is_path_key(c.key):
            path_counts[str(c.semantic)] = path_counts.get(str(c.semantic), 0) + 1
            continue
        extra = " ".join(x for x in (c.flag or "", "" if c.days is None else f"{c.days:+d}d") if x)
        lines.append(f"  {c.identity:<34} {c.semantic!s:<24} {extra:<16} {short(c.summary)}".rstrip())
    if path_counts:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(path_counts.items()))
        lines.append(f"  ({sum(path_counts.values())} path-field changes: {counts})")
    for c in result.metadata:
        lines.append(f"  [metadata] {c.identity} {short(c.summary)}")
    for note in result.notes:
        lines.append(f"  note: {note.replace(str(root) + '/', '')}")
    return lines


def short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@pytest.fixture(scope="module")
def partrita(corpus_dir: Path) -> Versions:
    return load_versions(corpus_dir / "partrita__clinicaltrial-watch-tigit" / "versions", "NCT*/*.json")


@pytest.fixture(scope="module")
def aact_xml(corpus_dir: Path) -> Versions:
    return load_versions(corpus_dir / "ctti-clinicaltrials__aact" / "xml_versions", "NCT*/*.xml")


def corpus_golden(versions: Versions, root: Path) -> str:
    lines: list[str] = []
    for study, items in versions.items():
        for name, rec in items:
            if isinstance(rec, InputError):
                lines.append(f"{study} {name}: unreadable: {rec.message}")
    for study, a_name, a, b_name, b in pairs(versions):
        result = compare(a, b)
        lines.append(f"{study} {a_name} -> {b_name}: {len(result.changes)} changes")
        lines += summarise(result, root)
    return "\n".join(lines) + "\n"


def test_partrita_json_versions(partrita: Versions, corpus_dir: Path) -> None:
    assert len(partrita) == 53
    check_golden("partrita_versions.txt", corpus_golden(partrita, corpus_dir))


def test_studies_moving_into_unknown_are_flagged(partrita: Versions) -> None:
    for study in ("NCT05294952", "NCT06302556"):
        flagged = [
            c
            for _, _, a, _, b in pairs({study: partrita[study]})
            for c in compare(a, b).changes
            if c.flag == "into_unknown"
        ]
        assert [(c.key, c.old_value, c.new_value) for c in flagged] == [
            ("overall_status", "NOT_YET_RECRUITING", "UNKNOWN")
        ]


def test_aact_xml_versions(aact_xml: Versions, corpus_dir: Path) -> None:
    assert len(aact_xml) >= 44
    check_golden("aact_xml_versions.txt", corpus_golden(aact_xml, corpus_dir))


def test_whole_xml_pair_renders_in_every_format(aact_xml: Versions, corpus_dir: Path) -> None:
    items = dict(aact_xml["NCT00023673"])
    a, b = items["2017-01-19_fb75a57"], items["2017-08-08_9a3c3ea"]
    assert isinstance(a, Record) and isinstance(b, Record)
    result = compare(a, b)
    for fmt, ext in FORMATS:
        text = render(result, fmt).replace(str(corpus_dir) + "/", "")
        check_golden(f"NCT00023673_xml.{ext}", text)


# --- cross-format: 2023 XML vs 2026 JSON ------------------------------------------------------

CROSS = (
    *("NCT00001245", "NCT00001908", "NCT00001909", "NCT00002297"),
    *("NCT00006150", "NCT00460538", "NCT00490425"),
)


def tar_records(archive: Path, wanted: dict[str, str]) -> dict[str, Record]:
    """``{nct_id: record}`` of the archive members named in ``wanted`` (member → NCT ID)."""
    out: dict[str, Record] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name in wanted:
                handle = tar.extractfile(member)
                assert handle is not None
                [record] = read_bytes(handle.read(), f"{archive.name}!{member.name}")
                assert isinstance(record, Record)
                out[wanted[member.name]] = record
    return out


@pytest.fixture(scope="module")
def cross_pairs(corpus_dir: Path) -> list[tuple[Record, Record]]:
    xml = tar_records(
        corpus_dir / "reesewang25__enrollment_and_studylength" / "AllPublicXML_subset_5c5cc15.tar.gz",
        {f"{n[:7]}xxxx/{n}.xml": n for n in CROSS},
    )
    js = tar_records(
        corpus_dir / "partrita__clinicaltrial-watch-tigit" / "current_snapshots_HEAD_c69effd.tar.gz",
        {f"snapshots/{n}_latest.json": n for n in CROSS},
    )
    return [(xml[n], js[n]) for n in CROSS]


def test_cross_format_pairs(cross_pairs: list[tuple[Record, Record]], corpus_dir: Path) -> None:
    lines: list[str] = []
    for xml, js in cross_pairs:
        result = compare(js, xml)  # newest first: the older XML must still be shown first
        assert result.before is xml
        lines.append(f"{xml.nct_id} xml 2023 -> json 2026: {len(result.changes)} changes")
        lines += summarise(result, corpus_dir)
    check_golden("cross_format.txt", "\n".join(lines) + "\n")


def test_cross_format_compares_registry_fields_only_where_paths_differ(
    cross_pairs: list[tuple[Record, Record]],
) -> None:
    xml, js = cross_pairs[0]
    result = compare(xml, js)
    assert any("path fields present on one side only were not comparable" in n for n in result.notes)
    # a path field on one side only is compared only in a list both formats hold (crossformat.yaml)
    shared = {m.to for m in crossformat_table().values()}
    assert all(
        not is_path_key(c.key) or (c.old is not None and c.new is not None) or c.key.split("[")[0] in shared
        for c in result.changes
    )
    [status] = [c for c in result.changes if c.key == "overall_status"]
    assert (status.old_raw, status.new_raw, status.semantic) == ("Completed", "COMPLETED", "format_only")


def test_cross_format_full_text_view(cross_pairs: list[tuple[Record, Record]]) -> None:
    xml, js = cross_pairs[0]
    check_golden("NCT00001245_xml_vs_json.txt", render(compare(xml, js), "text"))


# --- the same pairs rendered as Ignite text -----------------------------------------------


def as_text(record: Record) -> Record:
    writer = pytest.importorskip("auditor.ignite_writer")
    text = writer.write_ignite_text(record)
    [out] = read_bytes(text.encode("utf-8"), record.source.path + ".txt")
    assert isinstance(out, Record)
    return out


def body(changes: tuple[Change, ...]) -> list[tuple[str, str, str, int]]:
    return [(c.identity, str(c.semantic), c.flag or "", c.days or 0) for c in changes if not c.header]


def test_json_pairs_rendered_as_text_give_the_same_changes(partrita: Versions) -> None:
    checked = 0
    for _, _, a, _, b in pairs(partrita):
        assert sorted(body(compare(as_text(a), as_text(b)).changes)) == sorted(body(compare(a, b).changes))
        checked += 1
    assert checked == 67


def test_xml_pairs_rendered_as_text_give_the_same_changes(aact_xml: Versions) -> None:
    sample = {k: aact_xml[k] for k in list(aact_xml)[:12]}
    for _, _, a, _, b in pairs(sample):
        assert sorted(body(compare(as_text(a), as_text(b)).changes)) == sorted(body(compare(a, b).changes))


def test_text_vs_json_of_one_version_is_cosmetic_at_most(partrita: Versions) -> None:
    """One snapshot as JSON and as Ignite text: nothing in the study changed."""
    for study in ("NCT05294952", "NCT04514484"):
        _, record = partrita[study][0]
        assert isinstance(record, Record)
        result = compare(record, as_text(record))
        assert [c for c in result.changes if not c.cosmetic] == []


# --- hand-made seed edits --------------------------------------------------------------------


def edited_seed(seed: str, edits: list[list[str]]) -> str:
    for old, new in edits:
        assert old in seed, f"edit {old!r} does not apply to the seed"
        seed = seed.replace(old, new)
    return seed


def read_text(text: str, name: str) -> Record:
    [record] = read_bytes(text.encode("utf-8"), name)
    assert isinstance(record, Record)
    return record


CASES = yaml.safe_load(SEED_EDITS.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_seed_edit(case: dict, seed_path: Path) -> None:  # type: ignore[type-arg]
    seed = seed_path.read_text(encoding="utf-8")
    before = read_text(seed, "seed.txt")
    after = read_text(edited_seed(seed, case["edits"]), "edited.txt")
    if case.get("reverse"):
        before, after = after, before
    result = compare(before, after, by_snapshot_date=False)
    got = []
    for c in result.changes:
        entry = {"id": c.identity, "class": str(c.semantic)}
        for want in case["expect"]:
            if want["id"] == c.identity:
                entry.update({k: getattr(c, k) for k in ("flag", "days") if k in want})
        got.append(entry)
    assert got == case["expect"]
    assert [c.identity for c in result.metadata] == case.get("metadata", [])


ALL_EDITS = [
    ["Ignite Modification Date: 2026-01-05 @ 4:48 PM", "Ignite Modification Date: 2026-01-09 @ 8:05 AM"],
    ["Last Known Status: RECRUITING", "Last Known Status: NOT_YET_RECRUITING"],
    ["First Post: 2018-08-28", "First Post: 2018-09-03"],
    ["Status Verified Date: 2020-09", "Status Verified Date: 2020-09-23"],
    ["Has Oversight DMC: True", "Has Oversight DMC: False"],
    ["Acronym: None", 'Acronym: PSO <MSC> & "co" | *x*'],
    ["Is a PPSD?: None", "Is a PPSD?: N/A"],
    ["Is a US Export?: None\n", ""],
    ["To evaluate the effect and safety", "To evaluate the efficacy and safety"],
    ["Psoriasis is a chronic", "Psoriasis  is a chronic"],
    ["Delayed Posting: No", "Delayed Posting: False"],
]


FORMATS = [("text", "txt"), ("json", "json"), ("markdown", "md"), ("html", "html")]


@pytest.mark.parametrize(("fmt", "ext"), FORMATS)
def test_seed_all_edits_golden(seed_path: Path, fmt: str, ext: str) -> None:
    seed = seed_path.read_text(encoding="utf-8")
    edited = read_text(edited_seed(seed, ALL_EDITS), "edited.txt")
    result = compare(edited, read_text(seed, "seed.txt"), ignore=["last_update_post_date"])
    assert result.swapped
    check_golden(f"seed/all_edits.{ext}", render(result, fmt))
