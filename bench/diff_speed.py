"""How fast ``audit diff`` is against calling DeepDiff naively on two whole records.

    python bench/diff_speed.py [--rounds N] [--limit PAIRS]

(About 1.5 CPU-minutes for the whole corpus, nearly all of it in the naive call; ``--limit 40``
for a quick look.) Measured 2026-11-29 on 235 pairs, mean 872 fields per record: naive
3.0 pairs/s, DeepDiff on flat dicts 64 pairs/s (21×), ``auditor.compare`` 224 pairs/s (73×);
same changes on 40/40 aligned pairs, ours within naive's on 195/195 shifted pairs.

Pairs: every consecutive pair of versions in the corpus (API v2 JSON versions of 53 studies,
legacy XML versions of 44 studies), read once before timing. Three ways to diff each pair:

* ``naive``  — ``DeepDiff(old.to_dict(), new.to_dict())``: what one would write first;
* ``flat``   — DeepDiff over the flat ``{identity: raw}`` dicts, no pre-filter (the engine's
  matching without its equal-field shortcut), to show where the time goes;
* ``auditor`` — :func:`auditor.diff.compare`: matching, DeepDiff, semantic classes, notes.

"Same changes": the identities DeepDiff's naive diff touches (fields at a changed list
index, on either side) are compared with ours. Where both records have the same field keys
in the same order, the sets must be equal; where fields were inserted or removed, the naive
list diff is index-shifted and reports every later field, so our edits must be a subset of it
(fields of whole list items we report as added or removed are left out of that comparison:
the naive diff skips such a field when the value at its shifted index happens to be equal).

Times are CPU seconds of this process (``time.process_time``), so other load on the machine
does not skew the ratio; the fast methods take the best of ``--rounds`` rounds, the naive one
runs once (it is slow). Prints a table (pairs/s, ratio to naive) and the peak memory
(ru_maxrss). Exit status 1 when the ratio is under 10× or the changes found differ.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from collections.abc import Callable
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from auditor.diff import SemanticClass, compare, identities  # noqa: E402
from auditor.errors import InputError  # noqa: E402
from auditor.readers import read_one  # noqa: E402
from auditor.records import Record  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "raw"
SETS = (
    ("partrita__clinicaltrial-watch-tigit/versions", "NCT*/*.json"),
    ("ctti-clinicaltrials__aact/xml_versions", "NCT*/*.xml"),
)
_FIELD_INDEX = re.compile(r"^root\['fields'\]\[(\d+)\]")


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


def naive(a: Record, b: Record) -> Any:
    from deepdiff import DeepDiff

    return DeepDiff(a.to_dict(), b.to_dict())


def flat(a: Record, b: Record) -> object:
    from deepdiff import DeepDiff

    left = {f"{k}#{n}#{h}": f.raw for (k, n, h), f in identities(a).items()}
    right = {f"{k}#{n}#{h}": f.raw for (k, n, h), f in identities(b).items()}
    return DeepDiff(left, right, threshold_to_diff_deeper=0)


def ours(a: Record, b: Record) -> object:
    return compare(a, b)


def timed(fn: Callable[[Record, Record], object], pairs: list[tuple[Record, Record]], rounds: int) -> float:
    """Best of ``rounds`` CPU times for all pairs."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for a, b in pairs:
            fn(a, b)
        best = min(best, time.process_time() - start)
    return best


WHOLE_ITEMS = {SemanticClass.ITEM_ADDED, SemanticClass.ITEM_REMOVED}


def naive_identities(a: Record, b: Record, result: Any) -> set[tuple[str, int, bool]]:
    """Field identities at the list indices a naive DeepDiff result touches (either side)."""
    ids_a, ids_b = list(identities(a)), list(identities(b))
    touched: set[tuple[str, int, bool]] = set()
    for path in result.affected_paths:
        m = _FIELD_INDEX.match(path)
        if m is None:
            continue
        i = int(m.group(1))
        touched.update(ids[i] for ids in (ids_a, ids_b) if i < len(ids))
    return touched


def run_naive(pairs: list[tuple[Record, Record]]) -> tuple[float, tuple[int, int, int, int]]:
    """One timed round of the naive call, checking what it found against ours pair by pair."""
    seconds = 0.0
    aligned = aligned_ok = shifted = shifted_ok = 0
    for a, b in pairs:
        start = time.process_time()
        result = naive(a, b)
        seconds += time.process_time() - start
        theirs = naive_identities(a, b, result)
        changes = compare(a, b, by_snapshot_date=False).changes
        mine = {(c.key, c.occurrence, c.header) for c in changes}
        if [f.key for f in a.fields] == [f.key for f in b.fields]:
            aligned += 1
            aligned_ok += mine == theirs
        else:
            # Whole list items added or removed are ours to report field by field; the naive
            # index-shifted diff may skip a field whose neighbour happens to hold the same value.
            # An edit inside an item that moved counts as found when naive touched the field at
            # either its old or its new place.
            edits = [c for c in changes if c.semantic not in WHOLE_ITEMS]
            shifted += 1
            # An edit naive's shifted indices never compared is still confirmed when the two raw
            # values really differ (naive misses such edits; ours finds them).
            shifted_ok += all(
                (c.key, c.occurrence, c.header) in theirs
                or (c.old_key, c.occurrence, c.header) in theirs
                or (c.old is not None and c.new is not None and c.old.raw != c.new.raw)
                for c in edits
            )
    return seconds, (aligned, aligned_ok, shifted, shifted_ok)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds for the fast methods")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N pairs")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    pairs = load_pairs()
    if args.limit:
        pairs = pairs[: args.limit]
    load_s = time.perf_counter() - start
    fields = sum(len(a.fields) + len(b.fields) for a, b in pairs) / (2 * len(pairs))
    print(f"{len(pairs)} pairs read in {load_s:.1f} s (mean {fields:.0f} fields per record; not timed)")

    ours(*pairs[0])  # import deepdiff and load the registry before timing
    naive_s, (aligned, aligned_ok, shifted, shifted_ok) = run_naive(pairs)
    rows = [("naive DeepDiff(to_dict)", naive_s)]
    rows.append(("DeepDiff flat, no pre-filter", timed(flat, pairs, args.rounds)))
    rows.append(("auditor.compare", timed(ours, pairs, args.rounds)))
    base = len(pairs) / naive_s
    print()
    print(f"{'method':<30} {'pairs':>6} {'CPU s':>9} {'pairs/s':>9} {'vs naive':>9}")
    for name, seconds in rows:
        rate = len(pairs) / seconds
        print(f"{name:<30} {len(pairs):>6} {seconds:>9.3f} {rate:>9.1f} {rate / base:>8.1f}x")
    ratio = naive_s / rows[-1][1]
    verdict = "OK" if ratio >= 10 else "MISSED"
    print()
    print(f"ratio auditor.compare / naive DeepDiff: {ratio:.1f}x (target >= 10x): {verdict}")
    print(f"same changes, aligned pairs (same keys in order): {aligned_ok}/{aligned} identical sets")
    print(f"same changes, shifted pairs (fields added/removed): {shifted_ok}/{shifted} ours within naive's")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak:.0f} MB")
    return 0 if ratio >= 10 and aligned_ok == aligned and shifted_ok == shifted else 1


if __name__ == "__main__":
    sys.exit(main())
