"""The nightly report over the partrita version store: 120 real API v2 versions of 53 studies
captured by a daily crawler (Feb–Mar 2026), all added to one store, then every capture night
replayed in order, as the cron job would have made them.

The oracle does not go through the store: which file is each study's snapshot on a night comes
from the raw JSON (``derivedSection.miscInfoModule.versionHolder``, read with :mod:`json`); the
two nights' records are read by name and diffed with :func:`auditor.diff.batch_records`. Each
night then holds: the records counted are the studies captured by then; the counts of
``changes.json`` are the batch diff's; every material change the diff reports is on the night's
page (the study in the material list, each material line on the page or on the study's diff
page, which the page links to).
"""

from __future__ import annotations

import itertools
import json
from html import escape
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.diff import BatchResult, batch_records, report_lines
from auditor.readers import read_one

PARTRITA = "partrita__clinicaltrial-watch-tigit"

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def _captures(versions: Path) -> dict[str, list[tuple[str, Path]]]:
    """``nct_id → [(versionHolder, file)]`` from the raw JSON, oldest first."""
    out: dict[str, list[tuple[str, Path]]] = {}
    for path in sorted(versions.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        nct_id = document["protocolSection"]["identificationModule"]["nctId"]
        holder = document["derivedSection"]["miscInfoModule"]["versionHolder"]
        out.setdefault(nct_id, []).append((holder, path))
    return {nct: sorted(items) for nct, items in out.items()}


def _as_of(captures: dict[str, list[tuple[str, Path]]], night: str) -> dict[str, Path]:
    """Each study's latest file captured on or before ``night``."""
    chosen: dict[str, Path] = {}
    for nct_id, items in captures.items():
        before = [path for holder, path in items if holder <= night]
        if before:
            chosen[nct_id] = before[-1]
    return chosen


@pytest.fixture(scope="module")
def replayed(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], dict]:  # type: ignore[type-arg]
    versions = corpus_dir / PARTRITA / "versions"
    captures = _captures(versions)
    nights = sorted({holder for items in captures.values() for holder, _ in items})
    root = tmp_path_factory.mktemp("partrita")
    store, out = root / "snapshots", root / "reports"
    assert main(["snapshot", "add", "--store", str(store), str(versions)]) == 0
    for night in nights:
        argv = ["report", "staleness", "--store", str(store), "--as-of", night, "--out", str(out)]
        assert main(argv) in (0, 1), night
    return out, nights, captures


def test_every_night_counts_the_studies_captured_by_then(replayed: tuple[Path, list[str], dict]) -> None:  # type: ignore[type-arg]
    out, nights, captures = replayed
    assert len(nights) > 10
    for night in nights:
        summary = json.loads((out / night / "summary.json").read_text())
        assert summary["records"] == len(_as_of(captures, night)), night


def test_every_nights_changes_are_the_batch_diffs(replayed: tuple[Path, list[str], dict]) -> None:  # type: ignore[type-arg]
    out, nights, captures = replayed
    material_seen = 0
    for previous, night in itertools.pairwise(nights):
        before, after = _as_of(captures, previous), _as_of(captures, night)
        batch = batch_records([read_one(p) for p in before.values()], [read_one(p) for p in after.values()])
        folder = out / night
        changes = json.loads((folder / "changes.json").read_text())
        _same_counts(changes, batch, night)
        page = (folder / "index.html").read_text(encoding="utf-8")
        for study in batch.changed:
            assert study.result is not None
            material = [line for line in report_lines(study.result) if str(line.grade) == "material"]
            if not material:
                continue
            material_seen += 1
            section = page[page.index('id="material-table"') :]
            assert f'href="changes/{study.nct_id}.html"' in section, (night, study.nct_id)
            diff_page = (folder / "changes" / f"{study.nct_id}.html").read_text(encoding="utf-8")
            for line in material:
                shown = f"{escape(line.label)}: {escape(line.summary)}"
                assert shown in page or (
                    escape(line.label) in diff_page and escape(line.summary) in diff_page
                ), (night, study.nct_id, shown)
    assert material_seen > 0, "the replay saw no material change: the test would prove nothing"


def _same_counts(changes: dict, batch: BatchResult, night: str) -> None:  # type: ignore[type-arg]
    summary = changes["summary"]
    states = batch.counts()
    assert summary["changed"] == states.get("changed", 0), night
    assert summary["new"] == states.get("only_new", 0), night
    assert summary["errors"] == states.get("error", 0) == 0, night
    assert summary["unchanged"] + summary["metadata_only"] == states.get("unchanged", 0), night
    assert summary["by_grade"] == batch.by_grade(), night
    assert summary["material"] == batch.by_grade().get("material", 0), night
    rollup = changes["batch"]["summary"]
    assert rollup["by_module"] == batch.by_module(), night
    assert rollup["studies_by_module"] == batch.studies_by_module(), night
    assert rollup["by_sponsor"] == batch.by_sponsor(), night
    assert [t["nct_id"] for t in rollup["status_transitions"]] == [n for n, _ in batch.status_transitions()]
