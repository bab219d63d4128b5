"""Configuration discovery (``audit.toml``, ``[tool.audit]``): where it is found, what wins,
and errors that name the file, the line and the key — each through ``main(argv)`` with its exit
code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_data import AS_OF, stale_study, terminated_study

from auditor.cli import main
from auditor.config import SCHEMA, Config, discover, find_config, load_config
from auditor.errors import UsageError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with one stale study under data/, run from data/ (below the config)."""
    stale_study(tmp_path / "data")
    monkeypatch.chdir(tmp_path / "data")
    return tmp_path


def test_audit_toml_found_from_a_subfolder_sets_fail_on(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", ".", *AS_OF]) == 0  # warnings do not fail by default
    (project / "audit.toml").write_text('fail_on = "warning"\n')
    assert main(["check", ".", *AS_OF]) == 1
    assert main(["check", ".", *AS_OF, "--fail-on", "error"]) == 0  # the command line wins
    assert main(["check", ".", *AS_OF, "--isolated"]) == 0  # no configuration at all
    capsys.readouterr()
    assert main(["check", ".", *AS_OF, "-v"]) == 1
    assert f"audit: configuration: {(project / 'audit.toml').resolve()}" in capsys.readouterr().err


def test_pyproject_tool_audit_and_which_file_wins(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.audit]\nfail_on = "warning"\n')
    assert find_config(project / "data") == project / "pyproject.toml"
    assert main(["check", ".", *AS_OF]) == 1
    (project / "audit.toml").write_text('fail_on = "none"\n')  # audit.toml first in one folder
    assert find_config(project / "data") == project / "audit.toml"
    assert main(["check", ".", *AS_OF]) == 0
    (project / "data" / "pyproject.toml").write_text('[project]\nname = "inner"\n')  # no table: passed over
    assert find_config(project / "data") == project / "audit.toml"


def test_config_option_names_a_file_and_excludes_isolated(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = project / "ci.toml"
    other.write_text('fail_on = "info"\n')
    assert main(["check", ".", *AS_OF, "--config", str(other)]) == 1
    assert main(["--config", str(other), "check", ".", *AS_OF]) == 1  # before the command too
    assert main(["check", ".", *AS_OF, "--config", str(other), "--isolated"]) == 2
    assert "--config and --isolated exclude each other" in capsys.readouterr().err
    assert main(["check", ".", *AS_OF, "--config", str(project / "missing.toml")]) == 2
    assert "missing.toml: configuration file not found" in capsys.readouterr().err


def test_select_params_format_and_paths_relative_to_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terminated_study(project / "data")
    rules = project / "my-rules"
    rules.mkdir()
    catalogue = Path(__file__).resolve().parents[1] / "auditor" / "rules" / "catalogue"
    (rules / "status.yaml").write_text((catalogue / "status.yaml").read_text())
    (project / "audit.toml").write_text(
        'rules = ["my-rules"]\nselect = ["unknown-status-stale"]\nformat = "json"\nfail_on = "warning"\n'
        "\n[params]\nyears = 10\n"
    )
    assert main(["check", ".", *AS_OF]) == 0  # verified 2020-09 is not 10 years old
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 0
    assert main(["check", ".", *AS_OF, "--param", "years=2"]) == 1  # --param wins by name
    report = json.loads(capsys.readouterr().out)
    assert [f["rule_id"] for f in report["findings"]] == ["unknown-status-stale"]
    assert report["findings"][0]["rule_source"].endswith(
        "status.yaml:" + report["findings"][0]["rule_source"].split(":")[-1]
    )
    assert main(["check", ".", *AS_OF, "--select", "stop-reason-missing", "--format", "text"]) == 1
    assert "stop-reason-missing" in capsys.readouterr().out  # --select replaces the file's list


def test_per_rule_params_become_rule_dot_name_items(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(
        "[params]\nyears = 3\nunknown-status-stale = {years = 4}\n\n[params.other-rule]\ndays = 7\n"
    )
    assert load_config(path).param_items() == ("years=3", "unknown-status-stale.years=4", "other-rule.days=7")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('fail-on = "warning"\n', "audit.toml:1: fail-on: unknown key (did you mean 'fail_on'?)"),
        (
            'select = ["a"]\nfail_on = "warn"\n',
            "audit.toml:2: fail_on: expected one of error, warning, info, none, got 'warn'",
        ),
        ("jobs = 0\n", "audit.toml:1: jobs: expected a whole number of at least 1, got 0"),
        ("select = [1]\n", "audit.toml:1: select: expected a list of strings"),
        ("[params]\nyears = [1, 2]\n", "audit.toml:2: params.years: expected a number, a string or a date"),
        ("fail_on = \n", "audit.toml:1: invalid TOML"),
    ],
)
def test_config_errors_name_file_line_and_key(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (project / "audit.toml").write_text(text)
    assert main(["check", ".", *AS_OF]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_pyproject_errors_say_the_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.black]\nline-length = 3\n\n[tool.audit]\nformat = "sarif"\ncolour = "never"\n')
    with pytest.raises(UsageError) as caught:
        load_config(path)
    assert caught.value.one_line().endswith(
        "pyproject.toml:6: tool.audit.colour: unknown key (did you mean 'color'?); known: "
        + ", ".join(SCHEMA)
    )


def test_store_out_and_api_url_reach_their_commands(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "audit.toml").write_text(
        'store = "the-store"\nout = "the-reports"\napi_url = "http://127.0.0.1:9/api/v2"\n'
    )
    assert main(["snapshot", "add", "."]) == 0
    assert (project / "the-store").is_dir()  # relative to the file, not to data/
    assert main(["report", "staleness", "--as-of", "2026-01-05"]) == 0
    assert (project / "the-reports" / "2026-01-05" / "index.html").is_file()
    assert main(["check", *AS_OF, "--fail-on", "warning"]) == 1  # no PATH: the configured store
    capsys.readouterr()
    pytest.importorskip("httpx")
    assert main(["fetch", "--dry-run", "NCT01234567"]) == 0
    assert "http://127.0.0.1:9/api/v2" in capsys.readouterr().out


def test_a_key_the_command_cannot_take_is_an_error_not_dropped(project: Path) -> None:
    (project / "audit.toml").write_text('ignore = ["unknown-status-stale"]\n')
    code = main(["check", ".", *AS_OF, "--fail-on", "warning"])
    assert code in (0, 2)  # 0 where audit check has --ignore; 2 ("not supported") where it has not


def test_help_and_version_work_with_a_broken_configuration(project: Path) -> None:
    (project / "audit.toml").write_text("fail_on = \n")
    assert main(["check", "--help"]) == 0
    assert main(["--version"]) == 0
    assert main(["check", ".", *AS_OF]) == 2


def test_discover_is_usable_from_python(tmp_path: Path) -> None:
    assert discover(tmp_path, isolated=True) == Config(None)
    (tmp_path / "audit.toml").write_text('store = "s"\n')
    assert discover(tmp_path).get("store") == str(tmp_path.resolve() / "s")
