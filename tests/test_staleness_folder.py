"""The dated report folders (atomic writes, previous report, trend history) and the progress bar."""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import pytest

from auditor.errors import InputError, OutputError
from auditor.progress import Progress
from auditor.reports.folder import _remove_leftovers, write_folder
from auditor.run.nights import dated_folders, load_history, load_previous, previous_folder
from auditor.staleness import NightCounts

RULES = ("unknown-status-stale", "active-status-unverified")


def _report_dir(out: Path, day: str, stale: list[str], *, summary: bool = True) -> Path:
    folder = out / day
    folder.mkdir(parents=True)
    rows = [{"nct_id": n, "overall_status": "UNKNOWN", "status_verified_date": "2019-01"} for n in stale]
    (folder / "stale.json").write_text(json.dumps({"stale": rows}))
    if summary:
        doc = {
            "as_of": day,
            "records": 10,
            "stale": len(stale),
            "newly_stale": 1,
            "fixed": {"re-verified": 1},
        }
        (folder / "summary.json").write_text(json.dumps(doc))
    return folder


def test_write_folder_creates_and_replaces_atomically(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    target = write_folder(out, "2026-11-25", {"a.txt": b"one", "b.txt": b"two"})
    assert target == out / "2026-11-25"
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "b.txt"]
    write_folder(out, "2026-11-25", {"a.txt": b"new"})
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]  # replaced, not merged
    assert (target / "a.txt").read_bytes() == b"new"
    assert [p.name for p in out.iterdir()] == ["2026-11-25"]  # no temp folders left


def test_write_folder_takes_one_subfolder_and_refuses_other_names(tmp_path: Path) -> None:
    target = write_folder(tmp_path, "2026-11-25", {"index.html": b"x", "history/NCT00000001.html": b"y"})
    assert (target / "history" / "NCT00000001.html").read_bytes() == b"y"
    for bad in ("../escape.html", "history/../../x", "/abs", "a/b/c"):
        with pytest.raises(ValueError):
            write_folder(tmp_path, "2026-11-26", {bad: b"x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-25"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_write_folder_failure_leaves_the_old_report(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    write_folder(out, "2026-11-25", {"a.txt": b"old"})
    out.chmod(0o500)
    try:
        with pytest.raises(OutputError) as info:
            write_folder(out, "2026-11-25", {"a.txt": b"new"})
    finally:
        out.chmod(0o700)
    assert "2026-11-25" in info.value.one_line()
    assert (out / "2026-11-25" / "a.txt").read_bytes() == b"old"


def test_write_folder_failure_mid_way_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "reports"
    write_folder(out, "2026-11-25", {"a.txt": b"old"})
    real_replace = os.replace
    calls: list[str] = []

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(str(dst))
        if len(calls) == 2:  # the old folder went away; bringing the new one in fails
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        write_folder(out, "2026-11-25", {"a.txt": b"new"})
    monkeypatch.setattr(os, "replace", real_replace)
    assert (out / "2026-11-25" / "a.txt").read_bytes() == b"old"
    assert [p.name for p in out.iterdir()] == ["2026-11-25"]


def test_leftover_temp_folders_are_removed_only_when_old(tmp_path: Path) -> None:
    fresh = tmp_path / ".2026-11-25.tmp-abc"
    old = tmp_path / ".2026-11-24.tmp-def"
    fresh.mkdir()
    old.mkdir()
    os.utime(old, (0, 0))
    _remove_leftovers(tmp_path)
    assert fresh.exists() and not old.exists()


def test_previous_is_the_latest_dated_report_strictly_before(tmp_path: Path) -> None:
    _report_dir(tmp_path, "2026-11-20", ["NCT00000001"])
    _report_dir(tmp_path, "2026-11-24", ["NCT00000002"])
    _report_dir(tmp_path, "2026-11-25", ["NCT00000003"])
    (tmp_path / "2026-11-23").mkdir()  # empty: not a report
    (tmp_path / ".2026-11-24.tmp-x").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "2026-02-30").mkdir()  # not a date
    assert [d.isoformat() for d, _ in dated_folders(tmp_path)] == [
        "2026-11-20",
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
    ]
    found = previous_folder(tmp_path, date(2026, 11, 25))
    assert found is not None and found[0] == date(2026, 11, 24)
    previous = load_previous(*found, RULES)
    assert list(previous.stale) == ["NCT00000002"]
    assert previous_folder(tmp_path, date(2026, 11, 20)) is None
    assert previous_folder(tmp_path / "missing", date(2026, 11, 25)) is None


def test_previous_from_findings_json_when_there_is_no_stale_json(tmp_path: Path) -> None:
    folder = tmp_path / "2026-11-24"
    folder.mkdir()
    findings = [
        {"rule_id": "unknown-status-stale", "nct_id": "NCT00000001", "values": {"overall_status": "UNKNOWN"}},
        {"rule_id": "other-rule", "nct_id": "NCT00000002"},
    ]
    (folder / "findings.json").write_text(json.dumps({"findings": findings}))
    previous = load_previous(date(2026, 11, 24), folder, RULES)
    assert list(previous.stale) == ["NCT00000001"]
    history = load_history(tmp_path, date(2026, 11, 25), RULES)
    assert history == [NightCounts(date(2026, 11, 24), None, 1)]


def test_a_corrupt_previous_report_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    folder = _report_dir(tmp_path, "2026-11-24", [])
    (folder / "stale.json").write_text("{not json")
    with pytest.raises(InputError, match=r"stale\.json"):
        load_previous(date(2026, 11, 24), folder, RULES)


def test_history_reads_the_last_nights_summaries(tmp_path: Path) -> None:
    for day in range(1, 21):
        _report_dir(tmp_path, f"2026-11-{day:02d}", ["NCT00000001"] * (day % 3))
    history = load_history(tmp_path, date(2026, 11, 25), RULES, nights=14)
    assert len(history) == 13
    assert history[0].as_of == date(2026, 11, 8) and history[-1].as_of == date(2026, 11, 20)
    assert history[-1] == NightCounts(date(2026, 11, 20), 10, 2, 1, 1)
    assert load_history(tmp_path, date(2026, 11, 25), RULES, nights=1) == []


def test_progress_draws_nothing_when_not_a_tty() -> None:
    stream = io.StringIO()
    with Progress("parsing", 10, stream=stream) as bar:
        for _ in range(10):
            bar.update()
    assert stream.getvalue() == ""
    assert bar.done == 10


def test_progress_draws_throttled_and_clears_its_line() -> None:
    stream = io.StringIO()
    now = [0.0]
    bar = Progress("parsing", 100, stream=stream, enabled=True, clock=lambda: now[0])
    for _ in range(50):
        now[0] += 0.01
        bar.update()
    drawn = stream.getvalue()
    assert drawn.count("\r") == 3  # at 0.01 s, then every 0.2 s: not once per update
    assert bar.render(1.0) == "parsing  [############------------]  50/100  50/s  ETA 0:01"
    bar.close()
    assert stream.getvalue().endswith("\r")
    unknown = Progress("reading", stream=stream, enabled=True, clock=lambda: 2.0)
    unknown._started = 0.0
    unknown.update(10)
    assert unknown.render(2.0) == "reading  10  5/s"
