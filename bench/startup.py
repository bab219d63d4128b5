"""Start-up time of the ``audit`` commands people run most, against their targets.

    python bench/startup.py [--runs 15] [--audit PATH]

Runs each command ``--runs`` times as a fresh process (the installed ``audit`` beside this
Python, or ``--audit``) and prints, per command: the best and the median wall time, the spread
(max − min), the CPU seconds of the best run (user + system, from the child's rusage: the steadier
figure on a shared machine, where waiting for a core inflates wall time), the peak memory, and the
target. The machine's load average is printed first: figures taken under load are not the idle
figures the targets are set for. Best of N is the usual start-up figure (the runs in between
are the noise of the machine, not of the program).

Targets (issue 15, an idle 2-core machine): ``audit --help``, ``audit rules list`` and
``audit rules explain`` under 0.3 s wall, a one-file ``audit check`` under 0.6 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "2026-11-24" / "NCT09900001.txt"

COMMANDS: tuple[tuple[str, list[str], float], ...] = (
    ("audit --help", ["--help"], 0.3),
    ("audit rules list", ["rules", "list"], 0.3),
    ("audit rules explain unknown-status-stale", ["rules", "explain", "unknown-status-stale"], 0.3),
    ("audit check ONE_FILE --as-of 2026-11-24", ["check", str(EXAMPLE), "--as-of", "2026-11-24"], 0.6),
)


def run_once(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak MB of one run of ``command`` (the child's own rusage)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--audit", help="the audit executable [default: the one beside this Python]")
    options = parser.parse_args()
    audit = options.audit or shutil.which("audit", path=str(Path(sys.executable).parent)) or "audit"
    load = os.getloadavg()
    print(f"{audit}; {os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'command':<44} {'best':>6} {'median':>7} {'spread':>7} {'CPU':>6} {'peak MB':>8} {'target':>7}")
    for name, args, target in COMMANDS:
        run_once([audit, *args])  # warm the page cache
        samples = [run_once([audit, *args]) for _ in range(options.runs)]
        walls = [s[0] for s in samples]
        best = min(samples)
        verdict = "met" if best[0] <= target else "NOT met"
        print(
            f"{name:<44} {best[0]:6.3f} {statistics.median(walls):7.3f} {max(walls) - min(walls):7.3f}"
            f" {best[1]:6.3f} {max(s[2] for s in samples):8.1f} {target:6.1f}s {verdict}"
        )


if __name__ == "__main__":
    main()
