"""How fast ``audit diff`` is: one pair as a user runs it, and many pairs in one process.

    python bench/diff_speed.py [--runs N] [--rounds N]

* **One pair** — wall time of ``audit diff SEED EDITED`` as a subprocess (process start,
  imports, reading both files, the diff, the text report), for the seed Ignite page and a copy
  with its status edited: best of ``--runs`` (default 15), with the median and the worst, since
  the machine is shared. Target: under 0.3 s on an idle 2-core machine.
* **Batch** — every consecutive pair of versions in the corpus (API v2 JSON versions of 53
  studies, legacy XML versions of 44; read once, not timed) through
  :func:`auditor.diff.batch` in this process: pairs per second, best of ``--rounds``
  (default 3), CPU time. Target: at least 100 pairs/s (a night of 6,000 changed records in a
  minute).

Prints both figures beside their targets and the peak memory (ru_maxrss). Exit status 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import groupby, pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from auditor.diff import batch  # noqa: E402
from auditor.errors import InputError  # noqa: E402
from auditor.readers import read_one  # noqa: E402
from auditor.records import Record  # noqa: E402

SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "raw"
SEED = SHARED / "seed" / "NCT03765957.txt"
SETS = (
    ("partrita__clinicaltrial-watch-tigit/versions", "NCT*/*.json"),
    ("ctti-clinicaltrials__aact/xml_versions", "NCT*/*.xml"),
)
ONE_PAIR_TARGET_S = 0.3
BATCH_TARGET_PAIRS_PER_S = 100.0


def one_pair(runs: int) -> list[float]:
    """Wall seconds of ``audit diff`` on the seed and an edited copy, one per run."""
    audit = shutil.which("audit", path=str(Path(sys.executable).parent)) or "audit"
    with tempfile.TemporaryDirectory() as tmp:
        edited = Path(tmp) / "edited.txt"
        edited.write_text(SEED.read_text(encoding="utf-8").replace("Status: UNKNOWN", "Status: RECRUITING"))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([audit, "diff", str(SEED), str(edited)], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def load_pairs() -> list[tuple[Record, Record]]:
    pairs: list[tuple[Record, Record]] = []
    for folder, pattern in SETS:
        files = sorted((CORPUS / folder).glob(pattern))
        for _, group in groupby(files, key=lambda p: p.parent):
            records = []
            for path in group:
                try:
                    records.append(read_one(path))
                except InputError:
                    continue
            pairs += list(pairwise(records))
    return pairs


def batch_rate(pairs: list[tuple[Record, Record]], rounds: int) -> float:
    """Best CPU seconds of one batch over all pairs."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        result = batch(pairs)
        best = min(best, time.process_time() - start)
        assert len(result.studies) == len(pairs)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="one-pair runs (best, median, worst)")
    parser.add_argument("--rounds", type=int, default=3, help="batch rounds (best)")
    args = parser.parse_args()
    if not CORPUS.is_dir() or not SEED.is_file():
        print(f"corpus or seed not found under {SHARED}", file=sys.stderr)
        return 2
    times = one_pair(args.runs)
    best, median, worst = min(times), statistics.median(times), max(times)
    ok_one = best < ONE_PAIR_TARGET_S
    print(
        f"one pair, audit diff seed vs edited (wall, process start included, {len(times)} runs): "
        f"best {best:.3f} s, median {median:.3f} s, worst {worst:.3f} s "
        f"(target < {ONE_PAIR_TARGET_S} s): {'OK' if ok_one else 'MISSED'}"
    )
    start = time.perf_counter()
    pairs = load_pairs()
    print(f"{len(pairs)} corpus version pairs read in {time.perf_counter() - start:.1f} s (not timed)")
    seconds = batch_rate(pairs, args.rounds)
    rate = len(pairs) / seconds
    ok_batch = rate >= BATCH_TARGET_PAIRS_PER_S
    verdict = "OK" if ok_batch else "MISSED"
    print(
        f"batch, auditor.diff.batch over all pairs (CPU, best of {args.rounds}): {seconds:.2f} s, "
        f"{rate:.0f} pairs/s (target >= {BATCH_TARGET_PAIRS_PER_S:.0f} pairs/s): {verdict}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak:.0f} MB")
    return 0 if ok_one and ok_batch else 1


if __name__ == "__main__":
    sys.exit(main())
