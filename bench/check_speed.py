"""How fast ``audit check`` runs over the corpus with every shipped rule, and its peak memory.

    python bench/check_speed.py [CORPUS_DIR] [--scale N]

Phases, each timed on its own: reading the snapshots (sequential readers), building the records
table (with the list columns the list rules read: outcomes, phases …), running the single-record
rules (the compiled pandera checks), building the pair table of consecutive snapshots of the same
study (sorted by snapshot name) and running the pair and history rules, then the record rules
again over the table repeated ``--scale`` times (default 10) to show how checking alone scales.
Peak memory is the process's ``ru_maxrss``; CPU seconds (``process_time``) are
shown beside wall time because a shared machine's load inflates the latter.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from auditor.check import check_table  # noqa: E402
from auditor.errors import InputError  # noqa: E402
from auditor.readers import read_paths  # noqa: E402
from auditor.rules import load_rules  # noqa: E402
from auditor.table import pairs_table, records_table  # noqa: E402

AS_OF = date(2026, 1, 5)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus" / "raw"))
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    import pandas as pd

    rows: list[tuple[str, int, float, float, float]] = []
    cpu = [time.process_time()]

    def phase(name: str, count: int, seconds: float) -> None:
        now = time.process_time()
        rows.append((name, count, seconds, now - cpu[0], peak_mb()))
        cpu[0] = now

    rules = load_rules()
    start = time.perf_counter()
    records = [r for r in read_paths([args.corpus]) if not isinstance(r, InputError)]
    phase("read snapshots", len(records), time.perf_counter() - start)

    start = time.perf_counter()
    table = records_table(records)
    phase("records table", len(table), time.perf_counter() - start)

    record_rules = rules.scope("record")
    start = time.perf_counter()
    findings = check_table(table, record_rules, as_of=AS_OF)
    phase(f"check {len(record_rules)} record rules", len(table), time.perf_counter() - start)

    by_study: dict[str, list] = defaultdict(list)
    for record in records:
        by_study[record.nct_id].append(record)
    pairs = []
    for snapshots in by_study.values():
        snapshots.sort(key=lambda r: r.source.path)
        pairs.extend(itertools.pairwise(snapshots))
    start = time.perf_counter()
    pair_frame = pairs_table(pairs)
    pair_rules = rules.scope("pair", "history")
    pair_findings = check_table(pair_frame, pair_rules, as_of=AS_OF)
    phase(f"pair table + {len(pair_rules)} pair/history rules", len(pairs), time.perf_counter() - start)

    big = pd.concat([table] * args.scale, ignore_index=True)
    start = time.perf_counter()
    big_findings = check_table(big, record_rules, as_of=AS_OF)
    phase(f"check record rules, table x{args.scale}", len(big), time.perf_counter() - start)

    from auditor.rules.compile import lists_read

    print(f"corpus: {args.corpus}")
    listed = [rule.id for rule in record_rules if lists_read([rule])]
    print(f"record rules reading lists: {len(listed)} ({', '.join(listed)})")
    print(
        f"findings: {len(findings)} record, {len(pair_findings)} pair, {len(big_findings)} at x{args.scale}"
    )
    header = ("phase", "rows", "wall s", "rows/s", "cpu s", "rows/cpu s", "peak MB")
    print("{:<34} {:>7} {:>8} {:>8} {:>8} {:>10} {:>8}".format(*header))
    for name, count, seconds, cpu_seconds, mb in rows:
        rate = count / seconds if seconds else float("inf")
        cpu_rate = count / cpu_seconds if cpu_seconds else float("inf")
        cells = (
            name,
            count,
            f"{seconds:.2f}",
            f"{rate:.0f}",
            f"{cpu_seconds:.2f}",
            f"{cpu_rate:.0f}",
            f"{mb:.0f}",
        )
        print("{:<34} {:>7} {:>8} {:>8} {:>8} {:>10} {:>8}".format(*cells))


if __name__ == "__main__":
    main()
