"""``audit diff`` from the command line: one exit code per test, plus real subprocess runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from auditor.cli import main
from auditor.cli.diff import use_color
from auditor.reports.diff_render import JSON_SCHEMA

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PARTRITA = "partrita__clinicaltrial-watch-tigit/versions/NCT05294952"


@pytest.fixture
def pair(seed_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The seed, and a later snapshot of it with a status move into UNKNOWN undone."""
    seed = seed_path.read_text(encoding="utf-8")
    old = tmp_path / "old.txt"
    old.write_text(
        seed.replace("Status: UNKNOWN", "Status: RECRUITING").replace(
            "Ignite Modification Date: 2026-01-05 @ 4:48 PM", "Ignite Modification Date: 2025-12-30 @ 9:00 AM"
        ),
        encoding="utf-8",
    )
    new = tmp_path / "new.txt"
    new.write_text(seed, encoding="utf-8")
    return old, new


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_identical_snapshots_say_no_changes(seed_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(seed_path), str(seed_path), "--exit-code")
    assert code == 0
    assert "no changes" in out


def test_changes_exit_0_and_1_with_exit_code(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = pair
    code, out, _ = run(capsys, str(old), str(new))
    assert code == 0
    assert "status RECRUITING → UNKNOWN (into UNKNOWN) !!" in out
    # the summary block's copy of the status change is counted once
    assert "1 study change (1 flagged); 1 metadata change" in out
    code, _, _ = run(capsys, str(old), str(new), "--exit-code")
    assert code == 1


def test_metadata_only_changes_do_not_fail_exit_code(seed_path: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    later = tmp_path / "later.txt"
    later.write_text(
        seed_path.read_text(encoding="utf-8").replace("2026-01-05 @ 4:48 PM", "2026-01-06 @ 4:48 PM"),
        encoding="utf-8",
    )
    code, out, _ = run(capsys, str(seed_path), str(later), "--exit-code")
    assert code == 0
    assert "no study changes; 1 metadata change" in out


def test_newest_first_is_swapped_with_a_note(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = pair
    code, out, _ = run(capsys, str(new), str(old))
    assert code == 0
    assert f"--- before: {old}" in out
    assert f"note: arguments swapped: {old} is the older snapshot" in out
    assert "RECRUITING → UNKNOWN" in out


def test_different_studies_exit_2_unless_forced(
    seed_path: Path, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = corpus_dir / PARTRITA / "2026-02-03_91d8d98.json"
    code, out, err = run(capsys, str(seed_path), str(other))
    assert code == 2
    assert out == ""
    assert "not the same study: NCT03765957" in err and "NCT05294952" in err and "--force" in err
    assert err.count("\n") == 1
    code, out, _ = run(capsys, str(seed_path), str(other), "--force")
    assert code == 0
    assert "different studies compared (--force)" in out


def test_json_output_follows_the_documented_schema(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = corpus_dir / PARTRITA
    code, out, _ = run(
        capsys,
        str(folder / "2026-03-03_8078b9f.json"),
        str(folder / "2026-02-03_91d8d98.json"),
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)
    jsonschema.validate(doc, JSON_SCHEMA)
    assert doc["schema"] == 2 and doc["swapped"] is True
    assert [(c["key"], c["class"], c["flag"]) for c in doc["changes"]] == [
        ("overall_status", "status_transition", "into_unknown"),
        ("last_known_status", "field_added", None),
    ]
    assert [c["key"] for c in doc["metadata"]] == ["version_holder"]  # the export date
    assert doc["headline"]["status"] == {
        "old": "NOT_YET_RECRUITING",
        "new": "UNKNOWN",
        "alarm": "into_unknown",
    }
    assert doc["summary"]["by_module"] == {"Study Status": 2}


def test_ignore_and_config_move_fields_to_metadata(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = corpus_dir / PARTRITA
    a, b = str(folder / "2026-02-03_91d8d98.json"), str(folder / "2026-03-03_8078b9f.json")
    code, out, _ = run(capsys, a, b, "--format", "json", "--ignore", "version_holder")
    doc = json.loads(out)
    assert [c["key"] for c in doc["metadata"]] == ["version_holder"]
    config = tmp_path / "diff.yaml"
    config.write_text("ignore:\n  - version_holder\n  - Last Known Status\n", encoding="utf-8")
    code, out, _ = run(capsys, a, b, "--format", "json", "--config", str(config))
    doc = json.loads(out)
    assert code == 0
    assert [c["key"] for c in doc["changes"]] == ["overall_status"]
    assert doc["ignored"] == ["version_holder", "last_known_status"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignore: [a, b\n", "diff.yaml:2: invalid YAML"),
        ("- just a list\n", "diff.yaml: config must be a mapping"),
        ("ignore: version_holder\n", "'ignore' must be a list"),
        ("ignored: [x]\n", "unknown config key(s): ignored"),
        ("ignore: " + "[" * 5000 + "]" * 5000 + "\n", "diff.yaml: invalid YAML: nested too deeply"),
    ],
)
def test_bad_config_is_one_line_exit_2(
    seed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "diff.yaml"
    config.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, str(seed_path), str(seed_path), "--config", str(config))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_missing_or_bad_input_exits_2(
    seed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(seed_path), str(tmp_path / "nope.txt"))
    assert code == 2 and "nope.txt: no such file or directory" in err
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n", encoding="utf-8")
    code, _, err = run(capsys, str(junk), str(seed_path))
    assert code == 2 and "junk.txt" in err


def test_output_file_is_written_whole(pair: tuple[Path, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    old, new = pair
    target = tmp_path / "out" / "diff.md"
    code, out, _ = run(capsys, str(old), str(new), "--format", "markdown", "--output", str(target))
    assert code == 0 and out == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Changes to NCT03765957")
    assert "**⚠ status RECRUITING → UNKNOWN (into UNKNOWN)**" in text
    assert [p.name for p in target.parent.iterdir()] == ["diff.md"]


def test_html_is_self_contained_and_escaped(seed_path: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(
        seed_path.read_text(encoding="utf-8").replace(
            "Acronym: None", 'Acronym: <script>alert("x")</script><img src="http://evil/x.png">'
        ),
        encoding="utf-8",
    )
    code, out, _ = run(capsys, str(seed_path), str(hostile), "--format", "html")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out
    # nothing is loaded; the only links lead to the record on ClinicalTrials.gov
    assert not re.search(r"""<[^>]*\ssrc\s*=""", out)
    links = re.findall(r"""href\s*=\s*["']([^"']*)""", out)
    assert links and all(link.startswith("https://clinicaltrials.gov/study/NCT03765957") for link in links)


def test_colour_only_when_asked_or_on_a_terminal(pair: tuple[Path, Path], capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    old, new = pair
    _, plain, _ = run(capsys, str(old), str(new))
    assert not ANSI.search(plain)
    assert "[-" not in plain or "{+" in plain
    _, coloured, _ = run(capsys, str(old), str(new), "--color")
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured).splitlines()[0] == plain.splitlines()[0]
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(None, to_terminal=True) is True
    assert use_color(None, to_terminal=False) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(None, to_terminal=True) is False
    assert use_color(True, to_terminal=False) is True


def _audit() -> list[str]:
    exe = shutil.which("audit", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    return [sys.executable, "-c", "from auditor.cli import entry_point; entry_point()"]


def test_installed_audit_diff_runs(pair: tuple[Path, Path]) -> None:
    old, new = pair
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [*_audit(), "diff", str(new), str(old), "--exit-code"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "RECRUITING → UNKNOWN" in done.stdout and not ANSI.search(done.stdout)
    done = subprocess.run(
        [*_audit(), "diff", str(old), str(old)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and "no changes" in done.stdout


def test_terminal_view_never_passes_control_characters_through(
    seed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(
        seed_path.read_text(encoding="utf-8").replace("Acronym: None", "Acronym: \x1b[2J\x1b]0;pwned\x07X"),
        encoding="utf-8",
    )
    code, out, _ = run(capsys, str(seed_path), str(hostile), "--no-color")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J\\x1b]0;pwned\\x07X" in out
