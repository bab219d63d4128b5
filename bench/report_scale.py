"""The nightly staleness report over 500,000 records: wall time, throughput, CPU, peak memory.

    python bench/report_scale.py                     # 500,000 records (about 6 GB of XML in a temp dir)
    python bench/report_scale.py --records 50000 --jobs 2
    python bench/report_scale.py --data /tmp/bench500k --keep    # generate once, run again later

The records are synthetic, made from the corpus's 6,786 legacy-XML records (the
ClinicalTrials.gov bulk download, ``reesewang25__enrollment_and_studylength``): record *i* is
template ``i mod 6786`` with a new NCT ID (``NCT9…``, outside the assigned range) and every
``Month [DD, ]YYYY`` date moved by the same random number of months (-72 … +12, seeded), so
statuses stay real and verification ages spread over the chart's buckets. Files are written,
one per record, 1,000 per folder, by ``--jobs`` processes (not timed with the report).

The report is then run as the user runs it, ``audit report staleness DIR --as-of 2026-11-25``,
in a subprocess (parsing in parallel on ``--jobs`` processes), and measured from outside:
wall time, records per second, user+sys CPU of the whole process tree, and the peak of the
*sum* of the tree's resident memory (sampled from /proc every 0.2 s) beside ``ru_maxrss`` (the
largest single process). Target from the issue: under 2 minutes and under 4 GB on 2 cores.
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


def synth(index: int, template: bytes, rng: random.Random) -> bytes:
    nct = f"NCT9{index:07d}".encode()
    text = NCT.sub(nct, template).decode("utf-8")
    return shift(text, rng.randint(-72, 12)).encode("utf-8")


def write_range(args: tuple[str, int, int]) -> int:
    root, start, stop = args
    templates = load_templates()
    written = 0
    for index in range(start, stop):
        rng = random.Random(index)
        folder = Path(root, f"{index // PER_FOLDER:04d}")
        folder.mkdir(exist_ok=True)
        (folder / f"NCT9{index:07d}.xml").write_bytes(synth(index, templates[index % len(templates)], rng))
        written += 1
    return written


def generate(root: Path, records: int, jobs: int) -> float:
    marker = root / ".generated.json"
    if marker.is_file() and json.loads(marker.read_text()).get("records") == records:
        print(f"reusing {records:,} records in {root}")
        return 0.0
    started = time.perf_counter()
    step = 5000
    ranges = [(str(root), s, min(s + step, records)) for s in range(0, records, step)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        done = sum(pool.map(write_range, ranges))
    marker.write_text(json.dumps({"records": done}))
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


def run_report(data: Path, out: Path, jobs: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-c",
        "from auditor.cli import entry_point; entry_point()",
        "report",
        "staleness",
        str(data),
        "--as-of",
        AS_OF,
        "--out",
        str(out),
        "--jobs",
        str(jobs),
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
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", type=Path, help="folder for the generated records (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated records")
    args = parser.parse_args()
    if not TEMPLATES.is_file():
        raise SystemExit(f"corpus not found at {TEMPLATES}")
    data = args.data or Path(tempfile.mkdtemp(prefix="auditor-report-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="auditor-report-out-"))
    try:
        generated = generate(data, args.records, args.jobs)
        if generated:
            print(f"generated {args.records:,} records in {generated:.1f} s")
        load = os.getloadavg()[0]
        result = run_report(data, out, args.jobs)
        folder = out / AS_OF
        sizes = {p.name: p.stat().st_size for p in sorted(folder.iterdir())}
        summary = json.loads((folder / "summary.json").read_text())
        target_ok = result["wall"] < 120 and result["peak_tree_mib"] < 4096
        rows = [
            ("records", f"{summary['records']:,}"),
            ("stale", f"{summary['stale']:,}"),
            ("jobs (worker processes)", str(args.jobs)),
            ("cpus / load average before", f"{os.cpu_count()} / {load:.2f}"),
            ("wall time", f"{result['wall']:.1f} s"),
            ("records per second (wall)", f"{summary['records'] / result['wall']:,.0f}"),
            ("CPU user+sys, whole tree (sampled)", f"{result['cpu']:.1f} s"),
            ("CPU per record", f"{1000 * result['cpu'] / max(summary['records'], 1):.2f} ms"),
            ("peak RSS, sum of tree", f"{result['peak_tree_mib']:,.0f} MiB"),
            ("peak RSS, largest process", f"{result['maxrss_mib']:,.0f} MiB"),
            (
                "index.html / findings.json",
                f"{sizes['index.html'] / 1e6:.1f} MB / {sizes['findings.json'] / 1e6:.1f} MB",
            ),
            ("target < 120 s and < 4 GB", "met" if target_ok else "NOT met"),
        ]
        width = max(len(name) for name, _ in rows)
        print()
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if not args.keep and args.data is None:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
