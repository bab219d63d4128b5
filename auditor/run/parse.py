"""The worker: a chunk of inputs → records-table rows (and, for the nightly report, findings and
summaries), the same code on every executor.

Why this shape:

* **Workers get names, not bytes, and send back table rows, not records.** The parent only
  lists the inputs (:func:`auditor.inputs.list_inputs`: a ``stat``, no read); a worker reads its
  files, parses them and turns the records into records-table rows before anything crosses a
  process boundary. A chunk of rows pickles to a few kilobytes per record; a ``Record`` with its
  hundreds of ``Field`` objects would cost more to send than to parse. Archive members are the
  exception: the parent reads them (one archive stream) and sends their bytes.
* **Ignite pages given by name go back whole.** Module pages are merged with the study page of
  the same snapshot found anywhere in the run, so the parent merges them at the end
  (:meth:`ParseRun.finish`), as :func:`auditor.readers.read_paths` does; Ignite exports are
  small, the registry at scale is JSON/XML. A stored snapshot is complete: its pages are merged
  in the worker. Ignite fields keep their line numbers (:attr:`ParsedChunk.lines`), so findings
  can point at them.
* **Only what is asked.** A :class:`ParseJob` names the registry keys and list fields to build
  (the ones the rules and the report read) and, when every one can be built without the full reader
  (:func:`auditor.readers.projection.plan`), plain JSON/XML is read by projection, several times
  faster (the rows are the full reader's, ``tests/test_projection.py``). The ``problems`` column
  (a count over *every* leaf) cannot be projected, so asking for it turns the projection off.
* **Checked where parsed** (the nightly report): with ``job.check`` the worker runs the rules on
  its chunk and sends back findings and one small summary per record instead of rows, so memory
  stays flat however many studies there are.
* **Never raises for bad input**: every error is returned beside the rows of the good inputs,
  as plain data (exceptions with keyword-only arguments do not unpickle).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from auditor.check import FieldLines, field_lines
from auditor.errors import AuditorError, InputError, StoreError
from auditor.findings import Finding
from auditor.inputs import InputUnit, list_inputs, read_unit
from auditor.list_fields import list_registry
from auditor.readers import IGNITE_FORMATS, read_bytes
from auditor.readers.ignite_text import merge_module_pages
from auditor.readers.projection import plan, project
from auditor.records import Record, is_valid_nct_id
from auditor.run.executor import Executor, SequentialExecutor, get_executor, paused_gc
from auditor.staleness import RecordSummary, summarize
from auditor.store import Store, read_snapshot
from auditor.table import META_COLUMNS, base_column, field_types, records_table

if TYPE_CHECKING:
    import pandas as pd

#: Inputs per task: large enough that the per-task overhead (pickling, scheduling) is noise,
#: small enough that a chunk's rows stay a few megabytes.
DEFAULT_CHUNK_SIZE = 256
#: A chunk carrying archive bytes is closed early once it holds this much.
MAX_CHUNK_BYTES = 32 * 1024 * 1024
#: The first chunks of a run hold ``chunk_size`` inputs; from this many on, a run is large and
#: its chunks hold ``CHUNK_GROWTH`` times more: each chunk costs a frame built in the worker
#: and unpickled in the parent (a tenth of a cold registry-sized run at 256 inputs a chunk),
#: while a small run still gets enough chunks to keep every worker busy.
RAMP_CHUNKS = 8
CHUNK_GROWTH = 4

TableCheck = Callable[["pd.DataFrame"], list[Finding]]


class ErrorLine(NamedTuple):
    """An :class:`InputError` as plain data, to cross a process boundary."""

    message: str
    path: str | None
    line: int | None

    @classmethod
    def of(cls, error: AuditorError) -> ErrorLine:
        return cls(error.message, error.path, error.line)

    def error(self) -> InputError:
        return InputError(self.message, path=self.path, line=self.line)


@dataclass(frozen=True, slots=True)
class ParseJob:
    """What every task of a run needs besides its inputs (pickled once per task).

    ``keys``: build the columns of only these registry keys (``None``: every key); ``columns``:
    keep only these columns of the rows; ``project``: read plain JSON/XML by projection (only
    ``keys``); ``check``: run the rules on each chunk in the worker and send back findings and
    record summaries instead of rows (the nightly report)."""

    keys: frozenset[str] | None = None
    columns: tuple[str, ...] | None = None
    project: bool = False
    check: TableCheck | None = None


def job_for_columns(columns: Sequence[str] | None, *, project: bool) -> ParseJob:
    """The job that builds ``columns`` of the records table, by projection when ``project`` and
    every one of them allows it."""
    if columns is None:
        return ParseJob()
    known = field_types().keys() | list_registry().keys()
    keys = {base_column(name) for name in columns if name not in META_COLUMNS}
    if not keys <= known:
        return ParseJob(columns=tuple(columns))  # a column the full table may have: build it all
    projectable = project and "problems" not in columns and plan(frozenset(keys)) is not None
    return ParseJob(keys=frozenset(keys), columns=tuple(columns), project=projectable)


@dataclass(frozen=True, slots=True)
class UnitResult:
    """What became of one input: its content hash, how many rows it gave (in its chunk's
    frame, in unit order), the errors it raised, and whether its rows may be cached."""

    name: str
    size: int
    mtime_ns: int
    sha256: str
    rows: int
    errors: tuple[ErrorLine, ...] = ()
    unchanged: bool = False
    cacheable: bool = True


@dataclass(slots=True)
class ParsedChunk:
    """One task's output: the rows of its inputs (``None`` when checked in the worker), what
    happened to each input, Ignite pages to merge in the parent, where Ignite fields were
    written, and — for a checking job — findings and record summaries."""

    frame: pd.DataFrame | None
    units: list[UnitResult]
    ignite: list[Record] = field(default_factory=list)
    lines: FieldLines = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    summaries: list[RecordSummary] = field(default_factory=list)

    def errors(self) -> list[InputError]:
        return [e.error() for u in self.units for e in u.errors]


def rows_of(records: Sequence[Record], job: ParseJob) -> pd.DataFrame:
    """The records-table rows of ``records``: the job's keys, narrowed to its columns."""
    frame = records_table(records, keys=job.keys)
    return frame if job.columns is None else frame[list(job.columns)]


# --- the worker ------------------------------------------------------------------------------


def parse_units(units: Sequence[InputUnit], job: ParseJob) -> ParsedChunk:
    """Parse one chunk (in a worker, or in this process): inputs → rows (module docstring).

    Top-level so that it pickles by reference. Never raises for bad input."""
    with paused_gc():
        results: list[UnitResult] = []
        records: list[Record] = []
        ignite: list[Record] = []
        for unit in units:
            results.append(_parse_unit(unit, job, records, ignite))
        return _finish_chunk(results, records, ignite, job)


def _parse_unit(unit: InputUnit, job: ParseJob, records: list[Record], ignite: list[Record]) -> UnitResult:
    """Parse one input into ``records`` (whole ones) or ``ignite`` (pages to merge later)."""
    try:
        data = read_unit(unit)
    except AuditorError as exc:
        return _failed(unit, "", exc)
    digest = hashlib.sha256(data).hexdigest()
    size = len(data)
    if unit.known_sha256 is not None and digest == unit.known_sha256:
        return UnitResult(unit.name, size, unit.mtime_ns, digest, 0, unchanged=True)
    if job.project and job.keys is not None:
        projected = project(data, unit.name, job.keys, sha256=digest)
        if projected is not None:
            records.extend(projected)
            return UnitResult(unit.name, size, unit.mtime_ns, digest, len(projected))
    if unit.stored_sha256 is not None:  # a stored snapshot is one whole record, its pages merged
        try:
            records.append(read_snapshot(data, unit.name))
        except AuditorError as exc:
            return _failed(unit, digest, exc, size)
        return UnitResult(unit.name, size, unit.mtime_ns, digest, 1)
    try:
        parsed = read_bytes(data, unit.name)
    except InputError as exc:
        return _failed(unit, digest, exc, size)
    errors = tuple(ErrorLine.of(p) for p in parsed if isinstance(p, InputError))
    good = [p for p in parsed if isinstance(p, Record)]
    if any(r.source.format in IGNITE_FORMATS for r in good):  # pages given by name: merged in the parent
        ignite.extend(good)
        return UnitResult(unit.name, size, unit.mtime_ns, digest, 0, errors, cacheable=False)
    records.extend(good)
    return UnitResult(unit.name, size, unit.mtime_ns, digest, len(good), errors)


def _finish_chunk(
    results: list[UnitResult], records: list[Record], ignite: list[Record], job: ParseJob
) -> ParsedChunk:
    lines = field_lines(records)
    if job.check is None:
        frame = rows_of(records, job) if records else None
        return ParsedChunk(frame, results, ignite, lines)
    findings = job.check(rows_of(records, job)) if records else []
    return ParsedChunk(None, results, ignite, lines, findings, [summarize(r) for r in records])


def _failed(unit: InputUnit, digest: str, error: AuditorError, size: int | None = None) -> UnitResult:
    return UnitResult(
        unit.name,
        unit.size if size is None else size,
        unit.mtime_ns,
        digest,
        0,
        (ErrorLine.of(error),),
        # An unreadable file has no content hash to key a cache entry on.
        cacheable=bool(digest),
    )


def store_units(store_path: str | Path, as_of: date | None = None) -> list[InputUnit]:
    """The latest snapshot file of every study in a store (with ``as_of``: the latest captured
    on or before that day, :meth:`auditor.store.Store.summary`), with the hash its index expects
    (:func:`auditor.inputs.read_unit` refuses a file that no longer matches it)."""
    with Store(store_path) as store:
        entries = [entry for _, _, entry in store.summary(as_of)]
    units: list[InputUnit] = []
    root = str(Path(store_path))  # normalised once; a Path per snapshot cost ~10 s at 500,000
    for entry in entries:
        parts = entry.path.split("/")
        if len(parts) != 2 or not is_valid_nct_id(parts[0]) or parts[1] in ("", ".", ".."):
            raise StoreError(f"index names an unexpected path {entry.path!r}", path=Path(store_path))
        path = os.path.join(root, parts[0], parts[1])
        try:  # the cache reuses rows by size and mtime; a file that cannot be stat-ed is read
            st = os.stat(path)
            size, mtime_ns = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime_ns = -1, -1
        units.append(InputUnit(path, path, None, size, mtime_ns, stored_sha256=entry.sha256))
    return units


# --- chunks and executors --------------------------------------------------------------------


def chunk_limit(emitted: int, chunk_size: int) -> int:
    """How many inputs the chunk after ``emitted`` chunks holds."""
    return chunk_size if emitted < RAMP_CHUNKS else chunk_size * CHUNK_GROWTH


def chunked(units: Iterable[InputUnit], chunk_size: int) -> Iterator[list[InputUnit]]:
    """Groups of ``chunk_size`` inputs (more once the run is large, see :func:`chunk_limit`),
    closed early when archive bytes pile up."""
    chunk: list[InputUnit] = []
    held = 0
    emitted = 0
    for unit in units:
        chunk.append(unit)
        held += len(unit.data) if unit.data is not None else 0
        if len(chunk) >= chunk_limit(emitted, chunk_size) or held >= MAX_CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
            emitted += 1
    if chunk:
        yield chunk


def executor_for_run(
    units: Iterator[InputUnit],
    *,
    chunk_size: int,
    engine: str = "pandas",
    jobs: int | None = None,
    scheduler: str | None = None,
) -> tuple[Executor, Iterator[InputUnit]]:
    """The executor for a run over ``units`` and the same units again: worker processes only
    when there is more than one chunk of work (or they were asked for with ``jobs``) — starting
    a pool and importing the readers in it costs more than parsing a few files."""
    head: list[InputUnit] = []
    held = 0  # archive bytes in ``head``: a zip bomb's members are not all read before work starts
    for unit in units:
        head.append(unit)
        held += len(unit.data) if unit.data is not None else 0
        if len(head) > chunk_size or held >= MAX_CHUNK_BYTES:
            break
    again = _chain(head, units)
    if engine == "pandas" and jobs is None and len(head) <= chunk_size and held < MAX_CHUNK_BYTES:
        return SequentialExecutor(), again
    return get_executor(engine, jobs=jobs, scheduler=scheduler), again


def _chain(head: list[InputUnit], rest: Iterator[InputUnit]) -> Iterator[InputUnit]:
    yield from head
    yield from rest


def parse_chunks(
    units: Iterable[InputUnit], job: ParseJob, executor: Executor, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[ParsedChunk]:
    """Parsed chunks of ``units`` in input order, on ``executor``."""
    tasks = chunked(units, chunk_size)
    return executor.map(ParseTask(job), tasks, weight=chunk_bytes)


def chunk_bytes(units: Sequence[InputUnit]) -> int:
    """The archive bytes a chunk carries (an executor's ``weight``: what in flight costs)."""
    return sum(len(unit.data) for unit in units if unit.data is not None)


@dataclass(frozen=True, slots=True)
class ParseTask:
    """``parse_units(units, job)`` as a picklable callable of one argument (what an executor maps)."""

    job: ParseJob

    def __call__(self, units: Sequence[InputUnit]) -> ParsedChunk:
        return parse_units(units, self.job)


@dataclass(slots=True)
class ParseRun:
    """Collects a stream of chunks into one records table, keeping Ignite pages, lines, and the
    errors in input order (those of the listing where they were met among the inputs)."""

    job: ParseJob = field(default_factory=ParseJob)
    frames: list[pd.DataFrame] = field(default_factory=list)
    ignite: list[Record] = field(default_factory=list)
    lines: FieldLines = field(default_factory=dict)
    #: ``(input position, 0 for a listing error / 1 for a parse error, error)``
    placed: list[tuple[int, int, InputError]] = field(default_factory=list)
    parsed: int = 0

    def listing_error(self, error: InputError, listed: int) -> None:
        """An input that could not be listed, met after ``listed`` inputs were."""
        self.placed.append((listed, 0, error))

    def add(self, chunk: ParsedChunk) -> None:
        """Keep the chunk's rows, its errors, its Ignite pages and lines."""
        if chunk.frame is not None and len(chunk.frame):
            self.frames.append(chunk.frame)
        for result in chunk.units:
            self.placed.extend((self.parsed, 1, e.error()) for e in result.errors)
            self.parsed += 1
        self.ignite.extend(chunk.ignite)
        self.lines.update(chunk.lines)

    @property
    def errors(self) -> list[InputError]:
        return [error for _, _, error in sorted(self.placed, key=lambda p: (p[0], p[1]))]

    def finish(self) -> pd.DataFrame:
        """The records table: every chunk's rows in order, then the merged Ignite snapshots."""
        import pandas as pd  # heavy: imported when a table is built

        frames = list(self.frames)
        if self.ignite:
            merged = list(merge_module_pages(self.ignite))
            self.lines.update(field_lines(merged))
            frames.append(rows_of(merged, self.job))
        if not frames:
            return rows_of([], self.job)
        return pd.concat(frames, ignore_index=True)


class ParsedTable(NamedTuple):
    """A records table, the input errors met, and where its Ignite fields were written."""

    table: pd.DataFrame
    errors: list[InputError]
    lines: FieldLines


def parse_table(
    paths: Iterable[str | Path],
    *,
    jobs: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    columns: Sequence[str] | None = None,
    project: bool = True,
    units: Iterable[InputUnit] = (),
) -> ParsedTable:
    """The records table of every input under ``paths`` (then of ``units``, e.g. a store's
    latest snapshots), the errors met, and where Ignite fields were written: the parallel
    equivalent of ``records_table(read_paths(paths))``.

    ``columns``: keep only these columns (those the rules read), so the table held in memory is
    a fraction of the full one; when they can all be projected (and ``project``), JSON/XML inputs
    are read by projection, several times faster."""
    job = job_for_columns(columns, project=project)
    run = ParseRun(job)

    def listed() -> Iterator[InputUnit]:
        count = 0
        for item in itertools.chain(list_inputs(paths), units):
            if isinstance(item, InputError):
                run.listing_error(item, count)
            else:
                count += 1
                yield item

    executor, all_units = executor_for_run(listed(), chunk_size=chunk_size, jobs=jobs)
    for chunk in parse_chunks(all_units, job, executor, chunk_size=chunk_size):
        run.add(chunk)
    table = run.finish()
    return ParsedTable(table, run.errors, run.lines)


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ErrorLine",
    "ParseJob",
    "ParseRun",
    "ParseTask",
    "ParsedChunk",
    "ParsedTable",
    "UnitResult",
    "chunk_bytes",
    "chunk_limit",
    "chunked",
    "executor_for_run",
    "job_for_columns",
    "parse_chunks",
    "parse_table",
    "parse_units",
    "rows_of",
    "store_units",
]
