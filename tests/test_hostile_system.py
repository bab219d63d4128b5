"""Hostile round 2: special files, bombs, odd names, runaway rules, outputs, shared caches,
signals and identity — each case a real ``audit`` subprocess with a time limit (and a memory
limit where a read could run away), asserting its exit code, one ``audit: error:`` line naming
the culprit, no traceback, and that the good input beside it is still processed.

The cases are listed in the README's reliability table; the inputs are made here (a FIFO, a
zip bomb, a Latin-1 file name cannot be committed)."""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

HOSTILE = Path(__file__).parent / "hostile"
GOOD = HOSTILE / "good" / "good.txt"
GOOD_NCT = "NCT09000001"
AS_OF = "2026-01-01"
AUDIT = [sys.executable, "-c", "from auditor.cli import entry_point; entry_point()"]
#: Address space for a run whose reads could run away (before the fix, a 600 KB zip took 7 GB):
#: ``audit`` reserves about 1 GB of it at start (pandas, pyarrow, thread stacks) while using
#: 0.4 GB at most for a 300 MB member, the largest input read is one 256 MB limit.
MEMORY_CAP = 2048 * 1024 * 1024
LATIN1_NAME = b"caf\xe9.txt"


def capped(limit: int = MEMORY_CAP) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def audit(
    *argv: str | Path,
    timeout: float = 90,
    cap: bool = False,
    cwd: Path | None = None,
    stdin: int | None = subprocess.DEVNULL,
    **kwargs: object,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*AUDIT, *map(os.fsdecode, argv)],
        capture_output=True,
        timeout=timeout,
        preexec_fn=capped() if cap else None,
        cwd=cwd,
        stdin=stdin,
        **kwargs,  # type: ignore[arg-type]
    )


def errors_of(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("audit: error: ")]


def assert_one_error(done: subprocess.CompletedProcess[bytes], code: int, *fragments: str) -> str:
    lines = errors_of(done)
    assert done.returncode == code, done.stderr.decode(errors="replace")
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def good_text(nct_id: str = GOOD_NCT) -> str:
    return GOOD.read_text(encoding="utf-8").replace(GOOD_NCT, nct_id)


def _with_title(title: str) -> str:
    lines = good_text().splitlines()
    return "\n".join(f"Brief Title: {title}" if x.startswith("Brief Title:") else x for x in lines) + "\n"


# --- special files ----------------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "pipe.txt"
    path.parent.mkdir()
    os.mkfifo(path)
    (tmp_path / "in" / "good.txt").write_text(good_text(), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["parse", "check", "staleness"])
def test_a_fifo_among_the_inputs_is_one_line_and_the_rest_is_read(
    command: str, fifo: Path, tmp_path: Path
) -> None:
    folder = fifo.parent
    argv: list[str | Path] = {
        "parse": ["parse", folder],
        "check": ["check", "--as-of", AS_OF, "--format", "json", folder],
        "staleness": ["report", "staleness", "--as-of", AS_OF, "--out", tmp_path / "r", "-j", "1", folder],
    }[command]
    done = audit(*argv, timeout=60)
    assert_one_error(done, 2, str(fifo), "not a regular file (a FIFO)")
    if command == "staleness":
        summary = json.loads((tmp_path / "r" / AS_OF / "summary.json").read_text(encoding="utf-8"))
        assert summary["records"] == 1
    else:
        assert GOOD_NCT in done.stdout.decode()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_as_input_or_baseline_are_refused_not_read(device: str) -> None:
    done = audit("check", "--as-of", AS_OF, GOOD, device, cap=True, timeout=60)
    assert_one_error(done, 2, device, "not a regular file (a device)")
    assert GOOD_NCT in done.stdout.decode()
    done = audit("check", "--as-of", AS_OF, "--baseline", device, GOOD, cap=True, timeout=60)
    assert_one_error(done, 2, device, "cannot read baseline: not a regular file (a device)")


@pytest.mark.parametrize("what", ["rules", "config", "previous report"])
def test_other_files_a_command_reads_are_opened_without_blocking(what: str, tmp_path: Path) -> None:
    """A FIFO as a rule file, a diff config, a previous report: one line, never a hang."""
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    if what == "rules":
        done = audit("check", "--as-of", AS_OF, "--rules", pipe, GOOD, timeout=60)
        assert_one_error(done, 2, str(pipe), "cannot read rule file: not a regular file (a FIFO)")
    elif what == "config":
        done = audit("diff", "--config", pipe, GOOD, GOOD, timeout=60)
        assert_one_error(done, 2, str(pipe), "cannot read config: not a regular file (a FIFO)")
    else:
        reports = tmp_path / "reports"
        argv = ["report", "staleness", "--out", reports, "-j", "1", GOOD]
        assert audit(*argv, "--as-of", "2025-12-31").returncode in (0, 1)
        stale = reports / "2025-12-31" / "stale.json"
        stale.unlink()
        os.mkfifo(stale)
        done = audit(*argv, "--as-of", AS_OF, timeout=60)
        assert_one_error(done, 2, "previous report unreadable", "not a regular file (a FIFO)")


def test_standard_input_is_an_input_and_a_device_behind_it_is_bounded(tmp_path: Path) -> None:
    done = audit("parse", "-", stdin=None, input=GOOD.read_bytes(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"][0]["source"]["path"] == "-"
    with open("/dev/zero", "rb") as zero:
        done = audit("parse", "-", GOOD, stdin=zero.fileno(), cap=True, timeout=90)
    assert_one_error(done, 2, "-: file too large")
    assert GOOD_NCT in done.stdout.decode()


# --- bombs ---------------------------------------------------------------------------------------


def _zip_bomb(path: Path, members: int, size: int) -> None:
    block = b"a" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good.txt", good_text())
        for i in range(members):
            with archive.open(f"big{i}.txt", "w") as handle:
                for _ in range(size >> 20):
                    handle.write(block)


def test_a_zip_bomb_is_refused_member_by_member_within_memory(tmp_path: Path) -> None:
    """Two members of 300 MB (a 600 KB zip): each refused while it is decompressed, under a
    memory cap; the good member beside them is checked."""
    bomb = tmp_path / "bomb.zip"
    _zip_bomb(bomb, 2, 300 << 20)
    assert bomb.stat().st_size < 2 << 20
    done = audit("check", "--as-of", AS_OF, "--format", "json", bomb, cap=True, timeout=120)
    lines = errors_of(done)
    assert done.returncode == 2 and len(lines) == 2, done.stderr
    assert all("too large" in line and "bomb.zip!big" in line for line in lines)
    assert GOOD_NCT in done.stdout.decode()


def test_many_large_members_in_flight_stay_within_memory(tmp_path: Path) -> None:
    """Six members of 200 MB each (each under the limit, none a record), parsed on two
    workers: the bytes in flight are bounded, so the run fits the cap (it took 7 GB)."""
    bomb = tmp_path / "wide.zip"
    _zip_bomb(bomb, 6, 200 << 20)
    done = audit("check", "--as-of", AS_OF, "-j", "2", bomb, cap=True, timeout=240)
    lines = errors_of(done)
    assert done.returncode == 2 and len(lines) == 6, done.stderr
    assert all("not a study record" in line for line in lines)


# --- names ---------------------------------------------------------------------------------------


@pytest.fixture
def latin1_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "names"
    folder.mkdir()
    with open(os.fsencode(folder) + b"/" + LATIN1_NAME, "wb") as handle:
        handle.write(good_text().encode())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        data = good_text("NCT09000002").encode()
        info = tarfile.TarInfo(LATIN1_NAME.decode("utf-8", "surrogateescape"))
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (folder / "members.tgz").write_bytes(buffer.getvalue())
    return folder


@pytest.mark.parametrize("fmt", ["json", "csv", "sarif", "junit", "text"])
def test_names_that_are_not_utf8_are_written_escaped_by_check(fmt: str, latin1_folder: Path) -> None:
    done = audit("check", "--as-of", AS_OF, "--format", fmt, latin1_folder, timeout=90)
    assert done.returncode in (0, 1), done.stderr
    assert not errors_of(done)
    out = done.stdout.decode("utf-8")
    assert "caf\\xe9.txt" in out or "caf\\\\xe9.txt" in out
    assert "members.tgz!caf" in out


def test_names_that_are_not_utf8_in_parse_output_and_the_staleness_report(
    latin1_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "records.json"
    done = audit("parse", "-o", out, latin1_folder, timeout=90)
    assert done.returncode == 0, done.stderr
    paths = [r["source"]["path"] for r in json.loads(out.read_text(encoding="utf-8"))["records"]]
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["caf\\xe9.txt", "members.tgz!caf\\xe9.txt"]
    done = audit("report", "staleness", "--as-of", AS_OF, "--out", tmp_path / "r", "-j", "1", latin1_folder)
    assert done.returncode in (0, 1), done.stderr
    assert "caf\\xe9" in (tmp_path / "r" / AS_OF / "findings.csv").read_text(encoding="utf-8")


def test_an_error_naming_a_latin1_file_shows_its_byte(tmp_path: Path) -> None:
    bad = os.fsencode(tmp_path) + b"/bad\xff.txt"
    with open(bad, "wb") as handle:
        handle.write(b"not a record\n")
    done = audit("check", "--as-of", AS_OF, tmp_path, GOOD)
    assert_one_error(done, 2, "bad\\xff.txt", "not a study record")


# --- nothing skipped without a word ---------------------------------------------------------------


def test_a_folder_that_cannot_be_listed_is_one_line(tmp_path: Path) -> None:
    """Root reads every folder, so the listing is refused the way a deep path is: a name too
    long for the file system (ENAMETOOLONG)."""
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "good.txt").write_text(good_text(), encoding="utf-8")
    too_long = str(deep / ("x" * 300))
    done = audit("check", "--as-of", AS_OF, too_long, deep)
    assert_one_error(done, 2, "xxx")
    assert GOOD_NCT in done.stdout.decode()


def test_tar_links_and_archives_inside_archives_are_one_line_each(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = good_text().encode()
        info = tarfile.TarInfo("good.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("hard.txt")
        link.type, link.linkname = tarfile.LNKTYPE, "good.txt"
        archive.addfile(link)
    path = tmp_path / "links.tgz"
    path.write_bytes(buffer.getvalue())
    done = audit("check", "--as-of", AS_OF, "--format", "json", path)
    assert_one_error(done, 2, "links.tgz!hard.txt", "a link; not read")
    assert GOOD_NCT in done.stdout.decode()


# --- rule files ---------------------------------------------------------------------------------


def _rule_file(tmp_path: Path, when: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - id: my-rule\n    title: t\n    severity: error\n    rationale: r\n"
        f"    source: s\n    when: {when}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a{4294967295}", "repetition {4294967295} is more than 1000"),
        ("(" * 3000 + "a" + ")" * 3000, "longer than 1000 characters"),
        ("(" * 60 + "a" + ")" * 60, "nests groups more than 50 deep"),
        ("(?=lookahead)", "not a valid RE2 pattern"),
        ("a)(b", "not a valid RE2 pattern"),
    ],
    ids=["huge-repeat", "3000-groups", "deep", "lookahead", "unbalanced"],
)
def test_rule_patterns_are_compiled_under_limits(pattern: str, message: str, tmp_path: Path) -> None:
    rules = _rule_file(tmp_path, "{matches: {field: brief_title, pattern: '" + pattern + "'}}")
    done = audit("check", "--as-of", AS_OF, "--rules", rules, GOOD, timeout=60)
    line = assert_one_error(done, 2, f"{rules}:7: rules[0](my-rule).when.matches.pattern", message)
    assert line.startswith(f"audit: error: {rules}:7:")


def test_a_catastrophic_pattern_runs_in_linear_time(tmp_path: Path) -> None:
    """``(a+)+$`` against a 40-character title hung the check (Python's backtracking engine);
    RE2 answers at once: no finding (the title ends in b), exit 0."""
    rules = _rule_file(tmp_path, "{matches: {field: brief_title, pattern: '(a+)+$'}}")
    page = tmp_path / "redos.txt"
    lines = good_text().splitlines()
    page.write_text(
        "\n".join("Brief Title: " + "a" * 40 + "b" if x.startswith("Brief Title:") else x for x in lines)
        + "\n",
        encoding="utf-8",
    )
    done = audit("check", "--as-of", AS_OF, "--format", "json", "--rules", rules, page, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"] == []


def test_a_long_plain_list_is_not_an_alias_bomb(tmp_path: Path) -> None:
    values = ", ".join(f"NCT09{i:06d}" for i in range(100_001))
    rules = _rule_file(tmp_path, "{isin: {field: nct_id, values: [" + values + "]}}")
    done = audit("check", "--as-of", AS_OF, "--format", "json", "--rules", rules, GOOD, timeout=120)
    assert done.returncode == 1, done.stderr  # NCT09000001 is in the list: one error finding
    assert [f["rule_id"] for f in json.loads(done.stdout)["findings"]] == ["my-rule"]


def test_a_rule_file_larger_than_its_limit_says_what_it_limits(tmp_path: Path) -> None:
    rules = tmp_path / "big.yaml"
    with open(rules, "wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    done = audit("rules", "list", "--rules", rules, cap=True)
    assert_one_error(done, 2, "rule file too large", "limit 16777216")


# --- outputs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["fifo", "device"])
def test_output_is_only_ever_a_regular_file(target: str, tmp_path: Path) -> None:
    path = {"fifo": tmp_path / "out.fifo", "device": Path("/dev/null")}[target]
    if target == "fifo":
        os.mkfifo(path)
    before = os.lstat(path)
    done = audit("check", "--as-of", AS_OF, "-o", path, GOOD, timeout=60)
    assert_one_error(done, 3, str(path), "not a regular file")
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_dash_is_standard_output(tmp_path: Path) -> None:
    done = audit("check", "--as-of", AS_OF, "--format", "json", "-o", "-", GOOD, cwd=tmp_path)
    assert done.returncode == 0 and GOOD_NCT in done.stdout.decode()
    assert not (tmp_path / "-").exists()


def test_a_closed_stdout_is_exit_3_before_any_work() -> None:
    script = "import os; os.close(1); from auditor.cli import entry_point; entry_point()"
    done = subprocess.run(
        [sys.executable, "-c", script, "check", "--as-of", AS_OF, str(GOOD)],
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stderr.decode().splitlines() == [
        "audit: error: cannot write the output: standard output is closed"
    ]


@pytest.mark.parametrize("argv", [["check", "--as-of", AS_OF], ["parse"], ["rules", "list"]])
def test_a_reader_that_goes_away_is_a_quiet_exit_3(argv: list[str], tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(400):
        (inputs / f"s{i:03d}.txt").write_text(good_text(f"NCT0901{i:04d}"), encoding="utf-8")
    paths = [] if argv[0] == "rules" else [str(inputs)]
    process = subprocess.Popen([*AUDIT, *argv, *paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.read(10)
    process.stdout.close()
    _, err = process.communicate(timeout=90)
    assert process.returncode == 3 if argv[0] != "rules" else process.returncode in (0, 3), err
    assert b"Traceback" not in err and b"audit: error" not in err


def test_stdout_that_is_not_utf8_shows_text_escaped_and_machine_formats_as_utf8(latin1_folder: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = audit("parse", "--format", "table", latin1_folder, env=env)
    assert done.returncode == 0 and b"caf\\xe9.txt" in done.stdout, done.stderr
    title = "Caf\u00e9 \u2014 \u00e9tude"
    page = latin1_folder.parent / "accents.txt"
    page.write_text(
        "\n".join(
            f"Brief Title: {title}" if x.startswith("Brief Title:") else x for x in good_text().splitlines()
        ),
        encoding="utf-8",
    )
    done = audit("parse", "--format", "json", page, env=env)
    assert done.returncode == 0, done.stderr
    assert title in done.stdout.decode("utf-8")


# --- the cache --------------------------------------------------------------------------------------


@pytest.fixture
def two_folders(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, base in ((first, 0), (second, 500)):
        folder.mkdir()
        for i in range(5):
            (folder / f"s{i}.txt").write_text(good_text(f"NCT0902{base + i:04d}"), encoding="utf-8")
    return first, second


def _findings(folder: Path, cache: Path | None = None) -> list[str]:
    argv: list[str | Path] = ["check", "--as-of", AS_OF, "--format", "json", folder]
    done = audit(*argv, *(["--cache", cache] if cache else []))
    assert done.returncode in (0, 1) and not errors_of(done), done.stderr
    return sorted(f["nct_id"] + f["rule_id"] for f in json.loads(done.stdout)["findings"])


@pytest.mark.parametrize("damage", ["foreign-segment", "manifest-list", "manifest-fifo-segment"])
def test_a_cache_that_does_not_belong_together_is_rebuilt(
    damage: str, two_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = two_folders
    expected = _findings(first)
    cache, other = tmp_path / "c1", tmp_path / "c2"
    assert _findings(first, cache) == expected
    assert _findings(second, other) == _findings(second)
    (segment,) = cache.glob("rows-*.parquet")
    if damage == "foreign-segment":
        (foreign,) = other.glob("rows-*.parquet")
        segment.write_bytes(foreign.read_bytes())
    elif damage == "manifest-list":
        (cache / "cache.json").write_text("[1, 2]", encoding="utf-8")
    else:
        segment.unlink()
        os.mkfifo(segment)
    assert _findings(first, cache) == expected


def test_two_runs_sharing_a_cache_both_succeed(two_folders: tuple[Path, Path], tmp_path: Path) -> None:
    first, _ = two_folders
    expected = _findings(first)
    cache = tmp_path / "shared"
    argv = [*AUDIT, "check", "--as-of", AS_OF, "--format", "json", "--cache", str(cache), str(first)]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert sorted(f["nct_id"] + f["rule_id"] for f in json.loads(out)["findings"]) == expected
    assert _findings(first, cache) == expected
    assert not list(cache.glob("*.tmp"))


# --- signals and workers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("many")
    for i in range(1500):
        (folder / f"s{i:04d}.txt").write_text(good_text(f"NCT0903{i:04d}"), encoding="utf-8")
    return folder


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_ctrl_c_to_the_process_group_during_jobs_2_never_hangs(engine: str, many_inputs: Path) -> None:
    """SIGINT to the whole process group (a terminal's Ctrl-C) while workers run: exit 130,
    "interrupted", no traceback from the parent, a worker or the fork server."""
    for delay in (0.0, 1.0):
        process = subprocess.Popen(
            [*AUDIT, "check", "--as-of", AS_OF, "--jobs", "2", "--engine", engine, str(many_inputs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _children(process.pid) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # (a Ctrl-C while Python still imports the command line is not ours)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        if process.returncode in (0, 1):  # finished before the signal (findings or not)
            continue
        assert process.returncode == 130, err
        assert err.decode().splitlines()[-1:] == ["audit: interrupted"] and b"Traceback" not in err, err


def test_a_killed_worker_ends_the_run_with_exit_3(many_inputs: Path) -> None:
    process = subprocess.Popen(
        [*AUDIT, "check", "--as-of", AS_OF, "--jobs", "2", str(many_inputs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while not workers and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = _workers_of(process.pid)
    assert workers, "no worker started"
    os.kill(workers[0], signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 3, err
    assert err.decode().splitlines()[-1:] == [
        "audit: error: a worker process was killed by SIGKILL (out of memory?); nothing was written"
    ]


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{parent}\n" in status:
                found.append(int(entry.name))
    return found


def _workers_of(parent: int) -> list[int]:
    """The worker processes of an ``audit`` run: the children of its fork server."""
    processes: dict[int, tuple[int, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
            processes[int(entry.name)] = (ppid, cmdline)
    servers = {pid for pid, (ppid, cmd) in processes.items() if ppid == parent and b"forkserver" in cmd}
    return [pid for pid, (ppid, _) in processes.items() if ppid in servers]


def test_too_few_file_descriptors_is_one_line_not_a_flood(many_inputs: Path) -> None:
    def low() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))

    done = subprocess.run(
        [*AUDIT, "check", "--as-of", AS_OF, "--engine", "dask", str(GOOD)],
        capture_output=True,
        timeout=60,
        preexec_fn=low,
    )
    assert_one_error(done, 3, "too few open files allowed for a local Dask cluster: 16")


def test_a_deleted_working_folder_with_jobs_2_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    script = "import os; os.rmdir(os.getcwd()); from auditor.cli import entry_point; entry_point()"
    done = subprocess.run(
        [sys.executable, "-c", script, "check", "--as-of", AS_OF, "--jobs", "2", str(GOOD)],
        capture_output=True,
        cwd=gone,
        timeout=60,
    )
    assert_one_error(done, 3, "cannot start worker processes: the working folder no longer exists")


# --- identity -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digits",
    ["\u0660\u0669\u0660\u0660\u0660\u0660\u0660\u0661", "\uff10\uff19\uff10\uff10\uff10\uff10\uff10\uff11"],
)
def test_nct_ids_with_other_digits_are_not_nct_ids(digits: str, tmp_path: Path) -> None:
    page = tmp_path / "odd.txt"
    page.write_text(good_text(f"NCT{digits}"), encoding="utf-8")
    store = tmp_path / "store"
    done = audit("snapshot", "add", "--store", store, page, GOOD)
    assert_one_error(done, 2, "odd.txt")
    assert sorted(p.name for p in store.iterdir() if p.name.startswith("NCT")) == [GOOD_NCT]
    done = audit("history", "--store", store, f"NCT{digits}")
    assert_one_error(done, 2, "invalid NCT ID")


def test_a_previous_report_with_an_invalid_nct_id_is_unreadable_not_fixed(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    argv: list[str | Path] = ["report", "staleness", "--out", reports, "-j", "1", GOOD]
    assert audit(*argv, "--as-of", "2025-12-31").returncode in (0, 1)
    stale = reports / "2025-12-31" / "stale.json"
    document = json.loads(stale.read_text(encoding="utf-8"))
    document["stale"].append({**document["stale"][0], "nct_id": "NCT\uff10\uff19000001"})
    stale.write_text(json.dumps(document), encoding="utf-8")
    done = audit(*argv, "--as-of", AS_OF)
    assert_one_error(done, 2, "previous report unreadable: invalid NCT ID")
    assert not (reports / AS_OF).exists()
