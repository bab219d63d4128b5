"""Fuzz the input readers from Ignite text pages, bounded in time; report executions and crashes.

Every input is given to :func:`auditor.readers.read_bytes` as a ``.txt`` file (then, like
``read_paths``, module pages are merged). A *crash* is any exception other than
:class:`~auditor.errors.InputError`, a record that no UTF-8 output could hold (``to_dict`` →
JSON → UTF-8 fails), or an error message that is not one line. Crashing inputs are saved under
``--crashes`` (default ``bench/fuzz_crashes/``) to replay with ``--replay FILE``.

Engines: ``atheris`` (coverage-guided libFuzzer, when the package is installed:
``pip install atheris``) or ``hypothesis`` (random structured mutations of the seeds, always
available). ``--engine auto`` takes atheris when it can be imported. Seeds: a good page, the
small files of ``tests/hostile/``, the Ignite module pages of ``tests/fixtures/ignite/modules/``
and the seed record of ``../shared`` when present.

Run: ``python bench/fuzz_text_reader.py [--seconds 60] [--engine auto|atheris|hypothesis]``
Exit code 0 when no crash was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "hostile"
MODULE_PAGES = REPO / "tests" / "fixtures" / "ignite" / "modules"
SEED = Path(os.environ.get("AUDITOR_SHARED", REPO.parent / "shared")) / "seed" / "NCT03765957.txt"


READER_MODULES = (
    "auditor.readers",
    "auditor.readers.ignite_text",
    "auditor.readers.ignite_labels",
    "auditor.readers.ignite_body",
    "auditor.readers.ignite_pages",
    "auditor.readers.ignite_merge",
    "auditor.readers.ctgov_json",
    "auditor.readers.ctgov_classic",
    "auditor.readers.ctgov_xml",
    "auditor.readers.typing",
    "auditor.values",
    "auditor.fields",
    "auditor.records",
)


def seeds() -> list[bytes]:
    """Ignite pages first (the reader under test), then every other small hostile input."""
    found = [p for p in [HOSTILE / "good" / "good.txt", SEED] if p.is_file()]
    found += sorted(MODULE_PAGES.glob("*.txt"))
    found += sorted(p for p in HOSTILE.glob("*") if p.is_file() and p.suffix != ".yaml")
    return [p.read_bytes() for p in found if p.stat().st_size < 100_000]


class Target:
    """The function under test, counting executions and distinct crashes."""

    def __init__(self, crashes_dir: Path) -> None:
        from auditor.errors import InputError
        from auditor.readers import read_bytes
        from auditor.readers.ignite_text import merge_module_pages
        from auditor.records import Record, SourceFormat

        self.input_error = InputError
        self.read_bytes = read_bytes
        self.merge = merge_module_pages
        self.record_type = Record
        self.ignite = (SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE)
        self.crashes_dir = crashes_dir
        self.executions = 0
        self.crashes: dict[str, str] = {}

    def __call__(self, data: bytes) -> None:
        self.executions += 1
        try:
            self.check(data)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            if key not in self.crashes:
                self.crashes_dir.mkdir(parents=True, exist_ok=True)
                name = self.crashes_dir / f"crash-{hashlib.sha256(data).hexdigest()[:16]}.txt"
                name.write_bytes(data)
                self.crashes[key] = str(name)
                print(f"CRASH {key}: {exc!s:.200} (input saved to {name})", file=sys.stderr)

    def check(self, data: bytes) -> None:
        try:
            items = self.read_bytes(data, "fuzz.txt")
        except self.input_error as exc:
            self.check_error(exc)
            return
        records = [r for r in items if isinstance(r, self.record_type)]
        for item in items:
            if isinstance(item, self.input_error):
                self.check_error(item)
        pages = [r for r in records if r.source.format in self.ignite]
        if pages:
            merged = list(self.merge(pages))
            records = [r for r in records if r.source.format not in self.ignite] + [
                r for r in merged if isinstance(r, self.record_type)
            ]
        for record in records:
            json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8")

    def check_error(self, error: Exception) -> None:
        line = error.one_line()  # type: ignore[attr-defined]
        if "\n" in line or "\r" in line:
            raise AssertionError(f"error message is not one line: {line!r}")


def run_atheris(crashes_dir: Path, seconds: float, corpus: list[bytes]) -> Target:
    """libFuzzer over the instrumented readers (instrumented on import, so before any import)."""
    import importlib
    import tempfile

    import atheris

    with atheris.instrument_imports(include=["auditor"]):
        for module in READER_MODULES:  # those read_bytes imports lazily
            importlib.import_module(module)
        target = Target(crashes_dir)
    seed_dir = Path(tempfile.mkdtemp(prefix="fuzz-seeds-"))
    for i, data in enumerate(corpus):
        (seed_dir / f"seed{i:03d}").write_bytes(data)
    start = time.monotonic()

    def one_input(data: bytes) -> None:
        target(data)
        if time.monotonic() - start >= seconds:
            report(target, "atheris", time.monotonic() - start)
            sys.stdout.flush()
            os._exit(1 if target.crashes else 0)  # libFuzzer would exit without our table

    args = [sys.argv[0], f"-max_total_time={int(seconds) + 30}", "-max_len=65536", "-print_final_stats=0"]
    atheris.Setup([*args, str(seed_dir)], one_input)
    atheris.Fuzz()
    return target  # not reached: one_input exits when the time is up


def run_hypothesis(crashes_dir: Path, seconds: float, corpus: list[bytes]) -> Target:
    target = Target(crashes_dir)
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    labels = [
        b"Viewing Study NCT09000001\n",
        b"Ignite Creation Date: ",
        b"Ignite Modification Date: ",
        b"Study NCT ID: ",
        b"Status: ",
        b"Status Verified Date: ",
        b"Brief Title: ",
        b"Detailed Description: ",
        b"Study Overview\n",
        b"NCT ID: NCT",
        b"\r\n",
        b"\r",
        b"\n\n",
        b":",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\x00",
        b"\\ud800",
        b"2020-13",
        b"@ 99:99 PM",
    ]
    edit = st.tuples(
        st.floats(0, 1),
        st.integers(0, 40),
        st.one_of(st.sampled_from(labels), st.binary(max_size=24), st.text(max_size=24).map(str.encode)),
    )

    def mutate(seed: bytes, edits: list[tuple[float, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for where, cut, insert in edits:
            at = int(where * len(data))
            data[at : at + cut] = insert
        return bytes(data)

    inputs = st.builds(mutate, st.sampled_from(corpus), st.lists(edit, max_size=8)) | st.binary(max_size=512)

    @settings(
        max_examples=2000,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(inputs)
    def fuzz(data: bytes) -> None:
        target(data)

    start = time.monotonic()
    while time.monotonic() - start < seconds:
        fuzz()
    report(target, "hypothesis", time.monotonic() - start)
    return target


def report(target: Target, engine: str, elapsed: float) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'engine':<12} {'seconds':>8} {'executions':>11} {'exec/s':>8} {'crashes':>8} {'peak MB':>8}")
    print(
        f"{engine:<12} {elapsed:8.1f} {target.executions:11d} {target.executions / max(elapsed, 1e-9):8.0f}"
        f" {len(target.crashes):8d} {peak_mb:8.0f}"
    )
    for key, path in target.crashes.items():
        print(f"  crash: {key}  ({path})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz (default 60)")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    parser.add_argument("--crashes", type=Path, default=REPO / "bench" / "fuzz_crashes")
    parser.add_argument("--replay", type=Path, help="run one saved input and show its traceback")
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    if args.replay:
        Target(args.crashes).check(args.replay.read_bytes())
        print("no crash")
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    run = run_atheris if engine == "atheris" else run_hypothesis
    target = run(args.crashes, args.seconds, seeds())
    return 1 if target.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
