"""The nightly page tells the whole night (issue 14), on the bundled example nights in a store:
an exact as-of (a past night made again is the same bytes, whatever order the nights were
added in), what changed tonight with the batch diff's own counts, the pair rules' findings, the
legend, the links (every one followed), the index of nights, and a night with nothing to read.

Oracles are independent of the page: the example files read by name (not through the store)
and diffed with :func:`auditor.diff.batch_records`; statuses read from the raw text.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import folder_bytes, report_night

from auditor.cli import main

REPO = Path(__file__).resolve().parents[1]
NIGHT1, NIGHT2 = "2026-11-24", "2026-11-25"


@pytest.fixture()
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


def _add(store: Path, *nights: str) -> None:
    assert main(["snapshot", "add", "--store", str(store), *(f"examples/{n}" for n in nights)]) == 0


@pytest.fixture()
def two_nights(in_repo: Path, tmp_path: Path) -> Path:
    """The README's cron, night by night: add, report, add, report (with history pages)."""
    store, out = tmp_path / "snapshots", tmp_path / "reports"
    _add(store, NIGHT1)
    assert report_night(store, out, NIGHT1, "--history-pages") == 0
    _add(store, NIGHT2)
    assert report_night(store, out, NIGHT2, "--history-pages") == 0
    return out


# --------------------------------------------------------------------------- as-of is exact


@pytest.mark.parametrize("add_order", [(NIGHT1, NIGHT2), (NIGHT2, NIGHT1)], ids=["in-order", "reversed"])
def test_a_past_night_made_again_is_the_same_bytes(
    in_repo: Path, tmp_path: Path, add_order: tuple[str, str]
) -> None:
    # that night, as the cron job made it: only the first night in the store
    store, out = tmp_path / "snapshots", tmp_path / "reports"
    _add(store, NIGHT1)
    assert report_night(store, out, NIGHT1) == 0
    expected_first = folder_bytes(out / NIGHT1)
    _add(store, NIGHT2)
    assert report_night(store, out, NIGHT2) == 0
    expected_second = folder_bytes(out / NIGHT2)
    summary = json.loads(expected_first["summary.json"])
    assert summary["records"] == 5  # NCT09900006 was first captured on the 25th

    # later, the same store and reports folder made again: both nights in the store (added in
    # either order), the later report made first, then the past night, then the later one again
    shutil.rmtree(store)
    shutil.rmtree(out)
    for night in add_order:
        _add(store, night)
    assert report_night(store, out, NIGHT2) == 0
    assert report_night(store, out, NIGHT1) == 0
    assert folder_bytes(out / NIGHT1) == expected_first
    assert report_night(store, out, NIGHT2) == 0
    assert folder_bytes(out / NIGHT2) == expected_second
    second = json.loads(expected_second["summary.json"])
    assert (second["newly_stale"], sum(second["fixed"].values())) == (1, 1)  # never "0 new, 0 fixed"


def test_a_night_with_no_record_captured_yet_exits_2_and_writes_nothing(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, out = tmp_path / "snapshots", tmp_path / "reports"
    _add(store, NIGHT2)
    capsys.readouterr()
    assert report_night(store, out, "2026-11-20") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no study records read" in err[0], err
    assert not out.exists() or list(out.iterdir()) == []


# --------------------------------------------------------------------------- what changed tonight


def _oracle_batch(in_repo: Path) -> object:
    """The batch diff of the example files read by name (not through the store)."""
    from auditor.diff import batch_records
    from auditor.readers import read_paths

    old = [r for r in read_paths([in_repo / "examples" / NIGHT1]) if not isinstance(r, Exception)]
    new = [r for r in read_paths([in_repo / "examples" / NIGHT2]) if not isinstance(r, Exception)]
    return batch_records(old, new)


def test_changes_counts_are_the_batch_diffs(two_nights: Path, in_repo: Path) -> None:
    from auditor.diff import BatchResult

    batch = _oracle_batch(in_repo)
    assert isinstance(batch, BatchResult)
    night = two_nights / NIGHT2
    changes = json.loads((night / "changes.json").read_text())
    summary = changes["summary"]
    states = batch.counts()
    assert summary["changed"] == states.get("changed", 0) == 4
    assert summary["new"] == states.get("only_new", 0) == 1
    assert summary["metadata_only"] + summary["unchanged"] == states.get("unchanged", 0)
    assert summary["by_grade"] == batch.by_grade()
    assert summary["material"] == batch.by_grade()["material"] == 3
    got = changes["batch"]["summary"]
    assert got["by_module"] == batch.by_module()
    assert got["studies_by_module"] == batch.studies_by_module()
    assert got["by_sponsor"] == batch.by_sponsor()
    assert [t["nct_id"] for t in got["status_transitions"]] == [n for n, _ in batch.status_transitions()]
    # the trend and the index carry the night's material count
    assert json.loads((night / "summary.json").read_text())["history"][-1]["material"] == 3
    # each changed study: a row in changes.csv, a diff page, and a link to it on the page
    page = (night / "index.html").read_text()
    csv_rows = (night / "changes.csv").read_text().splitlines()[1:]
    for study in batch.changed:
        assert (night / "changes" / f"{study.nct_id}.html").is_file()
        assert f'href="changes/{study.nct_id}.html"' in page
        assert any(row.startswith(study.nct_id + ",changed,") for row in csv_rows)


def test_material_first_and_went_unknown_leads(two_nights: Path, in_repo: Path) -> None:
    raw_old = (in_repo / "examples" / NIGHT1 / "NCT09900002.txt").read_text()
    raw_new = (in_repo / "examples" / NIGHT2 / "NCT09900002.txt").read_text()
    assert re.search(r"^Status: RECRUITING$", raw_old, re.M) and re.search(
        r"^Status: UNKNOWN$", raw_new, re.M
    )
    page = (two_nights / NIGHT2 / "index.html").read_text()
    changes = page[page.index('id="changes"') : page.index('id="pair-findings"')]
    assert changes.index("Went UNKNOWN tonight (1)") < changes.index("Material changes (3)")
    assert changes.index("Material changes (3)") < changes.index("Minor, administrative and cosmetic")
    material = changes[changes.index('id="material-table"') :]
    order = re.findall(r'href="changes/(NCT\d+)\.html"', material[: material.index("</table>")])
    assert order[0] == "NCT09900002"  # the fall into UNKNOWN leads the material changes
    assert set(order) == {"NCT09900002", "NCT09900004", "NCT09900005"}
    assert "status fell into UNKNOWN: RECRUITING → UNKNOWN" in changes
    assert "why stopped: Sponsor decision" in changes


def test_pair_rule_findings_of_the_night(two_nights: Path) -> None:
    night = two_nights / NIGHT2
    changes = json.loads((night / "changes.json").read_text())
    assert [(f["rule_id"], f["nct_id"]) for f in changes["pair_findings"]] == [
        ("status-changed-to-unknown", "NCT09900002")
    ]
    page = (night / "index.html").read_text()
    section = page[page.index('id="pair-findings"') :]
    assert '<a href="#rule-status-changed-to-unknown">status-changed-to-unknown</a>' in section
    assert "status RECRUITING -&gt; UNKNOWN" in section
    # the first night has no earlier night: no changes section, no pair findings, no changes files
    first = two_nights / NIGHT1
    assert not (first / "changes.json").exists() and 'id="changes"' not in (first / "index.html").read_text()


# --------------------------------------------------------------------------- wording, legend, links


def test_wording_legend_and_rules_text(two_nights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    night = two_nights / NIGHT2
    page = (night / "index.html").read_text()
    assert "(last known: RECRUITING)" in page and "(was " not in page
    assert "NCT IDs link to the record&#x27;s snapshots in our store" in page
    legend = page[page.index('id="legend"') :]
    for rule_id in ("unknown-status-stale", "active-status-unverified", "status-changed-to-unknown"):
        assert f'<tr id="rule-{rule_id}">' in legend
    assert "status-went-backwards" not in legend  # no finding tonight: not shown
    rules_txt = (night / "rules.txt").read_text()
    for rule_id in ("unknown-status-stale", "active-status-unverified", "status-changed-to-unknown"):
        capsys.readouterr()
        assert main(["rules", "explain", rule_id]) == 0
        assert capsys.readouterr().out in rules_txt  # the command's text, byte for byte
    files = page[page.index('id="files"') :]
    for name in ("report.md", "findings.json", "findings.csv", "summary.json", "stale.json"):
        assert f'<a href="{name}">{name}</a>' in files
    for name in ("changes.json", "changes.csv", "rules.txt"):
        assert f'<a href="{name}">{name}</a>' in files
    assert '<a href="../2026-11-24/index.html" rel="prev">' in page
    assert '<a href="../index.html#after-2026-11-25" rel="next">' in page


def test_index_of_nights(two_nights: Path) -> None:
    index = (two_nights / "index.html").read_text()
    rows = re.findall(r'<tr id="after-([\d-]+)" data-night="[\d-]+">(.*?)</tr>', index)
    assert [day for day, _ in rows] == [NIGHT2, NIGHT1]  # newest first
    cells = [re.findall(r'<td class="num">([^<]*)</td>', row) for _, row in rows]
    # records, stale, newly stale, fixed, changed, material
    assert cells[0] == ["6", "3", "1", "1", "4", "3"]
    assert cells[1] == ["5", "3", "—", "—", "—", "—"]
    assert "Content-Security-Policy" in index


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href") is not None:
            self.hrefs.append(str(values["href"]))
        for name in ("src", "srcset", "data"):
            if values.get(name):
                self.sources.append(f"{tag} {name}={values[name]}")


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_link_of_every_page_leads_somewhere(two_nights: Path) -> None:
    """Walk every HTML file written (pages, diff pages, history pages, step diffs, the index):
    each relative link opens a file that exists, and a ``#fragment`` names an element of it
    (the index's ``#after-DAY`` rows included); nothing is loaded from anywhere."""
    pages = sorted(two_nights.rglob("*.html"))
    assert len(pages) > 20
    parsed = {page: _parse(page) for page in pages}
    followed = 0
    for page, links in parsed.items():
        assert links.sources == [], (page, links.sources)  # no image, script or frame source
        for href in links.hrefs:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https"):
                assert parts.netloc == "clinicaltrials.gov", href
                continue
            assert not parts.scheme and not parts.netloc, href
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_file(), f"{page.relative_to(two_nights)}: {href} → nothing"
            assert two_nights.resolve() in target.parents, href
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                assert parts.fragment in ids, f"{page.relative_to(two_nights)}: {href} → no #{parts.fragment}"
            followed += 1
    assert followed > 50


# --------------------------------------------------------------------------- engines


def test_changes_the_same_for_one_or_many_workers_and_dask(in_repo: Path, tmp_path: Path) -> None:
    from auditor.rules import load_rules
    from auditor.run.changes import tonight_changes
    from auditor.run.parse import store_units
    from auditor.run.staleness import collect, staleness_job
    from auditor.staleness import STALENESS_RULES

    store = tmp_path / "snapshots"
    _add(store, NIGHT1, NIGHT2)
    rules = load_rules()
    job = staleness_job(rules.select(STALENESS_RULES), as_of=date(2026, 11, 25), params={})
    summaries = collect(store_units(store, date(2026, 11, 25)), job).summaries

    def run(**how: object) -> tuple[str, dict[str, bytes]]:
        tonight = tonight_changes(
            store,
            previous_as_of=date(2026, 11, 24),
            as_of=date(2026, 11, 25),
            summaries=summaries,
            rules=rules.scope("pair"),
            pairs_per_task=1,
            parallel_pairs=0,
            **how,  # type: ignore[arg-type]
        )
        return json.dumps(tonight.changes.to_dict(), sort_keys=True), tonight.pages

    one = run(jobs=1)
    assert one == run(jobs=2)
    pytest.importorskip("dask.distributed")
    assert one == run(engine="dask", scheduler="synchronous", jobs=2)


# --------------------------------------------------------------------------- golden bytes

GOLDEN = REPO / "tests" / "golden" / "nightly"
GOLDEN_FILES = [
    "index.html",
    "report.md",
    "summary.json",
    "changes.json",
    "changes.csv",
    "rules.txt",
    "changes/NCT09900002.html",
    "history/NCT09900002.html",
    "history/NCT09900002-2.html",
]


def test_golden_night_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second example night made from the store as the README's set-up makes it, byte for
    byte (charts are held by the determinism tests: their bytes follow matplotlib and fonts);
    rebuilt with AUDITOR_UPDATE_GOLDEN=1 and reviewed as a diff."""
    import os

    monkeypatch.chdir(tmp_path)  # relative store and reports paths, as in the README
    for night in (NIGHT1, NIGHT2):
        assert main(["snapshot", "add", str(REPO / "examples" / night)]) == 0
        assert main(["report", "staleness", "--as-of", night, "--history-pages"]) == 0
    folder = tmp_path / "reports" / NIGHT2
    got = {name: (folder / name).read_text(encoding="utf-8") for name in GOLDEN_FILES}
    got["index.html"] = re.sub(r"<svg.*?</svg>", "<svg><!-- chart --></svg>", got["index.html"], flags=re.S)
    got["nights.html"] = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    for name, text in got.items():
        golden = GOLDEN / name.replace("/", "__")
        if os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1":
            GOLDEN.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert golden.is_file(), f"missing golden file {golden}; run with AUDITOR_UPDATE_GOLDEN=1"
        assert text == golden.read_text(encoding="utf-8"), f"{name} differs from {golden}"


def test_pair_rules_take_qualified_parameters_and_obey_ignore(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, out = tmp_path / "snapshots", tmp_path / "reports"
    _add(store, NIGHT1)
    assert report_night(store, out, NIGHT1) == 0
    _add(store, NIGHT2)
    # a bare name is the staleness rules' (years=2 for both): the pair rules' defaults stay
    assert report_night(store, out, NIGHT2, "--param", "years=3", "--param", "date-pushed-later.years=5") == 0
    assert report_night(store, out, NIGHT2, "--param", "date-pushed-later.nonsense=5") == 2
    assert "nonsense" in capsys.readouterr().err
    assert report_night(store, out, NIGHT2, "--ignore", "status-changed-to-unknown") == 0
    changes = json.loads((out / NIGHT2 / "changes.json").read_text())
    assert changes["pair_findings"] == []
    assert "status-changed-to-unknown" not in (out / NIGHT2 / "rules.txt").read_text()
