"""How fast the Ignite text reader is, next to ``json.loads`` on the same studies.

Every API v2 JSON study in the corpus is read with the JSON reader and written as an Ignite
page in memory; then the text reader reads all the pages and ``json.loads`` reads all the
studies' JSON (each study on its own, compact, as ``json.dumps`` writes it). The JSON reader
(``json.loads`` plus building typed records) is timed too, as the like-for-like comparison, and
so is ``make_field`` alone on the text reader's fields: the share of the time spent typing values
and building frozen fields, which any reader pays.

Run: ``python bench/parse_speed.py [CORPUS_DIR] [--repeat N]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("AUDITOR_SHARED", REPO.parent / "shared")) / "corpus" / "raw"


def studies_json(corpus: Path) -> list[bytes]:
    """Each v2 study of the corpus's JSON files as compact JSON bytes, in input order."""
    from auditor.readers import iter_inputs

    out: list[bytes] = []
    for item in iter_inputs([corpus]):
        if isinstance(item, Exception) or not item[0].endswith(".json"):
            continue
        try:
            document = json.loads(item[1])
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get("studies"), list):
            document = document["studies"]
        for study in document if isinstance(document, list) else [document]:
            if isinstance(study, dict) and "protocolSection" in study:
                out.append(json.dumps(study).encode("utf-8"))
    return out


def to_pages(studies: list[bytes]) -> list[bytes]:
    from auditor.ignite_writer import write_ignite_text
    from auditor.readers.ctgov_json import read_ctgov_json
    from auditor.records import Record

    pages = []
    for index, data in enumerate(studies):
        for record in read_ctgov_json(data, f"study{index}.json"):
            if isinstance(record, Record):
                pages.append(write_ignite_text(record).encode("utf-8"))
    return pages


def best_time(run: Callable[[], Any], repeat: int) -> float:
    """Best CPU time of ``repeat`` runs: CPU, not wall clock, so a busy machine skews it less."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def peak_bytes(run: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    kept = run()  # keep the results alive: the peak includes what the reader builds
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2

    from auditor.fields import make_field
    from auditor.readers.ctgov_json import read_ctgov_json
    from auditor.readers.ignite_text import read_ignite_text

    studies = studies_json(args.corpus)
    pages = to_pages(studies)
    if len(pages) != len(studies):
        print(f"note: {len(studies) - len(pages)} studies did not read as records", file=sys.stderr)
    read_ignite_text(pages[0], "warm.txt")  # load the registry outside the timings

    def loads() -> list[Any]:
        return [json.loads(data) for data in studies]

    def json_reader() -> list[Any]:
        return [read_ctgov_json(data, "s.json") for data in studies]

    def text_reader() -> list[Any]:
        return [read_ignite_text(data, "s.txt") for data in pages]

    parsed = [r for data in pages for r in read_ignite_text(data, "s.txt")]
    field_args = [(f.section, f.label, f.raw, f.key, f.line) for r in parsed for f in r.fields]  # type: ignore[union-attr]

    def typing_only() -> list[Any]:
        return [make_field(s, label, raw, key=key, line=line) for s, label, raw, key, line in field_args]

    rows = []
    for name, run, inputs in (
        ("json.loads (JSON)", loads, studies),
        ("JSON reader -> records", json_reader, studies),
        ("Ignite text reader -> records", text_reader, pages),
        ("  of which make_field (all fields)", typing_only, pages),
    ):
        seconds = best_time(run, args.repeat)
        size = sum(len(d) for d in inputs)
        rows.append((name, len(inputs), size, seconds, peak_bytes(run)))

    print(f"corpus: {args.corpus}  studies: {len(studies)}  CPU seconds, best of {args.repeat}")
    print(
        f"{'reader':32} {'records':>8} {'MB':>8} {'seconds':>8} {'records/s':>10} {'MB/s':>8} {'peak MB':>8}"
    )
    for name, count, size, seconds, peak in rows:
        print(
            f"{name:32} {count:8d} {size / 1e6:8.1f} {seconds:8.3f} {count / seconds:10.0f} "
            f"{size / 1e6 / seconds:8.1f} {peak / 1e6:8.1f}"
        )
    loads_row, reader_row, text_row, typing_row = rows
    mb_ratio = (text_row[2] / text_row[3]) / (loads_row[2] / loads_row[3])
    rec_ratio = (text_row[1] / text_row[3]) / (loads_row[1] / loads_row[3])
    print(f"text reader / json.loads: {mb_ratio:.2f}x in MB/s (target 0.5x), {rec_ratio:.2f}x in records/s")
    print(f"text reader / JSON reader: {(reader_row[3] / text_row[3]):.2f}x in records/s")
    share = typing_row[3] / text_row[3]
    print(f"make_field's share of the text reader's time: {share:.0%} ({len(field_args)} fields)")
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
