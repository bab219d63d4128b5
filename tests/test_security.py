"""Security: record content can't become markup or terminal escapes, NCT IDs and file names
can't escape the store or the reports folder, and rule files can't run code."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.records import Record
from auditor.rules.spec import RuleErrors, parse_rule_text
from auditor.store import Store

HOSTILE = Path(__file__).parent / "hostile"
GOOD = HOSTILE / "good" / "good.txt"
AS_OF = "2026-01-01"
#: Inputs whose titles and descriptions carry <script>, an onerror attribute, </textarea>, ]]>.
MARKUP_INPUTS = ("html_in_values.txt", "json_html.json", "xml_html_values.xml")
MARKUP_NCTS = ("NCT09000032", "NCT09000044", "NCT09000053")
REPO = Path(__file__).resolve().parents[1]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


class _Markup(HTMLParser):
    """Every element and attribute a browser would build, and the text of every script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def assert_inert(page: str, what: str, *, shown: bool = True) -> None:
    """The hostile values left no element, attribute or script behind; their text is shown."""
    markup = _Markup()
    markup.feed(page)
    tags = [tag for tag, _ in markup.tags]
    assert "img" not in tags and "textarea" not in tags, what
    handlers = [value or "" for _, attrs in markup.tags for name, value in attrs if name.startswith("on")]
    assert not [h for h in handlers if "alert" in h], what
    assert not any("alert(" in script for script in markup.scripts), what
    if shown:
        assert "&lt;script&gt;alert" in page or "\\u003cscript\\u003ealert" in page, (
            f"{what}: value not shown"
        )


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("sec") / "store"
    assert (
        main(
            ["snapshot", "add", "--store", str(store), str(GOOD), *(str(HOSTILE / n) for n in MARKUP_INPUTS)]
        )
        == 0
    )
    return store


@pytest.mark.parametrize("name", MARKUP_INPUTS)
def test_diff_html_and_markdown_show_markup_as_text(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "diff.html"
    assert main(["diff", "--force", "--format", "html", "-o", str(page), str(GOOD), str(HOSTILE / name)]) == 0
    assert_inert(page.read_text(encoding="utf-8"), f"diff html of {name}")
    code, out, _ = run(["diff", "--force", "--format", "markdown", str(GOOD), str(HOSTILE / name)], capsys)
    assert code == 0
    assert "<script" not in out and "<img" not in out and "<!--" not in out


def test_history_and_staleness_pages_show_markup_as_text(
    hostile_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "history.html"
    assert (
        main(["history", "--store", str(hostile_store), "--format", "html", "-o", str(page), *MARKUP_NCTS])
        == 0
    )
    assert_inert(page.read_text(encoding="utf-8"), "history html", shown=False)  # first snapshots only
    code, out, _ = run(
        ["history", "--store", str(hostile_store), "--format", "markdown", *MARKUP_NCTS], capsys
    )
    assert code == 0 and "<script" not in out and "<img" not in out

    reports = tmp_path / "reports"
    argv = ["report", "staleness", "--store", str(hostile_store), "--out", str(reports), "--as-of", AS_OF]
    assert main([*argv, "--history-pages", "-j", "1"]) in (0, 1)
    folder = reports / AS_OF
    assert_inert((folder / "index.html").read_text(encoding="utf-8"), "staleness index.html")
    for nct in MARKUP_NCTS:
        history_page = folder / "history" / f"{nct}.html"
        if history_page.exists():
            assert_inert(history_page.read_text(encoding="utf-8"), history_page.name, shown=False)
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "<script" not in markdown and "<img" not in markdown and "<!--" not in markdown


RULE = """\
rules:
  - id: title-shown
    title: '<script>alert(3)</script> & a title'
    severity: error
    rationale: Shows the title in the message.
    source: a test
    when:
      present: {field: brief_title}
    message: '<b>{brief_title}</b>'
"""


@pytest.mark.parametrize("fmt", ["junit", "sarif", "json", "csv"])
def test_machine_reports_stay_well_formed(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Markup, quotes and control characters in values and messages cannot break the structure."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE, encoding="utf-8")
    inputs = [str(HOSTILE / n) for n in (*MARKUP_INPUTS, "control_chars.txt")]
    code, out, _ = run(["check", "--rules", str(rules), "--format", fmt, "--as-of", AS_OF, *inputs], capsys)
    assert code == 1
    if fmt == "junit":
        root = ET.fromstring(out.encode("utf-8"))
        texts = " ".join((e.text or "") + " ".join(e.attrib.values()) for e in root.iter())
        assert '<script>alert("x")</script>' in texts  # the value survives as text
        assert not [e for e in root.iter() if e.tag in ("script", "img", "b")]
    elif fmt == "sarif":
        document = json.loads(out)
        messages = [r["message"]["text"] for r in document["runs"][0]["results"]]
        assert len(messages) == 4 and any("onerror=alert(1)" in m for m in messages)
    elif fmt == "json":
        assert len(json.loads(out)["findings"]) == 4
    else:
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == 4


def test_hostile_file_names_stay_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file named with a line break or an ESC is one stderr line, escaped, not a terminal code."""
    names = ["new\nline.txt", "esc\x1b[31mred.txt", "tab\tand\rcr.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    code, _, err = run(["parse", *(str(tmp_path / n) for n in names)], capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == len(names) and all(line.startswith("audit: error: ") for line in lines)
    assert "\x1b" not in err and "\r" not in err and "\t" not in err
    assert "new\\x0aline.txt" in lines[0] and "esc\\x1b[31mred.txt" in lines[1]


def test_table_output_escapes_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["parse", "--format", "table", str(HOSTILE / "control_chars.txt")], capsys)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\x7f" not in out
    assert "escape\\x1b[31mRED" in out


@pytest.mark.parametrize(
    "nct", ["../../etc", "NCT00000001/../../x", "nct00000001", "NCT0000000l", "/etc/passwd"]
)
def test_nct_id_arguments_never_become_paths(
    nct: str, hostile_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["history", "--store", str(hostile_store), nct],
        ["snapshot", "list", "--store", str(hostile_store), nct],
    ):
        code, _, err = run(argv, capsys)
        assert code == 2 and "invalid NCT ID" in err


def test_forged_record_with_a_path_as_nct_id_is_refused(tmp_path: Path) -> None:
    """Records built in Python bypass the readers; the store still validates the ID."""
    (record,) = [r for r in __import__("auditor.readers", fromlist=["read_path"]).read_path(GOOD)]
    forged = Record.__new__(Record)
    for name in record.__dataclass_fields__:
        object.__setattr__(forged, name, getattr(record, name))
    object.__setattr__(forged, "nct_id", "../../outside")
    with Store(tmp_path / "store") as store:
        result = store.add([forged])
    assert not result.added and result.errors
    assert not (tmp_path / "outside").exists()
    assert {p.name for p in tmp_path.iterdir()} == {"store"}


def test_index_row_pointing_outside_the_store_is_refused_and_repaired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    secret = tmp_path / "secret.txt"
    secret.write_text("Viewing Study NCT09000001\n\nnot for you\n", encoding="utf-8")
    assert main(["snapshot", "add", "--store", str(store), str(GOOD)]) == 0
    capsys.readouterr()
    with sqlite3.connect(store / "index.sqlite") as conn:
        conn.execute("UPDATE snapshots SET path = '../secret.txt'")
    code, out, err = run(["history", "--store", str(store), "NCT09000001"], capsys)
    assert code == 2 and "unexpected path" in err and "not for you" not in out
    code, _, _ = run(["snapshot", "verify", "--repair", "--store", str(store)], capsys)
    assert code == 0
    code, out, _ = run(["history", "--store", str(store), "NCT09000001"], capsys)
    assert code == 0 and "not for you" not in out
    assert secret.read_text(encoding="utf-8").endswith("not for you\n")


def test_outputs_replace_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    """``-o link`` where link points at another file: the link is replaced, the file untouched."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "out.html"
    link.symlink_to(victim)
    assert main(["diff", "--format", "html", "-o", str(link), str(GOOD), str(GOOD)]) == 0
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and "<html" in link.read_text(encoding="utf-8").lower()


def test_dated_report_folder_that_is_a_symlink_is_not_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.html").write_text("keep me", encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / AS_OF).symlink_to(outside, target_is_directory=True)
    code, _, err = run(
        ["report", "staleness", "--out", str(reports), "--as-of", AS_OF, "-j", "1", str(GOOD)], capsys
    )
    assert code in (0, 1, 3), err
    assert (outside / "index.html").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in outside.iterdir()) == ["index.html"]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "payload",
    [
        "    title: !!python/object/apply:os.system ['touch {marker}']\n",
        "    tags: [!!python/object/new:os.system ['touch {marker}']]\n",
        "    params: {{x: !!python/name:os.system }}\n",
        "    example: !!binary aGVsbG8=\n    title: !mytag x\n",
    ],
)
def test_rule_files_cannot_run_code(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = (
        "rules:\n  - id: my-rule\n    severity: warning\n    rationale: r\n    source: s\n"
        + payload.format(marker=marker)
        + "    when:\n      eq: {field: overall_status, value: UNKNOWN}\n"
    )
    with pytest.raises(RuleErrors) as info:
        parse_rule_text(text, "r.yaml")
    assert any("unsupported YAML tag" in e.message or "expected" in e.message for e in info.value.errors)
    assert not marker.exists()


def test_no_unsafe_yaml_or_eval_in_the_package() -> None:
    """The rule: yaml.safe_load / SafeLoader only, and no eval/exec, anywhere in auditor/."""
    unsafe = re.compile(
        r"yaml\.(load|unsafe_load|full_load|load_all)\("
        r"|Loader=yaml\.(Loader|UnsafeLoader|FullLoader)"
        r"|(?<![.\w])(eval|exec)\("  # Python's builtins, not JavaScript's regex.exec(
    )
    hits = [
        f"{path.relative_to(REPO)}:{n}"
        for path in (REPO / "auditor").rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if unsafe.search(line)
    ]
    assert not hits


def test_archive_members_are_read_in_place_never_extracted(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.txt", GOOD.read_text(encoding="utf-8"))
    work = tmp_path / "work"
    work.mkdir()
    cwd = os.getcwd()
    os.chdir(work)
    try:
        assert main(["snapshot", "add", "--store", "store", str(archive)]) == 0
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    assert next((work / "store" / "NCT09000001").iterdir()).name.endswith(".txt")
