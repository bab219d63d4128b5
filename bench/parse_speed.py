"""How fast the Ignite text reader is, next to ``json.loads`` on the same studies.

Every API v2 JSON study in the corpus is read with the JSON reader and written as an Ignite
page in memory; then the text reader reads all the pages and ``json.loads`` reads all the
studies' JSON (each study on its own, compact, as ``json.dumps`` writes it). The ratio of their
MB/s is the issue's target (text reader at least 0.5x ``json.loads``).

Also timed: the JSON reader (``json.loads`` plus building typed records, the like-for-like
comparison); the text reader followed by making every record's ``Field`` objects (a record keeps
its fields as columns and makes them on first access to ``record.fields``, so this is what a
consumer that walks every field pays in all); and a bare line scan (decode, hash, split lines,
find each line's label and look it up: the floor of any line reader).

Every row is timed twice, CPU time, best of ``--repeat``: as is, and with the garbage collector
off (building many objects that stay alive triggers full collections whose cost grows with the
live heap, so the first figure depends on what else the process holds; the second is the work
itself).

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
    from auditor.inputs import read_inputs

    out: list[bytes] = []
    for item in read_inputs([corpus]):
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


def best_time(run: Callable[[], Any], repeat: int, *, collect: bool = True) -> float:
    """Best CPU time of ``repeat`` runs: CPU, not wall clock, so a busy machine skews it less.

    ``collect=False`` times with the garbage collector off: the pure cost of the work, without
    the collections that the objects it keeps alive trigger (which grow with everything else
    the process holds, so they are reported apart)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        if not collect:
            gc.disable()
        try:
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    return best


def peak_bytes(run: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    kept = run()  # keep the results alive: the peak includes what the reader builds
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return peak


Row = tuple[str, int, int, float, float, int]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2

    from auditor.readers import decode_text, sha256
    from auditor.readers.ctgov_json import read_ctgov_json
    from auditor.readers.ignite_text import MAX_LABEL, classify_label, read_ignite_text, split_lines

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

    def text_reader_fields() -> list[Any]:
        records = [read_ignite_text(data, "s.txt") for data in pages]
        for found in records:
            for record in found:
                record.fields  # noqa: B018 - made on first access
        return records

    def scan_only() -> list[Any]:
        """The least any line reader does: decode, hash, split lines, find each line's label,
        look it up, slice its value; no state, no typing, no record."""
        out = []
        for data in pages:
            text, _ = decode_text(data, "s.txt")
            sha256(data)
            starts = []
            for line in split_lines(text):
                colon = line.find(":", 0, MAX_LABEL + 1)
                if colon > 0 and line[0].isalpha() and classify_label(line[:colon]) is not None:
                    starts.append(line[colon + 2 :])
            out.append(starts)
        return out

    rows: list[Row] = []

    def measure(name: str, run: Callable[[], Any], count: int, size: int) -> None:
        seconds = best_time(run, args.repeat)
        no_gc = best_time(run, args.repeat, collect=False)
        rows.append((name, count, size, seconds, no_gc, peak_bytes(run)))

    json_size, text_size = sum(len(d) for d in studies), sum(len(d) for d in pages)
    # The readers first, with nothing else alive: every object kept alive makes the garbage
    # collector's full collections slower for whatever is timed next.
    measure("json.loads (JSON)", loads, len(studies), json_size)
    measure("JSON reader -> records", json_reader, len(studies), json_size)
    measure("Ignite text reader -> records", text_reader, len(pages), text_size)
    measure("  + every Field object made", text_reader_fields, len(pages), text_size)
    measure("  line scan only (floor)", scan_only, len(pages), text_size)
    n_fields = sum(len(r.columns) for data in pages for r in read_ignite_text(data, "s.txt"))  # type: ignore[union-attr]

    print(f"corpus: {args.corpus}  studies: {len(studies)}  CPU seconds, best of {args.repeat}")
    print(
        f"{'reader':32} {'records':>8} {'MB':>6} {'seconds':>8} {'records/s':>10} {'MB/s':>7} "
        f"{'s (gc off)':>10} {'MB/s':>7} {'peak MB':>8}"
    )
    for name, count, size, seconds, no_gc, peak in rows:
        print(
            f"{name:32} {count:8d} {size / 1e6:6.1f} {seconds:8.3f} {count / seconds:10.0f} "
            f"{size / 1e6 / seconds:7.1f} {no_gc:10.3f} {size / 1e6 / no_gc:7.1f} {peak / 1e6:8.1f}"
        )
    loads_row, reader_row, text_row, fields_row, _ = rows

    def ratio(row: Row, column: int) -> float:
        return (row[2] / row[column]) / (loads_row[2] / loads_row[column])

    print(
        f"text reader / json.loads: {ratio(text_row, 3):.2f}x in MB/s (target 0.5x), "
        f"{(text_row[1] / text_row[3]) / (loads_row[1] / loads_row[3]):.2f}x in records/s; "
        f"with the garbage collector off {ratio(text_row, 4):.2f}x in MB/s"
    )
    print(
        f"text reader with every Field object made / json.loads: {ratio(fields_row, 3):.2f}x in MB/s "
        f"(gc off {ratio(fields_row, 4):.2f}x)"
    )
    print(f"text reader / JSON reader: {(reader_row[3] / text_row[3]):.2f}x in records/s")
    print(
        f"{n_fields} fields ({n_fields / len(pages):.0f} a study); per field, us: json.loads "
        f"{loads_row[3] * 1e6 / n_fields:.2f}, text reader {text_row[3] * 1e6 / n_fields:.2f}"
    )
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
