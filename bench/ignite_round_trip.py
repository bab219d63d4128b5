"""The whole corpus through JSON/XML → record → Ignite text → record: what survives.

For every API v2 JSON and legacy XML study in the corpus, the record is written as an Ignite
page and read back; the fields must equal :func:`auditor.ignite_writer.expected_after_round_trip`
(the writer's order, line breaks as ``\\n``). Prints how many records are lossless, how many
had carriage returns normalised, and each lossy record with :func:`ambiguous_lines`' reasons.
The test suite runs the same check on a 1,500-record sample. JSON studies with results are also
written as a study page plus one page per results module (``write_ignite_pages``) and read back
merged: the rows "module pages lossless/lossy" (tests/test_ignite_modules.py checks every one).

Run: ``python bench/ignite_round_trip.py [CORPUS_DIR]``
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("AUDITOR_SHARED", REPO.parent / "shared")) / "corpus" / "raw"


def main(argv: list[str] | None = None) -> int:
    from auditor.errors import InputError
    from auditor.ignite_writer import (
        RESULTS_MODULES,
        ambiguous_lines,
        expected_after_round_trip,
        module_of,
        pages_ambiguities,
        write_ignite_text,
    )
    from auditor.readers import read_paths
    from auditor.readers.ignite_text import read_ignite_text
    from auditor.records import Record, SourceFormat

    args = sys.argv[1:] if argv is None else argv
    corpus = Path(args[0]) if args else DEFAULT_CORPUS
    if not corpus.is_dir():
        print(f"corpus not found: {corpus}", file=sys.stderr)
        return 2

    def key(fields: object) -> list[tuple[object, ...]]:
        return [(f.section, f.label, f.key, f.raw, f.type, f.value) for f in fields]  # type: ignore[attr-defined]

    counts: Counter[str] = Counter()
    lossy: list[tuple[str, list[str]]] = []
    read_seconds = round_trip_seconds = 0.0
    text_bytes = 0
    start = time.process_time()
    for item in read_paths([corpus]):
        read_seconds += time.process_time() - start
        if isinstance(item, InputError) or item.source.format not in (
            SourceFormat.CTGOV_JSON,
            SourceFormat.CTGOV_XML,
        ):
            counts["input errors and other formats (skipped)"] += 1
            start = time.process_time()
            continue
        begin = time.process_time()
        counts[f"records ({item.source.format})"] += 1
        text = write_ignite_text(item).encode("utf-8")
        text_bytes += len(text)
        [back] = read_ignite_text(text, "round-trip.txt")
        assert isinstance(back, Record)
        wanted = expected_after_round_trip(item)
        if any("\r" in f.raw for f in item.fields):
            counts["records with \\r in a value (written as \\n)"] += 1
        if key(back.fields) == key(wanted) and back.nct_id == item.nct_id and not back.truncated:
            counts["lossless"] += 1
        else:
            counts["lossy"] += 1
            lossy.append((item.source.path, ambiguous_lines(item)))
        if any(module_of(f) in RESULTS_MODULES for f in item.fields):
            reasons = pages_ambiguities(item)
            counts["module pages lossless" if not reasons else "module pages lossy"] += 1
            lossy.extend((f"{item.source.path} (module pages)", [r]) for r in reasons[:3])
        round_trip_seconds += time.process_time() - begin
        start = time.process_time()

    print(f"corpus: {corpus}")
    print(f"{'what':48} {'count':>8}")
    for name, count in sorted(counts.items()):
        print(f"{name:48} {count:8d}")
    print(f"{'CPU seconds reading the corpus':48} {read_seconds:8.1f}")
    print(f"{'CPU seconds writing + reading back':48} {round_trip_seconds:8.1f}")
    print(f"{'Ignite text written (MB)':48} {text_bytes / 1e6:8.1f}")
    print(f"{'max RSS (MB)':48} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f}")
    for path, reasons in lossy:
        print(f"lossy: {path}")
        for reason in reasons:
            print(f"    {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
