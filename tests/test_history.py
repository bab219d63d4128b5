"""``audit history``: the timeline, its change summaries (checked against the corpus's own
index of statuses) and the four output formats (golden files)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.history import record_history
from auditor.reports.history_render import RENDERERS
from auditor.store import Store

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GOLDEN = Path(__file__).parent / "golden" / "history"
SUFFIX = {"text": "txt", "json": "json", "markdown": "md", "html": "html"}


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history") / "store"
    result = Store(root).add([EXAMPLES / "2026-11-25", EXAMPLES / "2026-11-24"])
    assert len(result.added) == 11 and not result.errors
    return root


def test_timeline_of_a_record_that_went_unknown(example_store: Path) -> None:
    history = record_history(Store(example_store), "NCT09900002")
    first, second = history.steps
    assert first.first and first.status == "RECRUITING"
    assert second.status == "UNKNOWN"
    transitions = [c for c in second.notable if str(c.semantic) == "status_transition"]
    assert len(transitions) == 1  # the summary block's repeat of Status is listed once
    assert transitions[0].flag == "into_unknown"
    assert second.by_class["status_transition"] == 1  # the summary block's copy is a repeat


def test_unchanged_record_shows_no_change_and_a_warning(example_store: Path) -> None:
    history = record_history(Store(example_store), "NCT09900001")
    assert history.steps[1].changes == ()
    assert [f.rule_id for f in history.findings] == ["history-duplicate-content"]


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_golden(example_store: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "history",
            "--store",
            str(example_store),
            "--format",
            fmt,
            "NCT09900001",
            "NCT09900002",
            "NCT09900003",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    golden = GOLDEN / f"examples.{SUFFIX[fmt]}"
    if os.environ.get("AUDITOR_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_html_escapes_values(tmp_path: Path) -> None:
    page = (EXAMPLES / "2026-11-24" / "NCT09900002.txt").read_text(encoding="utf-8")
    later = page.replace("2026-11-24 @ 2:10 AM", "2026-11-26 @ 2:10 AM").replace(
        "Last Update Posted: 2023-01-15", "Last Update Posted: 2023-01-16"
    )
    later = later.replace("Status: RECRUITING", "Status: <script>x</script>")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "p.txt").write_text(page, encoding="utf-8")
    (tmp_path / "a" / "q.txt").write_text(later, encoding="utf-8")
    store = Store(tmp_path / "s")
    store.add([tmp_path / "a"])
    out = RENDERERS["html"]([record_history(store, "NCT09900002")])
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_cli_errors(example_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--store", str(example_store), "../etc/passwd"]) == 2
    assert main(["history", "--store", str(example_store), "NCT00000000"]) == 2
    err = capsys.readouterr().err
    assert "invalid NCT ID" in err and "no snapshots of NCT00000000" in err


def test_output_file(example_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "h.json"
    assert (
        main(["history", "--store", str(example_store), "--format", "json", "-o", str(target), "NCT09900003"])
        == 0
    )
    doc = json.loads(target.read_text(encoding="utf-8"))
    (record,) = doc["records"]
    assert doc["schema"] == 1 and record["snapshots"] == 2
    assert record["steps"][1]["changes"]["by_class"] == {"text_edited": 1}


@pytest.mark.corpus
def test_corpus_timelines_have_the_right_status_changes(tmp_path: Path, corpus_dir: Path) -> None:
    """Every partrita version, added shuffled: each step's status is the one the corpus index
    gives for that file, and a status transition is reported exactly where the status changes."""
    base = corpus_dir / "partrita__clinicaltrial-watch-tigit"
    with open(base / "versions_index.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    status_of = {
        hashlib.sha256((base / r["file"]).read_bytes()).hexdigest(): r["overall_status"] for r in rows
    }
    files = [base / r["file"] for r in rows]
    random.Random(7).shuffle(files)
    store = Store(tmp_path / "s")
    assert len(store.add(files).added) == len(rows)
    transitions = 0
    for nct_id in sorted({r["nct_id"] for r in rows}):
        history = record_history(store, nct_id)
        previous = None
        for step in history.steps:
            assert step.status == status_of[step.entry.sha256]
            moved = [c for c in step.changes if c.key == "overall_status"]
            if previous is not None and previous != step.status:
                assert len(moved) == 1 and str(moved[0].semantic) == "status_transition"
                assert moved[0].old_raw == previous and moved[0].new_raw == step.status
                transitions += 1
            else:
                assert moved == []
            previous = step.status
    assert transitions == 10  # the corpus README counts 10 overallStatus changes
