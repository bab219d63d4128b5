"""The auditor as a user installs it: build the wheel, install it into a fresh virtual
environment, and run ``audit`` from a folder outside the clone (issue 15: a normal install once
found no rule file). Also the few subprocess runs of the installed ``audit`` that exit codes need.

Made fast without cheating on what is tested: the wheel is built with this environment's
setuptools (``--no-build-isolation``, no download), the fresh environment is made without pip
and the wheel installed into it by this environment's pip (``--python``), and the dependencies
(pandas, pandera, …) come from this environment's ``site-packages`` through a ``.pth`` line. A
path added that way is on ``sys.path`` but its own ``.pth`` files are not run, so the editable
install of the clone is *not* visible: ``auditor`` is imported from the wheel, as the test
checks. About 10 s on the 2-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from cli_data import study, write

from auditor import __version__

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


class Installed:
    def __init__(self, root: Path, wheel: Path):
        self.root = root
        self.wheel = wheel
        self.bin = root / "bin"

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NO_COLOR")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(self.bin / "audit"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the source tree (build/, *.egg-info): a copy of what the sdist holds,
    # so that two test workers (or a developer's build) never share those folders
    source = work / "source"
    shutil.copytree(REPO / "auditor", source / "auditor", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(work / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("auditor-*.whl")
    root = work / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    purelib = Path(
        subprocess.run(
            [str(root / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    (purelib / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return Installed(root, wheel)


def test_the_wheel_holds_the_catalogue_and_the_data(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    for expected in ("auditor/rules/catalogue/status.yaml", "auditor/data/fields.yaml", "auditor/version.py"):
        assert expected in names
    assert not any(name.startswith(("tests/", "bench/", "examples/")) for name in names)


def test_installed_audit_runs_outside_the_clone(installed: Installed, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", "import auditor; print(auditor.__file__)"],
        cwd=outside, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(installed.root) in where and str(REPO) not in where

    version = installed.run("--version", cwd=outside)
    assert version.returncode == 0 and version.stdout == f"audit {__version__}\n"

    listed = installed.run("rules", "list", cwd=outside)
    assert listed.returncode == 0, listed.stderr
    assert "unknown-status-stale" in listed.stdout and "rules/status.yaml" not in listed.stderr

    explained = installed.run("rules", "explain", "unknown-status-stale", cwd=outside)
    assert explained.returncode == 0 and "Defined at: rules/status.yaml:" in explained.stdout

    data = outside / "data"
    write(data / "NCT01234567.json", study("NCT01234567", "UNKNOWN", "2020-09"))
    write(data / "NCT07654321.json", study("NCT07654321", "COMPLETED", "2025-06"))
    argv = ["check", "data", "--as-of", "2026-01-05", "--fail-on", "warning", "--format", "sarif"]
    checked = installed.run(*argv, cwd=outside)
    assert checked.returncode == 1, checked.stderr
    results = json.loads(checked.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["unknown-status-stale"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "data/NCT01234567.json",
        "uriBaseId": "SRCROOT",
    }

    report = installed.run(
        "report", "staleness", "data", "--as-of", "2026-01-05", "--out", "reports", cwd=outside
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("staleness 2026-01-05: 2 records, 1 stale")
    assert (outside / "reports" / "2026-01-05" / "index.html").is_file()


def test_installed_exit_codes(installed: Installed, tmp_path: Path) -> None:
    write(tmp_path / "NCT01234567.json", study("NCT01234567", "UNKNOWN", "2020-09"))
    (tmp_path / "audit.toml").write_text('fail_on = "warning"\n')
    assert installed.run("check", ".", "--as-of", "2026-01-05", cwd=tmp_path).returncode == 1  # the config
    assert installed.run("check", ".", "--as-of", "2026-01-05", "--isolated", cwd=tmp_path).returncode == 0
    missing = installed.run("check", "missing.json", cwd=tmp_path)
    assert missing.returncode == 2 and "missing.json: no such file or directory" in missing.stderr
    usage = installed.run("check", "--fail-on", "sometimes", cwd=tmp_path)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
