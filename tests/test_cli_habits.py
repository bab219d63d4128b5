"""What every command does alike: exit codes a CI can trust (4 for a bug, 2 for a missing
extra before any input is read, report-only runs), ``-`` for standard input, ``-q``/``-v``,
``--color``/``NO_COLOR``, "did you mean", metavars, and a start that imports no pandas where none
is needed. Each through ``main(argv)`` with its exit code."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_data import AS_OF, stale_study, study

import auditor.cli.check
from auditor.cli import COMMANDS, main


def test_an_unexpected_exception_is_exit_4_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(auditor.cli.check, "run_check", broken)
    assert main(["check", str(stale_study(tmp_path)), *AS_OF]) == 4
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError: a bug" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("audit: internal error: this is a bug in auditor ") and "(exit 4)" in last


def test_a_missing_extra_is_one_line_exit_2_before_any_input_is_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    missing = {"dask", "distributed", "httpx"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a)
    )
    for argv, extra in (
        (["check", "no-such-input", "--engine", "dask"], "dask"),
        (["report", "staleness", "no-such-input", "--engine", "dask", "--out", "no-such-out"], "dask"),
        (["fetch", "--ids-file", "no-such-list.txt"], "fetch"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"needs the '{extra}' extra: pip install 'auditor[{extra}]'" in err
        assert "no-such" not in err  # nothing was read
    assert not Path("no-such-out").exists()


def test_a_missing_module_deeper_down_still_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_dask(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'distributed'", name="distributed")

    monkeypatch.setattr(auditor.cli.check, "run_check", no_dask)
    assert main(["check", str(stale_study(tmp_path)), *AS_OF]) == 2
    assert "needs the 'dask' extra" in capsys.readouterr().err


def test_report_only_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(stale_study(tmp_path))
    assert main(["check", path, *AS_OF, "--fail-on", "warning"]) == 1
    assert main(["check", path, *AS_OF, "--fail-on", "none"]) == 0
    assert main(["check", path, *AS_OF, "--fail-on", "warning", "--exit-zero"]) == 0
    assert "(report only: --fail-on none)" in capsys.readouterr().err
    # an unreadable input is still exit 2: report-only is about findings, not errors
    assert main(["check", path, str(tmp_path / "missing.json"), *AS_OF, "--exit-zero"]) == 2
    assert (
        main(
            [
                "report",
                "staleness",
                path,
                "--as-of",
                "2026-01-05",
                "--out",
                str(tmp_path / "r"),
                "--fail-on",
                "none",
            ]
        )
        == 0
    )


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_dash_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.dumps(study("NCT01234567", "UNKNOWN", "2020-09")).encode()
    _stdin(monkeypatch, data)
    assert main(["check", "-", *AS_OF, "--format", "json", "--fail-on", "warning"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["snapshot"] == "-" and finding["rule_id"] == "unknown-status-stale"
    _stdin(monkeypatch, data)
    assert main(["parse", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["records"][0]["source"]["path"] == "-"
    assert main(["check", "-", "-", *AS_OF]) == 2
    assert "standard input (-) can be read once" in capsys.readouterr().err
    _stdin(monkeypatch, b"")
    assert main(["check", "-", *AS_OF]) == 2
    assert "-: empty file" in capsys.readouterr().err


def test_quiet_and_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(stale_study(tmp_path))
    assert main(["check", path, *AS_OF, "-q"]) == 0
    out, err = capsys.readouterr()
    assert "unknown-status-stale" in out and err == ""
    assert main(["check", path, *AS_OF, "-v"]) == 0
    assert "rules selected: results-overdue, applicable-trial-unverified" in capsys.readouterr().err
    assert main(["check", path, str(tmp_path / "missing.json"), *AS_OF, "-q"]) == 2
    assert "missing.json: no such file or directory" in capsys.readouterr().err  # errors stay


def test_color_always_never_and_no_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(stale_study(tmp_path))
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["check", path, *AS_OF, "--color", "always"]) == 0
    assert "\x1b[33mwarning\x1b[0m" in capsys.readouterr().out
    assert main(["check", path, *AS_OF]) == 0  # auto: not a terminal
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["check", path, *AS_OF, "--color", "auto"]) == 0
    assert "\x1b[" not in capsys.readouterr().out
    assert main(["check", path, *AS_OF, "--color", "always"]) == 0  # the flag beats NO_COLOR
    assert "\x1b[33m" in capsys.readouterr().out
    assert main(["check", path, *AS_OF, "--color", "purple"]) == 2


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_takes_the_common_options(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--color auto|always|never", "-q, --quiet", "-v, --verbose", "--isolated", "--config"):
        assert option in text, (name, option)
    assert "DIRECTORY" not in text and "INTEGER RANGE" not in text


def test_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chek"]) == 2
    assert "Did you mean 'check'?" in capsys.readouterr().err
    assert main(["rules", "lst"]) == 2
    assert "Did you mean 'list'?" in capsys.readouterr().err
    assert main(["rules", "explain", "stale-unknown"]) == 2
    assert "(did you mean 'unknown-status-stale'?)" in capsys.readouterr().err
    assert main(["check", "x.json", "--select", "dats"]) == 2
    assert "--select: no rule or tag named 'dats' (did you mean 'dates'?)" in capsys.readouterr().err
    assert main(["check", "x.json", "--fail-on", "warn"]) == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from auditor import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"audit {__version__}\n"


def test_rules_list_has_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["id", "severity", "scope", "title", "[tags]"]


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--help"], []),
        # the shipped catalogue's patterns are compiled in RE2 by the suite, not at every load
        (["rules", "list"], []),
        (["rules", "explain", "unknown-status-stale"], []),
    ],
)
def test_light_commands_do_not_import_pandas(argv: list[str], allowed: list[str]) -> None:
    """A behaviour, not a timing: the heavy libraries are imported where they are used."""
    code = (
        "import sys; from auditor.cli import main; code = main(sys.argv[1:]); "
        "heavy = ('pandas', 'pandera', 'pyarrow', 'numpy', 'deepdiff', 'matplotlib', 'dask'); "
        "print(code, *sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    exit_code, *imported = run.stderr.strip().splitlines()[-1].split()
    assert exit_code == "0" and set(imported) <= set(allowed), run.stderr
