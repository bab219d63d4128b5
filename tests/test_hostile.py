"""Every hostile input × every command that reads input: the outcome documented in
``tests/hostile/EXPECTED.yaml``, never a traceback, nothing half-written, good inputs beside bad
ones still processed.

Big inputs (10 MB value, 100,000 fields, deep nesting) and archives are made here at test time
rather than committed.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.cli import main

HOSTILE = Path(__file__).parent / "hostile"
MANIFEST: dict[str, Any] = yaml.safe_load((HOSTILE / "EXPECTED.yaml").read_text(encoding="utf-8"))
GOOD = HOSTILE / "good" / "good.txt"
GOOD_NCT = "NCT09000001"
AS_OF = "2026-01-01"
#: The markup the hostile values carry; no HTML output may contain it unescaped.
HOSTILE_SCRIPT = "<script>alert"
COMMANDS = ("parse", "diff", "check", "add", "staleness", "history")


# --- generated inputs ------------------------------------------------------------------------


def _good_text() -> str:
    return GOOD.read_text(encoding="utf-8").replace(GOOD_NCT, "NCT09000070")


def _big_value() -> bytes:
    return (_good_text() + "Detailed Description: " + "word " * 2_000_000 + "\n").encode()


def _fields_100k_text() -> bytes:
    """50,000 registered (duplicate) labels, each followed by an unknown one: 100,000 fields."""
    body = _good_text().replace("NCT09000070", "NCT09000071")
    lines = "".join(f"Acronym: a{i}\nUnknown Label {i}: value {i}\n" for i in range(50_000))
    return (body + "\nStudy Design\n\n" + lines).encode()


def _fields_10k_json() -> bytes:
    study = json.loads((HOSTILE / "good" / "good.json").read_text(encoding="utf-8"))
    study["protocolSection"]["identificationModule"]["nctId"] = "NCT09000072"
    study["protocolSection"]["miscModule"] = {f"key{i}": f"value {i}" for i in range(10_000)}
    return json.dumps(study).encode()


def _json_deep() -> bytes:
    return (
        b'{"protocolSection": {"identificationModule": {"nctId": "NCT09000073"}, "x": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}"
    )


def _xml_deep() -> bytes:
    return (
        b"<clinical_study><id_info><nct_id>NCT09000074</nct_id></id_info><deep>"
        + b"<a>" * 50_000
        + b"</a>" * 50_000
        + b"</deep></clinical_study>"
    )


def _corrupt_tar() -> bytes:
    return b"\x1f\x8b\x08\x00" + b"garbage" * 100


def _traversal_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.txt", _good_text().replace("NCT09000070", "NCT09000075"))
        good_json = (HOSTILE / "good" / "good.json").read_text(encoding="utf-8")
        archive.writestr("/abs.json", good_json.replace("NCT09000002", "NCT09000076"))
    return buffer.getvalue()


GENERATORS: dict[str, Callable[[], bytes]] = {
    "big_value_10mb.txt": _big_value,
    "fields_100k.txt": _fields_100k_text,
    "fields_10k.json": _fields_10k_json,
    "json_deep.json": _json_deep,
    "xml_deep.xml": _xml_deep,
    "corrupt.tar.gz": _corrupt_tar,
    "traversal.zip": _traversal_zip,
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile inputs in one folder: the committed ones copied, the big ones made."""
    folder = tmp_path_factory.mktemp("hostile")
    for name, spec in MANIFEST["inputs"].items():
        target = folder / name
        if spec.get("generated"):
            target.write_bytes(GENERATORS[name]())
        else:
            shutil.copyfile(HOSTILE / name, target)
    return folder


def expected(name: str, command: str) -> dict[str, Any]:
    """The manifest entry of ``name`` with the overrides for ``command`` applied."""
    spec = dict(MANIFEST["inputs"][name])
    spec.update(spec.get("add", {}) if command == "history" else {})  # history reads what add stored
    spec.update(spec.pop(command, None) or {})
    for other in COMMANDS:
        spec.pop(other, None)
    spec.setdefault("records", 1 if spec["outcome"] == "read" else 0)
    spec.setdefault("errors", 1 if spec["outcome"] == "error" else 0)
    return spec


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("audit: error: ")]


def assert_bad_file_named(err: str, path: Path, spec: dict[str, Any]) -> None:
    """Exactly ``spec['errors']`` error lines, each naming the file; one holds the message."""
    assert "Traceback" not in err
    lines = error_lines(err)
    mine = [line for line in lines if str(path) in line]
    assert len(mine) == spec["errors"] == len(lines), err
    if spec["errors"]:
        assert any(spec["message"] in line for line in mine), err


def assert_nothing_half_written(*folders: Path) -> None:
    """No temp file of an atomic write or of the store left anywhere under ``folders``."""
    for folder in folders:
        if folder.exists():
            leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
            assert not leftovers, leftovers


CASES = [(name, command) for name in MANIFEST["inputs"] for command in COMMANDS]


@pytest.mark.parametrize(("name", "command"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_hostile_input(
    name: str, command: str, inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = inputs / name
    spec = expected(name, command)
    status = 2 if spec["outcome"] == "error" else None
    store, reports = tmp_path / "store", tmp_path / "reports"

    if command == "parse":
        code, out, err = run(["parse", str(GOOD), str(path)], capsys)
        assert code == (status or 0)
        records = [r for r in json.loads(out)["records"] if r["source"]["path"] != str(GOOD)]
        assert len(records) == spec["records"]
        assert any(r["nct_id"] == GOOD_NCT for r in json.loads(out)["records"]), "good input dropped"
        problems = " | ".join(p for r in records for p in r["problems"])
        for fragment in spec.get("problems", []):
            assert fragment in problems
    elif command == "diff":
        out_file = tmp_path / "out" / "diff.html"
        code, out, err = run(
            ["diff", "--force", "--format", "html", "-o", str(out_file), str(GOOD), str(path)], capsys
        )
        assert code == (status or 0)
        assert out_file.exists() == (status is None)
        assert_nothing_half_written(out_file.parent)
    elif command == "check":
        code, out, err = run(["check", "--as-of", AS_OF, "--format", "json", str(GOOD), str(path)], capsys)
        assert code == status if status else code in (0, 1)
        checked = spec["records"] + 1
        assert f"checked {checked} snapshot{'' if checked == 1 else 's'} " in err
        report = json.loads(out)
        assert GOOD_NCT in json.dumps(report), "good input not checked"
    elif command in ("add", "history"):
        code, out, err = run(
            ["snapshot", "add", "--store", str(store), "--format", "json", str(GOOD), str(path)], capsys
        )
        assert code == (status or 0)
        result = json.loads(out)
        assert len(result["added"]) == spec["records"] + 1
        assert_nothing_half_written(store)
        code, out, _ = run(["snapshot", "verify", "--store", str(store)], capsys)
        assert code == 0, out
        if command == "history":
            ncts = sorted({entry["nct_id"] for entry in result["added"]})
            target = reports / "history.html"
            code, out, err = run(
                ["history", "--store", str(store), "--format", "html", "-o", str(target), *ncts], capsys
            )
            assert code == 0, err
            assert HOSTILE_SCRIPT not in target.read_text(encoding="utf-8")
            assert_nothing_half_written(reports)
            return
    else:
        code, out, err = run(
            ["report", "staleness", "--as-of", AS_OF, "--out", str(reports), "-j", "1", str(GOOD), str(path)],
            capsys,
        )
        assert code == status if status else code in (0, 1)
        summary = json.loads((reports / AS_OF / "summary.json").read_text(encoding="utf-8"))
        assert summary["records"] == spec["records"] + 1
        assert HOSTILE_SCRIPT not in (reports / AS_OF / "index.html").read_text(encoding="utf-8")
        assert_nothing_half_written(reports)
    assert_bad_file_named(err, path, spec)


RULE_CASES = list(MANIFEST["rule_files"])


@pytest.mark.parametrize("name", RULE_CASES)
def test_hostile_rule_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken rule file stops every command before any input is read or any file written."""
    rule_file = str(HOSTILE / name)
    message = MANIFEST["rule_files"][name]["message"]
    reports = tmp_path / "reports"
    runs = [
        ["check", "--rules", rule_file, "--as-of", AS_OF, "-o", str(tmp_path / "findings.txt"), str(GOOD)],
        [
            "report",
            "staleness",
            "--rules",
            rule_file,
            "--select",
            "my-rule",
            "--as-of",
            AS_OF,
            "--out",
            str(reports),
            str(GOOD),
        ],
    ]
    if "period" not in message:  # a period is bound to --as-of when the rules run, not when listed
        runs.append(["rules", "list", "--rules", rule_file])
    for argv in runs:
        code, _out, err = run(argv, capsys)
        assert code == 2, (argv, err)
        assert message in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "findings.txt").exists()
    assert not reports.exists()
    assert not Path("/tmp/auditor-pwned").exists()


def test_manifest_lists_every_committed_file() -> None:
    """Each file under tests/hostile/ has its expected outcome written down, and vice versa."""
    committed = {
        p.relative_to(HOSTILE).as_posix()
        for p in HOSTILE.rglob("*")
        if p.is_file() and p.parent.name != "good" and p.name != "EXPECTED.yaml"
    }
    listed = {n for n, s in MANIFEST["inputs"].items() if not s.get("generated")} | set(
        MANIFEST["rule_files"]
    )
    assert committed - listed <= {"rules/html_message.yaml"}  # a valid rule file, for test_security
    assert listed <= committed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"findings": [1, {"rule": [1]}]}', "without a fingerprint"),
        (b"\xff\xfe\x00garbage", "cannot read baseline"),
        (b"[]", "not a baseline"),
    ],
)
def test_hostile_baseline_file(
    content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``audit check --baseline`` with a broken baseline: one line naming it, exit 2."""
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(content)
    code, _out, err = run(["check", "--as-of", AS_OF, "--baseline", str(baseline), str(GOOD)], capsys)
    assert code == 2
    assert error_lines(err) == [line for line in err.splitlines() if str(baseline) in line]
    assert message in err and "Traceback" not in err
