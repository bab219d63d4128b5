"""The pre-commit hook and the composite GitHub Action, run the way pre-commit and the Actions
runner run them: the hook's ``entry`` with the changed files appended, the action's shell step
with its inputs in the environment and a ``GITHUB_OUTPUT`` file."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_data import stale_study, study, write

REPO = Path(__file__).resolve().parents[1]
AUDIT_BIN = Path(sys.executable).parent


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
    env["PATH"] = f"{AUDIT_BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def test_pre_commit_hook_checks_the_changed_snapshot_files(tmp_path: Path) -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "audit-check" and hook["language"] == "python"
    pattern = re.compile(hook["files"])
    changed = [
        stale_study(tmp_path / "snapshots"),
        write(tmp_path / "snapshots" / "NCT07654321.json", study("NCT07654321", "COMPLETED", "2025-06")),
        tmp_path / "README.md",
    ]
    passed = [str(p.relative_to(tmp_path)) for p in changed if pattern.search(str(p))]
    assert passed == ["snapshots/NCT01234567.json", "snapshots/NCT07654321.json"]
    entry = shlex.split(hook["entry"])
    run = lambda *args: subprocess.run(  # noqa: E731
        [*entry, *args, *passed], cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120
    )
    assert run("--as-of", "2026-01-05").returncode == 0  # warnings do not block a commit by default
    blocked = run("--as-of", "2026-01-05", "--fail-on", "warning")
    assert blocked.returncode == 1 and "unknown-status-stale" in blocked.stdout


def _action_script() -> tuple[str, dict[str, str]]:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "check"]
    defaults = {
        f"INPUT_{k.upper().replace('-', '_')}": str(v.get("default", "")) for k, v in action["inputs"].items()
    }
    defaults["INPUT_SARIF"] = defaults.pop("INPUT_SARIF_FILE")
    return step["run"], defaults


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1)])
def test_action_step_annotates_and_fails_at_fail_on(tmp_path: Path, fail_on: str, code: int) -> None:
    script, inputs = _action_script()
    stale_study(tmp_path / "snapshots")
    output = tmp_path / "github-output"
    inputs.update(
        INPUT_PATHS="snapshots",
        INPUT_FAIL_ON=fail_on,
        INPUT_SARIF="audit.sarif",
        INPUT_ARGS="--as-of 2026-01-05",
    )
    env = environment(**inputs, GITHUB_OUTPUT=str(output))
    run = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert run.returncode == code, run.stderr
    assert run.stdout.startswith("::warning file=snapshots/NCT01234567.json,title=unknown-status-stale")
    assert output.read_text() == f"exit-code={code}\n"
    assert '"ruleId": "unknown-status-stale"' in (tmp_path / "audit.sarif").read_text()
