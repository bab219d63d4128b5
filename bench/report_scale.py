"""The nightly report over 500,000 records with the night's changes: wall time, throughput,
CPU, peak memory.

    python bench/report_scale.py                     # 500,000 records (about 6 GB of XML and a store)
    python bench/report_scale.py --records 50000 --jobs 2
    python bench/report_scale.py --data /tmp/bench500k --keep    # generate once, run again later
    python bench/report_scale.py --data /tmp/bench500k --keep --cache    # both nights with --cache

The records are synthetic, made from the corpus's 6,786 legacy-XML records (the
ClinicalTrials.gov bulk download, ``reesewang25__enrollment_and_studylength``): record *i* is
template ``i mod 6786`` with a new NCT ID (``NCT9…``, outside the assigned range) and every
``Month [DD, ]YYYY`` date moved by the same random number of months (-72 … +12, seeded), so
statuses stay real and verification ages spread over the chart's buckets. Every record is
downloaded on the first night (2026-11-24); one in ``--change-every`` (default 100: 5,000 of
500,000, about what the registry updates in a day) is downloaded again the next night
(2026-11-25) with its dates a month later (a date slip, a re-verification), its enrollment
changed and, one in four, its status changed. Both nights go into one store with ``audit
snapshot add`` (not timed), and the first night's report is made (timed, printed).

The measured run is the second night as the cron job runs it, ``audit report staleness --store S
--as-of 2026-11-25``: staleness of the 500,000 records *and* what changed since the first night
(the batch diff of the changed records, their diff pages, the pair rules), in a subprocess,
measured from outside: wall time, records per second, user+sys CPU of the whole process tree,
and the peak of the *sum* of the tree's resident memory (sampled from /proc every 0.2 s) beside
``ru_maxrss`` (the largest single process). Target from the issues: under 2 minutes and under
4 GB on 2 cores. The load average before the run is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("AUDITOR_SHARED", REPO.parent / "shared")) / "corpus" / "raw"
TEMPLATES = CORPUS / "reesewang25__enrollment_and_studylength" / "AllPublicXML_subset_5c5cc15.tar.gz"
AS_OF = "2026-11-25"
FIRST_NIGHT = "2026-11-24"
#: The download dates of the two nights, as the XML writes them.
NIGHT_DAYS = ("November 24, 2026", "November 25, 2026")
PER_FOLDER = 1000
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DATE = re.compile(r">((" + "|".join(MONTHS) + r") (?:(\d{1,2}), )?(\d{4}))<")
NCT = re.compile(rb"NCT\d{8}")


def load_templates() -> list[bytes]:
    with tarfile.open(TEMPLATES) as archive:
        members = sorted((m for m in archive if m.isfile() and m.name.endswith(".xml")), key=lambda m: m.name)
        return [archive.extractfile(m).read() for m in members]  # type: ignore[union-attr]


def shift(text: str, months: int) -> str:
    """Every ``Month [DD, ]YYYY`` element value moved by ``months`` (days past 28 become 28)."""

    def move(match: re.Match[str]) -> str:
        month = MONTHS.index(match.group(2)) + months
        year = int(match.group(4)) + month // 12
        name = MONTHS[month % 12]
        day = match.group(3)
        if day is None:
            return f">{name} {year}<"
        return f">{name} {min(int(day), 28):02d}, {year}<"

    return DATE.sub(move, text)


DOWNLOADED = re.compile(r"(<download_date>ClinicalTrials.gov processed this data on )[^<]*(</download_date>)")
ENROLLMENT = re.compile(r"(<enrollment[^>]*>)(\d+)(</enrollment>)")
STATUS = re.compile(r"<overall_status>[^<]*</overall_status>")
#: The second night's status of a changed record, by ``index // change_every % 8`` (one in four
#: changes: two into UNKNOWN, one stopped, one back to recruiting).
NEW_STATUS = {0: "Unknown status", 2: "Terminated", 4: "Recruiting", 6: "Unknown status"}


def synth(index: int, template: bytes, *, night: int, change_every: int) -> bytes:
    """Record ``index`` as downloaded on ``night`` (1 or 2; see the module docstring)."""
    rng = random.Random(index)
    nct = f"NCT9{index:07d}".encode()
    text = NCT.sub(nct, template).decode("utf-8")
    text = shift(text, rng.randint(-72, 12) + (night - 1))
    text = DOWNLOADED.sub(rf"\g<1>{NIGHT_DAYS[night - 1]}\g<2>", text)
    if night == 2:
        text = ENROLLMENT.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + 7}{m.group(3)}", text)
        status = NEW_STATUS.get(index // change_every % 8)
        if status is not None:
            text = STATUS.sub(f"<overall_status>{status}</overall_status>", text)
    return text.encode("utf-8")


def write_range(args: tuple[str, int, int, int, int]) -> int:
    root, start, stop, night, change_every = args
    templates = load_templates()
    written = 0
    for index in range(start, stop):
        if night == 2 and index % change_every:
            continue
        folder = Path(root, f"{index // PER_FOLDER:04d}")
        folder.mkdir(exist_ok=True)
        data = synth(index, templates[index % len(templates)], night=night, change_every=change_every)
        (folder / f"NCT9{index:07d}.xml").write_bytes(data)
        written += 1
    return written


def audit(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from auditor.cli import entry_point; entry_point()", *argv]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def generate(root: Path, records: int, jobs: int, change_every: int) -> float:
    """Both nights' files and the store holding them (reused when already made)."""
    marker = root / ".generated.json"
    wanted = {"records": records, "change_every": change_every, "store": 1}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        print(f"reusing {records:,} records and their store in {root}")
        return 0.0
    shutil.rmtree(root / "store", ignore_errors=True)
    started = time.perf_counter()
    step = 5000
    for night in (1, 2):
        folder = root / f"night{night}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        ranges = [
            (str(folder), s, min(s + step, records), night, change_every) for s in range(0, records, step)
        ]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = sum(pool.map(write_range, ranges))
        print(f"night {night}: {done:,} files written in {time.perf_counter() - started:.0f} s")
        added = audit("snapshot", "add", "--store", str(root / "store"), str(folder))
        if added.returncode != 0:
            print(added.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"audit snapshot add exited {added.returncode}")
        print(f"night {night}: added to the store at {time.perf_counter() - started:.0f} s")
    marker.write_text(json.dumps(wanted))
    return time.perf_counter() - started


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (from /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_report(store: Path, out: Path, jobs: int, as_of: str, cache: Path | None = None) -> dict[str, float]:
    command = [
        sys.executable,
        "-c",
        "from auditor.cli import entry_point; entry_point()",
        "report",
        "staleness",
        "--store",
        str(store),
        "--as-of",
        as_of,
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        *([] if cache is None else ["--cache", str(cache)]),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        # CPU of every process of the tree, last value seen: pool workers are not reaped by
        # this process, so RUSAGE_CHILDREN would miss them.
        while not stop.is_set():
            pids = tree(process.pid)
            peak[0] = max(peak[0], sum(rss_kib(p) for p in pids))
            for pid in pids:
                seconds = cpu_seconds(pid)
                if seconds >= 0:
                    cpu[pid] = max(cpu.get(pid, 0.0), seconds)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 1):
        print(stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"audit report staleness exited {process.returncode}")
    print(stdout.strip())
    return {
        "wall": wall,
        "cpu": sum(cpu.values()),
        "peak_tree_mib": peak[0] / 1024,
        "maxrss_mib": after.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--change-every", type=int, default=100, help="one record in N changes overnight")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", type=Path, help="folder for the generated records (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated records")
    parser.add_argument("--generate-only", action="store_true", help="make the files and the store, stop")
    parser.add_argument(
        "--cache", action="store_true", help="both nights with --cache (the first fills it, as cron would)"
    )
    args = parser.parse_args()
    if not TEMPLATES.is_file():
        raise SystemExit(f"corpus not found at {TEMPLATES}")
    data = args.data or Path(tempfile.mkdtemp(prefix="auditor-report-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="auditor-report-out-"))
    try:
        generated = generate(data, args.records, args.jobs, args.change_every)
        if generated:
            print(f"generated {args.records:,} records and their store in {generated:.1f} s")
        if args.generate_only:
            return
        cache = out.parent / f"{out.name}-cache" if args.cache else None
        first = run_report(data / "store", out, args.jobs, FIRST_NIGHT, cache)
        print(f"first night ({FIRST_NIGHT}, no changes section): {first['wall']:.1f} s wall")
        load = os.getloadavg()
        result = run_report(data / "store", out, args.jobs, AS_OF, cache)
        folder = out / AS_OF
        sizes = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
        diff_pages = sum(p.stat().st_size for p in (folder / "changes").iterdir())
        summary = json.loads((folder / "summary.json").read_text())
        changes = summary["changes"]
        target_ok = result["wall"] < 120 and result["peak_tree_mib"] < 4096
        rows = [
            ("records", f"{summary['records']:,}"),
            ("stale", f"{summary['stale']:,}"),
            (
                "changed since the night before (material)",
                f"{changes['changed']:,} ({changes['material']:,})",
            ),
            ("pair-rule findings of the night", f"{changes['pair_findings']:,}"),
            ("jobs (worker processes)", str(args.jobs)),
            ("--cache (filled by the first night)", "yes" if args.cache else "no"),
            (
                "cpus / load average 1, 5, 15 min before",
                f"{os.cpu_count()} / " + ", ".join(f"{x:.2f}" for x in load),
            ),
            ("wall time", f"{result['wall']:.1f} s"),
            ("records per second (wall)", f"{summary['records'] / result['wall']:,.0f}"),
            ("CPU user+sys, whole tree (sampled)", f"{result['cpu']:.1f} s"),
            ("CPU per record", f"{1000 * result['cpu'] / max(summary['records'], 1):.2f} ms"),
            ("peak RSS, sum of tree", f"{result['peak_tree_mib']:,.0f} MiB"),
            ("peak RSS, largest process", f"{result['maxrss_mib']:,.0f} MiB"),
            (
                "index.html / findings.json / changes.json",
                f"{sizes['index.html'] / 1e6:.1f} MB / {sizes['findings.json'] / 1e6:.1f} MB"
                f" / {sizes['changes.json'] / 1e6:.1f} MB",
            ),
            ("diff pages (changes/)", f"{diff_pages / 1e6:.1f} MB"),
            ("target < 120 s and < 4 GB", "met" if target_ok else "NOT met"),
        ]
        width = max(len(name) for name, _ in rows)
        print()
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(out.parent / f"{out.name}-cache", ignore_errors=True)
        if not args.keep and args.data is None:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
