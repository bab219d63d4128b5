"""``audit report staleness``: two nights of the bundled examples, exit codes, golden output,
determinism, and one real run of the installed command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from auditor.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GOLDEN = REPO / "tests" / "golden" / "report"
UPDATE = os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1"
FILES = [
    "findings.csv",
    "findings.json",
    "index.html",
    "report.md",
    "rules.txt",
    "stale.json",
    "summary.json",
]


def _two_nights(out: Path, *extra: str) -> tuple[int, int]:
    first = main(
        ["report", "staleness", "examples/2026-11-24", "--as-of", "2026-11-24", "--out", str(out), *extra]
    )
    second = main(
        ["report", "staleness", "examples/2026-11-25", "--as-of", "2026-11-25", "--out", str(out), *extra]
    )
    return first, second


@pytest.fixture()
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository so input paths (and so findings' snapshot names) are relative."""
    monkeypatch.chdir(REPO)
    return REPO


def test_two_nights_of_examples_new_fixed_and_still(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _two_nights(tmp_path) == (0, 0)  # staleness findings are warnings; --fail-on error
    out = capsys.readouterr().out.splitlines()
    night = tmp_path / "2026-11-25"
    assert out[-1] == f"staleness 2026-11-25: 6 records, 3 stale (1 new, 1 fixed, 2 still); wrote {night}/"
    night = tmp_path / "2026-11-25"
    assert sorted(p.name for p in night.iterdir()) == FILES
    stale = json.loads((night / "stale.json").read_text())
    rows = {r["nct_id"]: r for r in stale["stale"]}
    assert set(rows) == {"NCT09900001", "NCT09900002", "NCT09900006"}
    assert rows["NCT09900006"]["trend"] == "new" and rows["NCT09900006"]["stale_since"] == "2026-11-25"
    assert rows["NCT09900001"]["trend"] == "still" and rows["NCT09900001"]["stale_since"] == "2026-11-24"
    # NCT09900002 was RECRUITING and unverified, went UNKNOWN overnight: still stale, other rule
    assert rows["NCT09900002"]["rule_ids"] == ["unknown-status-stale"]
    assert rows["NCT09900002"]["trend"] == "still"
    assert stale["fixed"] == [
        {
            "nct_id": "NCT09900004",
            "reason": "re-verified",
            "detail": "verified 2019-05 → 2026-10; UNKNOWN → ACTIVE_NOT_RECRUITING",
            "lead_sponsor": stale["fixed"][0]["lead_sponsor"],
            "brief_title": stale["fixed"][0]["brief_title"],
            "stale_since": "2026-11-24",
        }
    ]
    summary = json.loads((night / "summary.json").read_text())
    assert [(n["as_of"], n["stale"], n["newly_stale"], n["fixed"]) for n in summary["history"]] == [
        ("2026-11-24", 3, None, None),
        ("2026-11-25", 3, 1, 1),
    ]
    findings = json.loads((night / "findings.json").read_text())["findings"]
    assert sorted(f["nct_id"] for f in findings) == ["NCT09900001", "NCT09900002", "NCT09900006"]


def test_golden_output(in_repo: Path, tmp_path: Path) -> None:
    """The second night's folder, byte for byte (charts are held by the determinism test: their
    bytes follow the installed matplotlib and fonts)."""
    _two_nights(tmp_path)
    night = tmp_path / "2026-11-25"
    for name in FILES:
        text = (night / name).read_text(encoding="utf-8")
        if name == "index.html":
            text = re.sub(r"<svg.*?</svg>", "<svg><!-- chart --></svg>", text, flags=re.S)
        golden = GOLDEN / f"2026-11-25.{name}"
        if UPDATE:
            GOLDEN.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert golden.is_file(), f"missing golden file {golden}; run with AUDITOR_UPDATE_GOLDEN=1"
        assert text == golden.read_text(encoding="utf-8"), f"{name} differs from {golden}"


def test_same_input_same_bytes_whatever_the_processes(in_repo: Path, tmp_path: Path) -> None:
    from auditor.rules import load_rules
    from auditor.run.staleness import run_staleness
    from auditor.staleness import STALENESS_RULES

    rules = load_rules().select(STALENESS_RULES)
    paths = ["examples/2026-11-24", "examples/2026-11-25"]
    a = run_staleness(rules, as_of=date(2026, 11, 25), params={}, paths=paths, out=tmp_path / "a", jobs=1)
    b = run_staleness(
        rules, as_of=date(2026, 11, 25), params={}, paths=paths, out=tmp_path / "b", jobs=2, chunk_size=2
    )
    for name in FILES:
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name
    # both nights given: the latest snapshot of each study is the one reported
    assert a.report.records == 6
    assert {s.nct_id: s.summary.snapshot for s in a.report.stale}["NCT09900001"].endswith(
        "2026-11-25/NCT09900001.txt"
    )


def test_rerun_for_the_same_date_replaces_the_folder(in_repo: Path, tmp_path: Path) -> None:
    _two_nights(tmp_path)
    before = (tmp_path / "2026-11-25" / "index.html").read_bytes()
    assert (
        main(["report", "staleness", "examples/2026-11-25", "--as-of", "2026-11-25", "--out", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "2026-11-25" / "index.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-24", "2026-11-25", "index.html"]


def test_from_the_store_as_the_readme_runs_it(in_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "snapshots"
    assert main(["snapshot", "add", "--store", str(store), "examples/2026-11-24", "examples/2026-11-25"]) == 0
    assert (
        main(
            [
                "report",
                "staleness",
                "--store",
                str(store),
                "--as-of",
                "2026-11-25",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    stale = json.loads((tmp_path / "r" / "2026-11-25" / "stale.json").read_text())
    assert sorted(r["nct_id"] for r in stale["stale"]) == ["NCT09900001", "NCT09900002", "NCT09900006"]


def test_history_pages_from_the_store(in_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "snapshots"
    main(["snapshot", "add", "--store", str(store), "examples/2026-11-24", "examples/2026-11-25"])
    out = tmp_path / "r"
    argv = [
        "report",
        "staleness",
        "--store",
        str(store),
        "--as-of",
        "2026-11-25",
        "--out",
        str(out),
        "--history-pages",
    ]
    assert main(argv) == 0
    night = out / "2026-11-25"
    assert sorted(p.name for p in (night / "history").iterdir()) == [
        "NCT09900001-2.html",  # the diff of each step after the first, linked from its row
        "NCT09900001.html",
        "NCT09900002-2.html",
        "NCT09900002.html",
        "NCT09900006.html",
    ]
    timeline = (night / "history" / "NCT09900002.html").read_text()
    assert "RECRUITING → UNKNOWN" in timeline
    assert "<title>History of NCT09900002</title>" in timeline
    assert '<a href="../index.html">← the night of 2026-11-25</a>' in timeline
    assert '<a href="NCT09900002-2.html">' in timeline
    step = (night / "history" / "NCT09900002-2.html").read_text()
    assert '<a href="NCT09900002.html#step-2">← history of NCT09900002</a>' in step
    assert "RECRUITING" in step and "UNKNOWN" in step
    page = (night / "index.html").read_text()
    assert '<a href="history/NCT09900002.html"' in page
    assert 'href="https://clinicaltrials.gov/study/NCT09900002?tab=history"' in page
    assert main([*argv[:2], "examples/2026-11-25", *argv[2:]]) == 2  # needs the store, not PATHS


def test_store_file_that_does_not_match_its_hash_is_an_input_error(in_repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "snapshots"
    main(["snapshot", "add", "--store", str(store), "examples/2026-11-25"])
    victim = next((store / "NCT09900003").iterdir())
    victim.write_bytes(victim.read_bytes().replace(b"COMPLETED", b"UNKNOWN"))
    code = main(
        ["report", "staleness", "--store", str(store), "--as-of", "2026-11-25", "--out", str(tmp_path / "r")]
    )
    assert code == 2
    summary = json.loads((tmp_path / "r" / "2026-11-25" / "summary.json").read_text())
    assert summary["records"] == 5 and summary["input_errors"] == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--fail-on", "warning"], 1),
        (["--fail-on", "error"], 0),
        (["--param", "years=30"], 0),
        (["--param", "bogus=1"], 2),
        (["--param", "years"], 2),
        (["--as-of", "25/11/2026"], 2),
        (["--select", "no-such-rule"], 2),
        (["--select", "verified-date-moved-back"], 2),  # a pair rule: nothing to run here
    ],
)
def test_exit_codes(in_repo: Path, tmp_path: Path, args: list[str], code: int) -> None:
    argv = [
        "report",
        "staleness",
        "examples/2026-11-25",
        "--as-of",
        "2026-11-25",
        "--out",
        str(tmp_path),
        *args,
    ]
    assert main(argv) == code


def test_years_parameter_changes_what_is_stale(in_repo: Path, tmp_path: Path) -> None:
    main(
        [
            "report",
            "staleness",
            "examples/2026-11-25",
            "--as-of",
            "2026-11-25",
            "--out",
            str(tmp_path),
            "--param",
            "years=5",
        ]
    )
    summary = json.loads((tmp_path / "2026-11-25" / "summary.json").read_text())
    assert summary["params"] == {"years": "5"}
    assert summary["stale"] == 2  # verified 2020-09 and 2021-02; not 2023-01


def test_unreadable_input_still_writes_the_report_and_exits_2(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "in" / "broken.txt"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00\x01binary")
    code = main(
        [
            "report",
            "staleness",
            "examples/2026-11-25",
            str(bad),
            "--as-of",
            "2026-11-25",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"audit: error: {bad}: binary file" in err
    assert "Traceback" not in err
    page = (tmp_path / "r" / "2026-11-25" / "index.html").read_text()
    assert "Inputs that could not be read (1)" in page


def test_broken_rule_file_runs_nothing(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: Not Kebab\n")
    code = main(
        ["report", "staleness", "examples/2026-11-25", "--rules", str(rules), "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "rules.yaml:" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_output_error_exits_3_and_leaves_nothing(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(
        [
            "report",
            "staleness",
            "examples/2026-11-25",
            "--as-of",
            "2026-11-25",
            "--out",
            str(blocker / "reports"),
        ]
    )
    assert code == 3
    assert "audit: error:" in capsys.readouterr().err
    assert blocker.read_text() == "not a folder"


def test_no_progress_bar_when_stderr_is_not_a_terminal_and_one_summary_line(tmp_path: Path) -> None:
    audit = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    result = subprocess.run(
        [
            audit,
            "report",
            "staleness",
            "examples/2026-11-25",
            "--as-of",
            "2026-11-25",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "audit: error" not in result.stderr  # no bar, no error
    assert result.stdout.count("\n") == 1 and result.stdout.startswith(
        "staleness 2026-11-25: 6 records, 3 stale"
    )
    assert (tmp_path / "2026-11-25" / "index.html").is_file()


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import pty

    audit = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [
                audit,
                "report",
                "staleness",
                "examples/2026-11-25",
                "--as-of",
                "2026-11-25",
                "--out",
                str(tmp_path),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert result.returncode == 0
    assert b"\rauditing  [########################]  6/6" in drawn
    assert drawn.endswith(b"\r")  # the bar is erased before the summary line
    assert result.stdout.decode().startswith("staleness 2026-11-25: 6 records")


def test_help_lists_the_command() -> None:
    assert main(["report", "staleness", "--help"]) == 0
