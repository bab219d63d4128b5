"""Scale: throughput, wall time and peak memory of parse, check and report at 10k–500k records.

    python bench/scale.py                          # 10k and 100k, both engines, every stage
    python bench/scale.py --sizes 10000,100000,500000
    python bench/scale.py --e2e 560000 --warm-runs 3   # the full-registry figure: cold, then warm

Records are synthesized from the corpus's API v2 JSON studies (the JSON arrays and the
partrita snapshots): record *i* is corpus study ``i mod P`` with NCT ID ``NCT9xxxxxxx`` and
every date shifted by a multiple of four years (so 29 February stays valid). Stages:

* **parse**: the files, written once per size under ``--workdir`` (sharded 1,000 per folder),
  parsed on ``--jobs`` processes into the records table (:func:`auditor.run.parse.parse_table`);
  then again through the Parquet cache, cold and warm (:class:`auditor.run.cache.RecordCache`).
* **rules-parse / rules-cold / rules-warm**: the same, asking only for the columns the shipped
  record rules read (``TableCheck.columns``), which ``audit check`` does: JSON/XML inputs are
  read by projection (:func:`auditor.run.parse.job_for_columns`) and the cache keeps only those
  columns (``project=True``).
* **check**: every shipped record rule over the records table (rows of the parsed 10k table
  repeated with new NCT IDs, so the check stage does not wait for a 500k parse), on the pandas
  engine and on the Dask engine with a two-worker ``LocalCluster``.
* **report**: the findings rendered as JSON and CSV and written atomically.

Each measurement runs in its own child process; its peak memory is the highest sum of the RSS
of that process and all its descendants (pool workers, Dask workers), and its CPU time theirs
summed, sampled with psutil (a dependency of ``distributed``). The table ends with the
per-record cost at each size relative to the smallest: ~1.0 everywhere means linear growth.
``--e2e N`` runs ``audit check DIR --jobs 2 --cache C`` as a user would, cold then warm
(``--warm-runs K`` warm runs); "cold" is an empty Parquet cache, whatever the OS has cached.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("AUDITOR_SHARED", REPO.parent / "shared")) / "corpus" / "raw"
AS_OF = date(2026, 11, 25)
_DATE = re.compile(r'"(\d{4})(-\d{2}(?:-\d{2})?)"')


# --- synthesis ---------------------------------------------------------------------------------


def corpus_studies() -> list[dict]:
    """The corpus's API v2 JSON studies: the JSON arrays and the partrita current snapshots."""
    studies: list[dict] = []
    for path in sorted(CORPUS.glob("*/ctg-studies*.json")):
        data = json.loads(path.read_bytes())
        studies.extend(data if isinstance(data, list) else data.get("studies", []))
    archive = CORPUS / "partrita__clinicaltrial-watch-tigit" / "current_snapshots_HEAD_c69effd.tar.gz"
    if archive.is_file():
        with tarfile.open(archive) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None and member.name.endswith(".json"):
                    studies.append(json.loads(handle.read()))
    return [s for s in studies if "protocolSection" in s]


def templates() -> list[tuple[str, list[str]]]:
    """Each study as (its NCT ID, its JSON text split around the years of its dates)."""
    out = []
    for study in corpus_studies():
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
        text = json.dumps(study, ensure_ascii=False)
        out.append((nct_id, _DATE.split(text)))
    return out


def synthesize(n: int, parts: list[tuple[str, list[str]]]) -> Iterator[tuple[str, str]]:
    """``n`` studies as (NCT ID, JSON text)."""
    for i in range(n):
        base_id, pieces = parts[i % len(parts)]
        shift = 4 * ((i // len(parts)) % 3 - 1)
        nct_id = f"NCT9{i:07d}"
        chunks = []
        for k, piece in enumerate(pieces):
            if k % 3 == 0:
                chunks.append(piece)
            elif k % 3 == 1:
                chunks.append(f'"{int(piece) + shift:04d}')
            else:
                chunks.append(piece + '"')
        yield nct_id, "".join(chunks).replace(base_id, nct_id)


def write_files(n: int, root: Path) -> Path:
    """``n`` synthetic study files under ``root/<n>/`` (reused if already complete)."""
    folder = root / f"files-{n}"
    done = folder / ".complete"
    if done.is_file():
        return folder
    parts = templates()
    for i, (nct_id, text) in enumerate(synthesize(n, parts)):
        shard = folder / f"{i // 1000:04d}"
        if i % 1000 == 0:
            shard.mkdir(parents=True, exist_ok=True)
        (shard / f"{nct_id}.json").write_text(text, encoding="utf-8")
    done.write_text(str(n))
    return folder


# --- one measurement (child process) ------------------------------------------------------------


class TreeSampler:
    """Peak resident memory and CPU time of this process and all its descendants (pool
    workers, the forkserver, Dask nannies and workers), sampled four times a second with
    psutil: ``ru_maxrss`` would miss the pool workers, which are the forkserver's children."""

    def __init__(self, interval: float = 0.25) -> None:
        import threading

        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu: dict[int, float] = {}
        times = self._me.cpu_times()
        self._cpu_start = times.user + times.system
        self.peak_rss = 0

    def _sample(self) -> None:
        rss = 0
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    self._cpu[proc.pid] = times.user + times.system
            except self._psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def cpu_seconds(self) -> float:
        return sum(self._cpu.values()) - self._cpu_start

    def __enter__(self) -> TreeSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def base_table(root: Path, jobs: int):  # type: ignore[no-untyped-def]
    """The parsed 10k table, kept as Parquet under the work dir (the check stage's rows)."""
    import pandas as pd

    from auditor.run.cache import conform
    from auditor.run.parse import parse_table

    cached = root / "table-10000.parquet"
    if cached.is_file():
        return conform(pd.read_parquet(cached))
    table, _, _ = parse_table([write_files(10_000, root)], jobs=jobs)
    table.to_parquet(cached, index=False)
    return table


def tiled(table, n: int):  # type: ignore[no-untyped-def]
    """``n`` rows: copies of ``table`` with new NCT IDs and snapshot names."""
    import numpy as np
    import pandas as pd

    reps = -(-n // len(table))
    out = pd.concat([table] * reps, ignore_index=True).iloc[:n].copy()
    ids = pd.array([f"NCT8{i:07d}" for i in range(n)], dtype="string")
    out["nct_id"] = ids
    out["snapshot"] = pd.array([f"synthetic/{i}.json" for i in np.arange(n)], dtype="string")
    return out


def measure(stage: str, n: int, engine: str, root: Path, jobs: int) -> dict:

    result: dict = {"stage": stage, "n": n, "engine": engine}
    if stage.startswith(("parse", "rules")):  # inputs made before the measurement starts
        folder = write_files(n, root)
        if stage == "parse-warm":  # and the cache primed: missing, or made by other parser code
            from auditor.run.cache import RecordCache

            result["primed"] = RecordCache(root / f"cache-{n}").table([folder], jobs=jobs)[2].parsed > 0
        if stage == "rules-warm":
            from auditor.run.cache import RecordCache

            cache = RecordCache(root / f"rules-cache-{n}")
            primed = cache.table([folder], jobs=jobs, columns=rule_columns(), project=True)[2]
            result["primed"] = primed.parsed > 0
    else:
        base_table(root, jobs)
    with TreeSampler() as tree:
        _measure(result, stage, n, engine, root, jobs)
    result["peak_mb"] = tree.peak_rss / 2**20
    result["cpu"] = tree.cpu_seconds()
    return result


def rule_columns() -> list[str]:
    """The records-table columns the shipped record rules read."""
    from auditor.rules import load_rules
    from auditor.run.check import TableCheck
    from auditor.table import records_table

    return TableCheck(load_rules().scope("record"), AS_OF).columns(list(records_table([]).columns))


def _measure(result: dict, stage: str, n: int, engine: str, root: Path, jobs: int) -> None:
    from auditor.rules import load_rules
    from auditor.run.check import TableCheck, run_pandas

    if stage.startswith("rules"):
        folder = write_files(n, root)
        columns = rule_columns()
        started = time.perf_counter()
        if stage == "rules-parse":
            from auditor.run.parse import parse_table

            table, errors, _ = parse_table([folder], jobs=jobs, columns=columns)
        else:
            from auditor.run.cache import RecordCache

            cache = root / f"rules-cache-{n}"
            if stage == "rules-cold" and cache.exists():
                import shutil

                shutil.rmtree(cache)
            run = RecordCache(cache).table([folder], jobs=jobs, columns=columns, project=True)
            table, errors, stats, _ = run
            result["reparsed"] = stats.parsed
        result["wall"] = time.perf_counter() - started
        result["rows"] = len(table)
        result["errors"] = len(errors)
    elif stage.startswith("parse"):
        folder = write_files(n, root)
        started = time.perf_counter()
        if stage == "parse":
            from auditor.run.parse import parse_table

            table, errors, _ = parse_table([folder], jobs=jobs)
        else:  # parse-cold / parse-warm through the cache
            from auditor.run.cache import RecordCache

            cache = root / f"cache-{n}"
            if stage == "parse-cold" and cache.exists():
                import shutil

                shutil.rmtree(cache)
            table, errors, stats, _ = RecordCache(cache).table([folder], jobs=jobs)
            result["reparsed"] = stats.parsed
        result["wall"] = time.perf_counter() - started
        result["rows"] = len(table)
        result["errors"] = len(errors)
    else:
        table = tiled(base_table(root, jobs), n)
        check = TableCheck(load_rules().scope("record"), AS_OF)
        if engine == "pandas":
            run_pandas(table.head(500), check)  # imports and first-call costs, outside the timing
            started = time.perf_counter()
            findings = run_pandas(table, check)
            check_wall = time.perf_counter() - started
        else:
            findings, check_wall, result["startup"] = dask_check(table, check, jobs)
        result["rows"] = len(table)
        result["findings"] = len(findings)
        if stage == "check":
            result["wall"] = check_wall
        else:
            from auditor.atomic import atomic_write
            from auditor.reports.findings import REPORTERS

            started = time.perf_counter()
            out = Path(tempfile.mkdtemp(dir=root))
            atomic_write(out / "findings.json", REPORTERS["json"](findings))
            atomic_write(out / "findings.csv", REPORTERS["csv"](findings))
            result["wall"] = time.perf_counter() - started


def dask_check(table, check, workers: int):  # type: ignore[no-untyped-def]
    """The Dask engine on a ``LocalCluster`` of ``workers`` processes started beforehand, so the
    check's wall time does not include the cluster's start (reported apart). Returns the
    findings, the check's wall time and the start-up time."""
    from dask.distributed import Client, LocalCluster

    from auditor.run.check import run_dask

    started = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(workers)
        # Warm the workers (imports, first call) on a small table: part of the start-up.
        run_dask(table.head(500), check, scheduler=cluster.scheduler_address, npartitions=workers)
        startup = time.perf_counter() - started
        started = time.perf_counter()
        findings = run_dask(table, check, scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - started
    return findings, wall, startup


# --- the driver ----------------------------------------------------------------------------------


def run_child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def e2e(n: int, root: Path, jobs: int, warm_runs: int = 1) -> None:
    """``audit check`` over ``n`` files with the cache: cold, then ``warm_runs`` times warm
    (the wall time of a warm run moves by a second or two on a machine whose memory is full of
    cached files: most of the spread is the kernel reclaiming memory)."""
    folder = write_files(n, root)
    cache = root / f"e2e-cache-{n}"
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    print(f"end to end: audit check {n:,} files --jobs {jobs} --cache (all record rules, JSON report)")
    print(f"{'run':<6} {'wall s':>8} {'records/s':>10} {'cpu s':>8} {'peak MB':>9}")
    for label in ("cold", *["warm"] * warm_runs):
        command = [
            sys.executable, "-c", "import sys; from auditor.cli import main; sys.exit(main(sys.argv[1:]))",
            "check", str(folder), "--jobs", str(jobs), "--cache", str(cache), "--as-of", AS_OF.isoformat(),
            "--format", "json", "--output", str(root / f"e2e-{label}.json"), "--fail-on", "error",
        ]  # fmt: skip
        started = time.perf_counter()
        with TreeSampler() as tree:
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        peak = tree.peak_rss / 2**20
        note = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        print(
            f"{label:<6} {wall:>8.1f} {n / wall:>10,.0f} {tree.cpu_seconds():>8.1f} {peak:>9,.0f}"
            f"   exit {proc.returncode}: {note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--engines", default="pandas,dask")
    parser.add_argument(
        "--stages", default="parse,parse-cold,parse-warm,rules-parse,rules-cold,rules-warm,check,report"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "auditor-scale"))
    parser.add_argument("--e2e", type=int, help="run audit check end to end over N files, cold then warm")
    parser.add_argument("--warm-runs", type=int, default=1, help="with --e2e: how many warm runs")
    parser.add_argument("--one", nargs=4, metavar=("STAGE", "N", "ENGINE", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    if args.one:
        stage, n, engine, jobs = args.one
        print(json.dumps(measure(stage, int(n), engine, root, int(jobs))))
        return
    if args.e2e:
        e2e(args.e2e, root, args.jobs, args.warm_runs)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    stages = args.stages.split(",")
    print(f"scale bench: {os.cpu_count()} CPUs, --jobs {args.jobs}, work dir {root}")
    for n in sizes:  # generate outside the timings
        if any(s.startswith(("parse", "rules")) for s in stages):
            write_files(n, root)
    base_table(root, args.jobs)
    rows: list[dict] = []
    header = (
        f"{'stage':<11} {'engine':<7} {'records':>8} {'wall s':>8} {'records/s':>10} {'cpu s':>8} "
        f"{'peak MB':>8} {'cost/rec x':>10}"
    )
    print(header)
    print("-" * len(header))
    for stage in stages:
        for engine in engines if stage in ("check", "report") else ["procs"]:
            first_cost = None
            for n in sizes:
                r = run_child([stage, str(n), engine, str(args.jobs)])
                if "error" in r:
                    print(f"{stage:<11} {engine:<7} {n:>8} failed: {r['error']}")
                    continue
                cost = r["wall"] / n
                first_cost = first_cost or cost
                rows.append(r)
                extra = f"   (+{r['startup']:.1f} s cluster start)" if "startup" in r else ""
                print(
                    f"{stage:<11} {engine:<7} {n:>8} {r['wall']:>8.2f} {n / r['wall']:>10,.0f} "
                    f"{r['cpu']:>8.1f} {r['peak_mb']:>8,.0f} {cost / first_cost:>10.2f}{extra}",
                    flush=True,
                )
    print("cost/rec x: wall seconds per record relative to the smallest size (1.0 = linear).")
    print("cpu s: user + system CPU of the measurement and its workers (the stage, its warm-up, and")
    print("       for Dask the cluster's start): on a shared machine it is steadier than the wall time.")
    print("peak MB: highest sum of RSS over this process and all its descendants (sampled at 4 Hz).")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
