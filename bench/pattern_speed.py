"""How fast rule patterns (``matches``) run over the corpus table: RE2 over the whole column
(:func:`auditor.rules.patterns.full_match`, what the rules use) against Python's ``re`` value by
value (what they used, and what a backtracking pattern hangs).

    python bench/pattern_speed.py [CORPUS_DIR] [--repeat N]

Target: RE2 no slower than ``re`` on the shipped patterns (it replaced ``re`` to bound the
worst case, not to be faster). Prints seconds per pattern per million values and peak memory.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from auditor.errors import InputError  # noqa: E402
from auditor.readers import read_paths  # noqa: E402
from auditor.rules.patterns import full_match  # noqa: E402
from auditor.table import records_table  # noqa: E402

PATTERNS = {
    "brief_title": r".*(\.\.\.|…)\s*",  # brief-title-cut-off
    "nct_id": r"NCT\d{8}",  # nct-id-malformed
    "brief_summary": r'.*[.!?)\]"\'>:;*。]\s*',  # brief-summary-cut-off
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus" / "raw"))
    parser.add_argument("--repeat", type=int, default=20, help="the column repeated N times")
    args = parser.parse_args()
    import pandas as pd

    records = [r for r in read_paths([args.corpus]) if not isinstance(r, InputError)]
    table = records_table(records)
    print(f"{len(table)} records, each column repeated {args.repeat} times")
    for column, pattern in PATTERNS.items():
        values = pd.concat([table[column]] * args.repeat, ignore_index=True)
        start = time.perf_counter()
        by_re2 = full_match(values, pattern)
        re2_seconds = time.perf_counter() - start
        compiled = re.compile(pattern, re.DOTALL)
        start = time.perf_counter()
        by_re = [isinstance(v, str) and compiled.fullmatch(v) is not None for v in values.tolist()]
        re_seconds = time.perf_counter() - start
        differ = int((by_re2.to_numpy() != pd.Series(by_re).to_numpy()).sum())
        per_million = 1e6 / len(values)
        print(
            f"{column:<14} {len(values):>8} values  RE2 {re2_seconds * per_million:6.2f} s/M  "
            f"re {re_seconds * per_million:6.2f} s/M  ({differ} values judged differently)"
        )
    print(
        "target: RE2 no slower than re;",
        f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
    )


if __name__ == "__main__":
    main()
