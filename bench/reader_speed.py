"""How fast the ClinicalTrials.gov JSON and XML readers walk the real corpus.

All inputs under the corpus are first read into memory (archives unpacked in place, as
``read_paths`` does), then each reader is timed on its own inputs, so the table shows reader
time without disk and gzip. The last row is the whole ``read_paths`` walk as
``tests/test_corpus_parse.py`` does it (disk, gzip, all readers).

Run: ``python bench/reader_speed.py [CORPUS_DIR]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("AUDITOR_SHARED", REPO.parent / "shared")) / "corpus" / "raw"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2

    from auditor.errors import InputError
    from auditor.inputs import read_inputs
    from auditor.readers import read_paths, sniff
    from auditor.readers.ctgov_json import read_ctgov_json
    from auditor.readers.ctgov_xml import read_ctgov_xml
    from auditor.records import SourceFormat

    inputs: dict[SourceFormat, list[tuple[str, bytes]]] = {
        SourceFormat.CTGOV_JSON: [],
        SourceFormat.CTGOV_XML: [],
    }
    for item in read_inputs([args.corpus]):
        if isinstance(item, InputError):
            continue
        fmt = sniff(item[1])
        if fmt in inputs:
            inputs[fmt].append(item)

    rows: list[tuple[str, int, int, int, float]] = []
    for fmt, items in inputs.items():
        records = fields = 0
        size = sum(len(data) for _, data in items)
        start = time.perf_counter()
        for name, data in items:
            try:
                out = (
                    read_ctgov_json(data, name)
                    if fmt is SourceFormat.CTGOV_JSON
                    else [read_ctgov_xml(data, name)]
                )
            except InputError:
                continue
            for record in out:
                if not isinstance(record, InputError):
                    records += 1
                    fields += len(record.fields)
        rows.append((str(fmt), records, fields, size, time.perf_counter() - start))

    start = time.perf_counter()
    records = fields = 0
    for record in read_paths([args.corpus]):
        if not isinstance(record, InputError):
            records += 1
            fields += len(record.fields)
    rows.append(("read_paths (all, from disk)", records, fields, 0, time.perf_counter() - start))

    header = ("reader", "records", "fields", "MB", "seconds", "records/s", "fields/s")
    print("{:<28} {:>8} {:>10} {:>7} {:>8} {:>10} {:>10}".format(*header))
    for name, n_records, n_fields, size, seconds in rows:
        mb = f"{size / 1e6:.1f}" if size else "-"
        print(
            f"{name:<28} {n_records:>8} {n_fields:>10} {mb:>7} {seconds:>8.2f} "
            f"{n_records / seconds:>10.0f} {n_fields / seconds:>10.0f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak_mb:.0f} MB; CPU {time.process_time():.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
