"""``audit diff`` checked against what others say changed, on the real corpus.

* **The crawler's change logs** (``tool_history_logs_*.tar.gz`` of the partrita set: the change
  lists that project's own diff engine wrote, night by night): every field they report for a
  version pair is reported by ``audit diff`` for the same pair.
* **Export-date-only pairs**: the crawler saw ~6,000 blobs that differ only in
  ``derivedSection.miscInfoModule.versionHolder`` (SOURCE.md); they were not copied into the
  corpus, so each is rebuilt exactly as it was — a snapshot with only that date's text
  replaced, bytes otherwise equal — from every current snapshot and every version file
  (1,298 pairs; a sample in the suite, all of them with ``AUDITOR_FULL_CORPUS=1``).
  ``audit diff --exit-code`` must exit 0 on each, and say the date moved as metadata.
* **Independent oracles** written here from the raw JSON/XML (``json``/``ElementTree``, not our
  readers): status transitions, enrollment changes, stop reasons, sites added and removed by
  facility, reordered conditions, the module roll-up of the statusModule changes.
* **DeepDiff** over the flat field dicts finds the same changed identities as the engine's
  own comparison (the engine stopped importing deepdiff: numpy and pandas came with it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from auditor.diff import Change, compare, identities
from auditor.diff.compare import changed_identities
from auditor.diff.grades import pattern_key
from auditor.diff.lines import report_lines
from auditor.fields import path_key, registry
from auditor.readers import read_bytes, read_one
from auditor.records import Record

pytestmark = pytest.mark.corpus

PARTRITA = "partrita__clinicaltrial-watch-tigit"
FULL = os.environ.get("AUDITOR_FULL_CORPUS") == "1"


# --- the partrita versions and the crawler's logs ------------------------------------------


def version_files(corpus_dir: Path) -> dict[str, list[tuple[datetime, Path]]]:
    """Each study's version files with their commit times (UTC), from versions_index.csv."""
    out: dict[str, list[tuple[datetime, Path]]] = {}
    index = (corpus_dir / PARTRITA / "versions_index.csv").read_text(encoding="utf-8").splitlines()
    header = index[0].split(",")
    for row in index[1:]:
        cells = dict(zip(header, row.split(","), strict=False))
        when = datetime.fromisoformat(cells["commit_date"])
        utc = (when - (when.utcoffset() or timedelta())).replace(tzinfo=None)
        out.setdefault(cells["nct_id"], []).append((utc, corpus_dir / PARTRITA / cells["file"]))
    return {k: sorted(v) for k, v in out.items()}


def crawler_logs(corpus_dir: Path) -> dict[str, list[tuple[datetime, str]]]:
    """``{nct_id: [(time, diff text)]}`` from the crawler's per-study history files."""
    out: dict[str, list[tuple[datetime, str]]] = {}
    archive = corpus_dir / PARTRITA / "tool_history_logs_HEAD_c69effd.tar.gz"
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            m = re.search(r"(NCT\d{8})_history\.json$", member.name)
            handle = tar.extractfile(member) if m else None
            if m is None or handle is None:
                continue
            for entry in json.loads(handle.read())[1:]:
                if "diff" in entry:
                    when = datetime.strptime(entry["timestamp"], "%Y-%m-%d %H:%M:%S")
                    out.setdefault(m.group(1), []).append((when, entry["diff"]))
    return out


_PATH = re.compile(r"^(?:Field|New field added:|Field removed:) `([^`]*)`", re.MULTILINE)
_DD_PART = re.compile(r"\['([^']*)'\]|\[(\d+)\]")


def crawler_path(text: str) -> str:
    """The crawler's path (``locations.[3]status`` or ``root['a']['b'][3]``) as ``a.b[3].c``."""
    if text.startswith("root["):
        parts = [f".{name}" if name else f"[{index}]" for name, index in _DD_PART.findall(text)]
        return "".join(parts).lstrip(".")
    return re.sub(r"\.?\[(\d+)\]\.?", lambda m: f"[{m.group(1)}].", text).rstrip(".").replace("].", "].")


def names_of(result_changes: list[tuple[str, str | None]]) -> set[str]:
    """What our changes name: pattern keys, and a registered field's API path too."""
    out: set[str] = set()
    by_key = registry().by_key
    for key, _ in result_changes:
        out.add(pattern_key(key))
        spec = by_key.get(key)
        if spec is not None and spec.json:
            out.add(spec.json.removeprefix("protocolSection."))
    return out


def reported(path: str, names: set[str]) -> bool:
    """A crawler path is reported when we name it, or something inside it."""
    candidates = {pattern_key(path), pattern_key(path_key(path))}
    return any(n == c or n.startswith((c + ".", c + "[")) for c in candidates for n in names)


_CHANGED = re.compile(r"^Field `([^`\[\]]*)` changed from `([^`]*)` to `([^`]*)`", re.MULTILINE)


def agreement(text: str, old: Path, new: Path) -> int:
    """How many of the crawler's plain "changed from X to Y" lines the raw pair bears out."""
    a, b = raw_protocol(old), raw_protocol(new)
    score = 0
    for path, x, y in _CHANGED.findall(text):
        keys = path.split(".")
        score += str(dig(a, *keys)) == x and str(dig(b, *keys)) == y
    return score


def matched_pairs(corpus_dir: Path) -> Iterator[tuple[str, Path, Path, list[str]]]:
    """``(nct_id, older, newer, crawler paths)``: each crawler entry with the version pair whose
    raw values bear out its "changed from … to …" lines (the crawler's times are its own run
    times, hours or days from the commit that kept the version)."""
    versions = version_files(corpus_dir)
    for nct_id, entries in crawler_logs(corpus_dir).items():
        files = [p for _, p in versions.get(nct_id, [])]
        for _, text in entries:
            scored = [(agreement(text, a, b), i) for i, (a, b) in enumerate(pairwise(files))]
            best = max(scored, default=(0, -1))
            if best[0] > 0:
                yield nct_id, files[best[1]], files[best[1] + 1], _PATH.findall(text)


def test_every_field_the_crawler_reports_is_reported(corpus_dir: Path) -> None:
    pairs = list(matched_pairs(corpus_dir))
    assert len(pairs) >= 55  # of the 63 entries with a field list
    fields = missed = 0
    for nct_id, old, new, paths in pairs:
        result = compare(read_one(old), read_one(new))
        names = names_of([(c.key, c.old_key) for c in result.changes])
        for path in paths:
            fields += 1
            if not reported(crawler_path(path), names):
                missed += 1
                pytest.fail(f"{nct_id} {old.stem} → {new.stem}: crawler reports {path}, audit diff does not")
    assert fields >= 300 and missed == 0


def test_crawler_paths_are_read_as_the_registry_names_them() -> None:
    assert (
        crawler_path("contactsLocationsModule.locations.[3]status")
        == "contactsLocationsModule.locations[3].status"
    )
    assert crawler_path("root['contactsLocationsModule']['locations'][12]['state']") == (
        "contactsLocationsModule.locations[12].state"
    )
    names = {"contacts_locations_module.locations[].status", "statusModule.overallStatus"}
    assert reported("contactsLocationsModule.locations[3].status", names)
    assert reported("statusModule", names)
    assert not reported("designModule.enrollmentInfo.count", names)


# --- pairs that differ only in the export date --------------------------------------------

_HOLDER = re.compile(rb'("versionHolder"\s*:\s*")(\d{4}-\d{2}-\d{2})(")')


def export_date_pairs(corpus_dir: Path) -> Iterator[tuple[str, bytes, bytes]]:
    """``(name, snapshot, the same snapshot a later night)``: only the versionHolder text moved."""
    sources: list[tuple[str, bytes]] = []
    with tarfile.open(corpus_dir / PARTRITA / "current_snapshots_HEAD_c69effd.tar.gz", "r:gz") as tar:
        for member in tar:
            handle = tar.extractfile(member) if member.name.endswith(".json") else None
            if handle is not None:
                sources.append((member.name, handle.read()))
    for path in sorted((corpus_dir / PARTRITA / "versions").glob("NCT*/*.json")):
        sources.append((str(path), path.read_bytes()))
    for name, data in sorted(sources):
        m = _HOLDER.search(data)
        if m is None:
            continue
        later = (datetime.strptime(m.group(2).decode(), "%Y-%m-%d") + timedelta(days=1)).strftime("%Y-%m-%d")
        yield name, data, data[: m.start(2)] + later.encode() + data[m.end(2) :]


def test_export_date_only_pairs_are_no_study_change(corpus_dir: Path) -> None:
    pairs = list(export_date_pairs(corpus_dir))
    assert len(pairs) == 1298
    sample = pairs if FULL else pairs[::7]
    for name, old, new in sample:
        [a] = read_bytes(old, name)
        [b] = read_bytes(new, name + ".later")
        assert isinstance(a, Record) and isinstance(b, Record)
        result = compare(a, b)
        assert result.changes == (), f"{name}: {[c.key for c in result.changes]}"
        assert [c.key for c in result.metadata] == ["version_holder"]


def test_exit_code_is_0_when_only_the_export_date_moved(corpus_dir: Path, tmp_path: Path) -> None:
    """The installed ``audit`` as a user runs it, on a few of those pairs."""
    audit = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    for i, (_, old, new) in enumerate(list(export_date_pairs(corpus_dir))[::400]):
        a, b = tmp_path / f"a{i}.json", tmp_path / f"b{i}.json"
        a.write_bytes(old)
        b.write_bytes(new)
        run = subprocess.run(
            [audit, "diff", "--exit-code", str(a), str(b)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "no study changes; 1 metadata change" in run.stdout


# --- independent oracles from the raw JSON -------------------------------------------------


def partrita_pairs(corpus_dir: Path) -> Iterator[tuple[Path, Path]]:
    for files in version_files(corpus_dir).values():
        yield from pairwise(p for _, p in files)


def raw_protocol(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_bytes())["protocolSection"]  # type: ignore[no-any-return]


def dig(doc: dict, *keys: str) -> object:  # type: ignore[type-arg]
    node: object = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def test_headline_facts_match_the_raw_json(corpus_dir: Path) -> None:
    """Status, enrollment, date slips and stop reason from ``json`` directly, for every pair."""
    statuses = enrollments = stops = dates = 0
    for old, new in partrita_pairs(corpus_dir):
        a, b = raw_protocol(old), raw_protocol(new)
        head = compare(read_one(old), read_one(new)).headline
        was, now = dig(a, "statusModule", "overallStatus"), dig(b, "statusModule", "overallStatus")
        if was != now:
            statuses += 1
            assert head.status is not None and (head.status.old, head.status.new) == (was, now)
            if now == "UNKNOWN":
                assert head.status.alarm == "into_unknown"
        else:
            assert head.status is None
        n0, n1 = (
            dig(a, "designModule", "enrollmentInfo", "count"),
            dig(b, "designModule", "enrollmentInfo", "count"),
        )
        if n0 != n1:
            enrollments += 1
            assert head.enrollment is not None and (head.enrollment.old, head.enrollment.new) == (n0, n1)
            if n0 and n1 is not None:
                assert head.enrollment.percent == round(100 * (n1 - n0) / n0, 1)  # type: ignore[operator]
        for key, struct in (
            ("start_date", "startDateStruct"),
            ("primary_completion_date", "primaryCompletionDateStruct"),
            ("completion_date", "completionDateStruct"),
        ):
            d0, d1 = dig(a, "statusModule", struct, "date"), dig(b, "statusModule", struct, "date")
            slips = [(s.old, s.new) for s in head.date_slips if s.key == key]
            assert slips == ([(d0, d1)] if d0 != d1 else []), (old, key)
            dates += d0 != d1
        why = dig(b, "statusModule", "whyStopped")
        if why and why != dig(a, "statusModule", "whyStopped"):
            stops += 1
            assert head.stop_reason == " ".join(str(why).split())
    assert statuses == 10 and enrollments >= 5 and stops >= 1  # SOURCE.md: 10 overallStatus changes
    assert dates >= 20  # SOURCE.md: start / primary completion / completion ~11 each


def sites(protocol: dict) -> Counter[tuple[str, str]]:  # type: ignore[type-arg]
    locations = dig(protocol, "contactsLocationsModule", "locations") or []
    assert isinstance(locations, list)
    return Counter((str(loc.get("facility", "")), str(loc.get("city", ""))) for loc in locations)


def site_names(line_changes: tuple[Change, ...], semantic: str) -> set[tuple[str, str]]:
    """(facility, city) of the whole sites a report line says were added or removed."""
    items: dict[object, dict[str, str]] = {}
    for c in line_changes:
        if str(c.semantic) == semantic:
            raw = c.new_raw if c.new is not None else c.old_raw
            items.setdefault(c.list_item, {})[c.key.rsplit(".", 1)[-1]] = raw or ""
    return {(v.get("facility", ""), v.get("city", "")) for v in items.values()}


def test_sites_added_and_removed_match_the_raw_json(corpus_dir: Path) -> None:
    """Sites by (facility, city) from ``json``: every site a line calls added (removed) is one
    the raw JSON shows new (gone); every site the raw JSON shows new or gone is either on such
    a line or on a line that edits a site (a rename, or a moved and edited site)."""
    checked = edited_pairs = 0
    for old, new in partrita_pairs(corpus_dir):
        before, after = sites(raw_protocol(old)), sites(raw_protocol(new))
        lines = [
            ln
            for ln in report_lines(compare(read_one(old), read_one(new)), details=True)
            if ln.identity.startswith("contacts_locations_module.locations[")
        ]
        said_added = set().union(*(site_names(ln.changes, "item_added") for ln in lines if ln.mark == "+"))
        said_removed = set().union(
            *(site_names(ln.changes, "item_removed") for ln in lines if ln.mark == "-")
        )
        assert said_added <= set(after - before)
        assert said_removed <= set(before - after)
        edits = [ln for ln in lines if ln.mark == "~" and ln.semantic != "reordered"]
        if set(after - before) - said_added or set(before - after) - said_removed:
            assert edits, f"{old.parent.name}: sites new or gone in the raw JSON but not reported"
            edited_pairs += 1
        checked += 1
    assert checked == 67 and edited_pairs >= 1


def test_status_module_changes_roll_up_as_study_status(corpus_dir: Path) -> None:
    """Every statusModule leaf that differs in the raw JSON is counted under "Study Status"."""
    for old, new in partrita_pairs(corpus_dir):
        a, b = raw_protocol(old)["statusModule"], raw_protocol(new)["statusModule"]
        differs = sum(1 for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        by_module = compare(read_one(old), read_one(new)).by_module()
        if differs:
            assert by_module.get("Study Status", 0) >= 1
        else:
            assert "Study Status" not in by_module


# --- independent oracles from the raw XML --------------------------------------------------


XmlPair = tuple[Path, Path, Record, Record]


@pytest.fixture(scope="module")
def xml_pairs(corpus_dir: Path) -> list[XmlPair]:
    """Consecutive legacy XML versions that both ElementTree and our reader read."""
    root = corpus_dir / "ctti-clinicaltrials__aact" / "xml_versions"
    out: list[XmlPair] = []
    for folder in sorted(root.glob("NCT*")):
        good: list[tuple[Path, Record]] = []
        for path in sorted(folder.glob("*.xml")):
            try:
                ET.parse(path)
                good.append((path, read_one(path)))
            except Exception:  # the oracle skips what either side cannot read
                continue
        out += [(p, q, a, b) for (p, a), (q, b) in pairwise(good)]
    return out


def test_xml_status_and_conditions_match_elementtree(xml_pairs: list[XmlPair]) -> None:
    """Overall status from ElementTree; a condition list with the same conditions in another
    order is one "reordered" line and no condition added or removed."""
    for old, new, rec_a, rec_b in xml_pairs:
        a, b = ET.parse(old).getroot(), ET.parse(new).getroot()
        result = compare(rec_a, rec_b)
        was, now = a.findtext("overall_status"), b.findtext("overall_status")
        statuses = [c for c in result.changes if c.key == "overall_status" and not c.cosmetic]
        assert bool(statuses) == (was != now and was is not None and now is not None)
        c0 = [e.text or "" for e in a.findall("condition")]
        c1 = [e.text or "" for e in b.findall("condition")]
        lines = report_lines(result)
        condition_lines = [ln for ln in lines if ln.identity.startswith("clinical_study.condition[")]
        if c0 != c1 and Counter(c0) == Counter(c1):
            assert [ln.semantic for ln in condition_lines] == ["reordered"]
        elif c0 == c1:
            assert condition_lines == []


def test_mesh_reorders_are_one_line(xml_pairs: list[XmlPair]) -> None:
    """Pairs whose MeSH terms are the same set in another order (ElementTree) show one
    "reordered" line for them, and none with ``ignore_order``."""
    from auditor.diff.lines import without_reorders

    found = 0
    for old, new, rec_a, rec_b in xml_pairs:
        t0 = [e.text for e in ET.parse(old).getroot().findall("condition_browse/mesh_term")]
        t1 = [e.text for e in ET.parse(new).getroot().findall("condition_browse/mesh_term")]
        if t0 == t1 or Counter(t0) != Counter(t1):
            continue
        found += 1
        result = compare(rec_a, rec_b)
        mesh = [
            ln for ln in report_lines(result) if ln.identity.startswith("clinical_study.condition_browse")
        ]
        assert [ln.semantic for ln in mesh] == ["reordered"]
        quiet = without_reorders(result)
        assert not any(c.key.startswith("clinical_study.condition_browse") for c in quiet.changes)
    assert found >= 1


# --- DeepDiff, the engine's former comparison, as an oracle ------------------------------------


def test_deepdiff_finds_the_same_changed_fields(corpus_dir: Path, xml_pairs: list[XmlPair]) -> None:
    deepdiff = pytest.importorskip("deepdiff")
    checked = 0
    records = [(read_one(old), read_one(new)) for old, new in partrita_pairs(corpus_dir)]
    for rec_a, rec_b in [*records, *((a, b) for _, _, a, b in xml_pairs[::5])]:
        a, b = identities(rec_a), identities(rec_b)
        left = {repr(i): f.raw for i, f in a.items()}
        right = {repr(i): f.raw for i, f in b.items()}
        tree = deepdiff.DeepDiff(left, right, view="tree", threshold_to_diff_deeper=0)
        theirs = {
            level.path(output_format="list")[0]
            for report in ("values_changed", "dictionary_item_added", "dictionary_item_removed")
            for level in tree.get(report, ())
        }
        ours = {repr(i) for i in changed_identities(a, b) if (i in a) != (i in b) or a[i].raw != b[i].raw}
        assert ours == theirs
        checked += 1
    assert checked > 80


def test_the_one_pair_path_does_not_import_deepdiff_numpy_or_pandas(tmp_path: Path, seed_path: Path) -> None:
    edited = tmp_path / "edited.txt"
    edited.write_text(seed_path.read_text(encoding="utf-8").replace("Status: UNKNOWN", "Status: RECRUITING"))
    code = (
        "import sys; from auditor.cli import main; "
        f"main(['diff', {str(seed_path)!r}, {str(edited)!r}]); "
        "print(sorted(m for m in ('deepdiff', 'numpy', 'pandas') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]"
