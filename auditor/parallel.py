"""Parse many inputs on several processes into records-table chunks, streaming, in input order.

Why this shape:

* **Workers get names, not bytes, and send back table rows, not records.** The parent only
  lists the inputs (a ``stat``, no read); a worker reads its files, parses them and turns the
  records into records-table rows (:func:`auditor.table.records_table`) before anything crosses
  a process boundary. A chunk of rows pickles to a few kilobytes per record; a ``Record`` with
  its hundreds of ``Field`` objects would cost more to send than to parse. Archive members are
  the exception: the parent reads them (one archive stream) and sends their bytes.
* **Bounded memory.** At most ``2 × jobs`` chunks are in flight; the caller consumes each
  :class:`ParsedChunk` as it arrives (concatenates it, writes it to the cache, checks it). The
  parent never holds more than the listing of names and what the caller keeps.
* **Same result as the sequential reader.** Chunks come back in submission order, so rows and
  errors are in the order :func:`auditor.readers.read_paths` gives them. Ignite pages are the
  one exception there too: module pages are merged with the study page of the same snapshot
  found anywhere in the run, so workers send Ignite ``Record`` objects back and the parent merges
  them at the end (:meth:`ParseRun.finish`), as ``read_paths`` does. Ignite exports are small;
  the registry at scale is JSON/XML.
* ``jobs=1`` parses in this process (no pool): tests, debugging, tiny inputs.
* **Projection.** When the caller wants only some columns (``columns=``, the ones the rules
  read) and every one of them can be built without the full reader (:func:`projection_for`), a
  worker builds just those fields from each JSON/XML input with
  :func:`auditor.staleness_fast.project` (C parsers, the readers' own typing) and falls back to
  the full reader, file by file, for anything unusual (a DOCTYPE, a repeated path, Ignite
  text, an error…). The rows are the ones the full reader's table gives for those columns
  (``tests/test_projection.py``); the ``problems`` column (a count over *every* leaf) cannot be
  projected, so asking for it turns the projection off.

Worker processes are started with ``forkserver`` where available: forking a parent that already
runs pyarrow or Dask threads can deadlock a child.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError
from auditor.records import Record, SourceFormat
from auditor.slots import slot_setters

if TYPE_CHECKING:
    import pandas as pd

#: Inputs per task: large enough that the per-task overhead (pickling, scheduling) is noise,
#: small enough that a chunk's rows stay a few megabytes.
DEFAULT_CHUNK_SIZE = 256
#: A chunk carrying archive bytes is closed early once it holds this much.
MAX_CHUNK_BYTES = 32 * 1024 * 1024

_IGNITE = (SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE)
_NOTHING = object()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a block (then back as it was).

    Parsing a chunk and checking a registry-sized table make millions of small containers that
    stay alive until the block ends (decoded JSON, rows, findings); the collector walks them
    again and again and frees nothing — 15% of a worker's parse and of a warm run, measured.
    Reference counting still frees everything that is not in a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def default_jobs() -> int:
    """The CPUs this process may use (cgroup/affinity aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class InputUnit:
    """One input to parse: a file on disk (``path``) or an archive member (``data``).

    ``size`` and ``mtime_ns`` come from ``stat`` (``-1`` for archive members); ``expected_sha256``
    is what the cache last saw under this name: a worker that finds the same bytes says so
    instead of parsing again.
    """

    name: str
    path: str | None = None
    data: bytes | None = None
    size: int = -1
    mtime_ns: int = -1
    expected_sha256: str | None = None


_UNIT_FIELDS = ("name", "path", "data", "size", "mtime_ns", "expected_sha256")


def _unit_maker() -> Callable[[str, int, int], InputUnit]:
    """``InputUnit(name=path, path=path, size=size, mtime_ns=mtime_ns)``'s equal, twice as fast
    (:mod:`auditor.slots`): the listing makes one per file, 560,000 a night."""
    setters = slot_setters(InputUnit, _UNIT_FIELDS)
    if setters is None:
        return lambda path, size, mtime_ns: InputUnit(path, path, None, size, mtime_ns)  # pragma: no cover
    s_name, s_path, s_data, s_size, s_mtime, s_sha = setters
    new = object.__new__

    def make(path: str, size: int, mtime_ns: int) -> InputUnit:
        unit = new(InputUnit)
        s_name(unit, path)
        s_path(unit, path)
        s_data(unit, None)
        s_size(unit, size)
        s_mtime(unit, mtime_ns)
        s_sha(unit, None)
        return unit

    return make


_file_unit = _unit_maker()


@dataclass(frozen=True, slots=True)
class UnitResult:
    """What became of one input: its content hash, how many rows it gave (in its chunk's
    frame, in unit order), the errors it raised, and whether its rows may be cached."""

    name: str
    size: int
    mtime_ns: int
    sha256: str
    rows: int
    errors: tuple[tuple[str, str | None, int | None], ...] = ()
    unchanged: bool = False
    cacheable: bool = True


@dataclass(slots=True)
class ParsedChunk:
    """One task's output: records-table rows of its inputs plus what happened to each input."""

    frame: pd.DataFrame | None
    units: list[UnitResult]
    ignite: list[Record] = field(default_factory=list)

    def errors(self) -> list[InputError]:
        return [error_from_tuple(e) for u in self.units for e in u.errors]


@dataclass(frozen=True, slots=True)
class Projection:
    """Build only ``columns`` (the columns of registry ``keys`` plus meta columns) per record."""

    keys: frozenset[str]
    columns: tuple[str, ...]


#: Meta columns a projected record has exactly as the full JSON/XML readers give them
#: (``problems`` counts the typing problems of every leaf, so only the full reader knows it).
_PROJECTABLE_META = ("nct_id", "snapshot", "source_format", "ignite_created", "ignite_modified", "truncated")


def projection_for(columns: Sequence[str] | None) -> Projection | None:
    """The projection that builds ``columns``, or ``None`` when one of them needs the full
    reader (``problems``, an unknown column, a key under a repeatable element or a list)."""
    if columns is None:
        return None
    from auditor.staleness_fast import plan
    from auditor.table import base_column, field_types

    types = field_types()
    keys: set[str] = set()
    for name in columns:
        if name in _PROJECTABLE_META:
            continue
        base = base_column(name)
        if base not in types:
            return None
        keys.add(base)
    if plan(frozenset(keys)) is None:
        return None
    return Projection(frozenset(keys), tuple(columns))


def error_to_tuple(exc: InputError) -> tuple[str, str | None, int | None]:
    """An error as plain data: exceptions with keyword-only arguments do not unpickle."""
    return (exc.message, exc.path, exc.line)


def error_from_tuple(item: tuple[str, str | None, int | None]) -> InputError:
    return InputError(item[0], path=item[1], line=item[2])


# --- listing ---------------------------------------------------------------------------------


def list_inputs(paths: Iterable[str | Path]) -> Iterator[InputUnit | InputError]:
    """Every input under ``paths`` in the order :func:`auditor.readers.iter_inputs` reads them,
    without reading files (archive members are read: there is no other way to name them)."""
    from auditor.readers import ARCHIVE_SUFFIXES, RECORD_SUFFIXES, iter_inputs

    def archive(path: Path) -> Iterator[InputUnit | InputError]:
        for item in iter_inputs([path]):
            if isinstance(item, InputError):
                yield item
            else:
                yield InputUnit(name=item[0], data=item[1], size=len(item[1]))

    def file(path: str) -> InputUnit | InputError:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return InputError("no such file or directory", path=path)
        except OSError as exc:
            return InputError(f"cannot read: {exc.strerror or exc}", path=path)
        return InputUnit(name=path, path=path, size=st.st_size, mtime_ns=st.st_mtime_ns)

    suffixes = RECORD_SUFFIXES + ARCHIVE_SUFFIXES

    def folder(directory: str) -> Iterator[InputUnit | InputError]:
        """The folder's inputs, sorted by name at every level — the order of sorting the paths
        by their parts, which is the readers' order — with the ``stat`` the scan already made
        (plain strings, not Path objects: the listing of 100,000 files is part of a warm run).
        Like ``os.walk``: an unreadable folder is skipped, a link to a folder is not followed."""
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    yield from folder(entry.path)
                continue
            if not name.endswith(suffixes):
                continue
            item = entry.path
            if item.endswith(ARCHIVE_SUFFIXES):
                yield from archive(Path(item))
                continue
            try:
                st = entry.stat()
            except OSError:
                yield file(item)  # the error, worded as for a named file
                continue
            yield _file_unit(item, st.st_size, st.st_mtime_ns)

    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            root = str(path)
            if root == ".":
                for item in folder(root):
                    if isinstance(item, InputUnit) and item.path is not None:
                        name = item.name.removeprefix("./")
                        item = InputUnit(name=name, path=name, size=item.size, mtime_ns=item.mtime_ns)
                    yield item
            else:
                yield from folder(root)
        elif path.name.endswith(ARCHIVE_SUFFIXES):
            yield from archive(path)
        else:
            yield file(str(path))


# --- the worker ------------------------------------------------------------------------------


def parse_units(units: Sequence[InputUnit], projection: Projection | None = None) -> ParsedChunk:
    """Parse one chunk (runs in a worker process): inputs → records-table rows.

    Top-level so that it pickles by reference. Never raises for bad input: every
    :class:`InputError` is returned beside the rows of the inputs that were good. With a
    ``projection`` the rows have only its columns (see the module docstring).
    """
    with paused_gc():
        return _parse_units(units, projection)


def _parse_units(units: Sequence[InputUnit], projection: Projection | None) -> ParsedChunk:

    from auditor.readers import MAX_INPUT_BYTES, read_bytes
    from auditor.staleness_fast import project
    from auditor.table import records_table

    results: list[UnitResult] = []
    records: list[Record] = []
    ignite: list[Record] = []
    for unit in units:
        data = unit.data
        if data is None:
            if unit.size > MAX_INPUT_BYTES:
                error = InputError(f"file too large ({unit.size} bytes)", path=unit.name)
                results.append(_failed(unit, "", error))
                continue
            try:
                data = Path(unit.path or unit.name).read_bytes()
            except FileNotFoundError:
                results.append(_failed(unit, "", InputError("no such file or directory", path=unit.name)))
                continue
            except OSError as exc:
                error = InputError(f"cannot read: {exc.strerror or exc}", path=unit.name)
                results.append(_failed(unit, "", error))
                continue
        digest = hashlib.sha256(data).hexdigest()
        size = len(data)
        if unit.expected_sha256 is not None and digest == unit.expected_sha256:
            results.append(UnitResult(unit.name, size, unit.mtime_ns, digest, 0, unchanged=True))
            continue
        if projection is not None:
            projected = project(data, unit.name, projection.keys, sha256=digest)
            if projected is not None:
                records.extend(projected)
                results.append(UnitResult(unit.name, size, unit.mtime_ns, digest, len(projected)))
                continue
        try:
            parsed = read_bytes(data, unit.name)
        except InputError as exc:
            results.append(_failed(unit, digest, exc, size))
            continue
        errors = tuple(error_to_tuple(p) for p in parsed if isinstance(p, InputError))
        good = [p for p in parsed if isinstance(p, Record)]
        if any(r.source.format in _IGNITE for r in good):
            ignite.extend(good)
            results.append(UnitResult(unit.name, size, unit.mtime_ns, digest, 0, errors, cacheable=False))
            continue
        records.extend(good)
        results.append(UnitResult(unit.name, size, unit.mtime_ns, digest, len(good), errors))
    frame: pd.DataFrame | None = None
    if records and projection is not None:
        frame = records_table(records, keys=projection.keys)[list(projection.columns)]
    elif records:
        frame = records_table(records)
    return ParsedChunk(frame=frame, units=results, ignite=ignite)


def _failed(unit: InputUnit, digest: str, error: InputError, size: int | None = None) -> UnitResult:
    return UnitResult(
        unit.name,
        unit.size if size is None else size,
        unit.mtime_ns,
        digest,
        0,
        (error_to_tuple(error),),
        # An unreadable file has no content hash to key a cache entry on.
        cacheable=bool(digest),
    )


# --- the pool --------------------------------------------------------------------------------


#: The first chunks of a run hold ``chunk_size`` inputs; from this many on, a run is large and
#: its chunks hold ``CHUNK_GROWTH`` times more: each chunk costs a frame built in the worker
#: and unpickled in the parent (a tenth of a cold registry-sized run at 256 inputs a chunk),
#: while a small run still gets enough chunks to keep every worker busy.
RAMP_CHUNKS = 8
CHUNK_GROWTH = 4


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


def _pool(jobs: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    ctx: multiprocessing.context.BaseContext
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # Workers import the readers and pandas once, in the server, not once per worker.
        ctx.set_forkserver_preload(
            ["auditor.parallel", "auditor.readers", "auditor.table", "auditor.staleness_fast"]
        )
    else:
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_watch_parent, initargs=(os.getpid(),)
    )


def _watch_parent(parent: int) -> None:
    """Exit this worker when the process that started the pool is gone (killed with SIGTERM or
    SIGKILL, it cannot shut its pool down), instead of waiting forever for work."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="auditor-parent-watch", daemon=True).start()


def map_ordered(func: Callable[[Any], Any], tasks: Iterable[Any], *, jobs: int) -> Iterator[Any]:
    """``map(func, tasks)`` on ``jobs`` processes, lazily, in order, at most ``2 × jobs`` in flight."""
    if jobs <= 1:
        yield from map(func, tasks)
        return
    remaining = iter(tasks)
    first = next(remaining, _NOTHING)
    if first is _NOTHING:  # nothing to do (a warm cache): no pool to start
        return
    with _pool(jobs) as pool:
        window: deque[Future[Any]] = deque()
        try:
            for task in itertools.chain([first], remaining):
                window.append(pool.submit(func, task))
                if len(window) >= 2 * jobs:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for unfinished in window:
                unfinished.cancel()


def parse_chunks(
    units: Iterable[InputUnit],
    *,
    jobs: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    projection: Projection | None = None,
) -> Iterator[ParsedChunk]:
    """Parsed chunks of ``units`` in input order (see the module docstring for the guarantees)."""
    func = parse_units if projection is None else partial(parse_units, projection=projection)
    return map_ordered(func, chunked(units, chunk_size), jobs=jobs or default_jobs())


@dataclass(slots=True)
class ParseRun:
    """Collects a stream of chunks into one records table, keeping errors and Ignite pages."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    ignite: list[Record] = field(default_factory=list)
    columns: list[str] | None = None

    def add(self, chunk: ParsedChunk, frame: pd.DataFrame | None = None) -> None:
        """Keep ``frame`` (default: the chunk's own rows), its errors and its Ignite records."""
        kept = chunk.frame if frame is None else frame
        if kept is not None and len(kept):
            self.frames.append(kept if self.columns is None else kept[self.columns])
        self.errors.extend(chunk.errors())
        self.ignite.extend(chunk.ignite)

    def finish(self) -> pd.DataFrame:
        """The records table: every chunk's rows in order, then the merged Ignite snapshots."""
        import pandas as pd

        from auditor.table import records_table

        frames = list(self.frames)
        if self.ignite:
            from auditor.readers.ignite_text import merge_module_pages

            frames.append(self._narrow(records_table(merge_module_pages(self.ignite))))
        if not frames:
            return self._narrow(records_table([]))
        return pd.concat(frames, ignore_index=True)

    def _narrow(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.columns is None else frame[self.columns]


def parse_table(
    paths: Iterable[str | Path],
    *,
    jobs: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    columns: Sequence[str] | None = None,
    project: bool = True,
) -> tuple[pd.DataFrame, list[InputError]]:
    """The records table of every input under ``paths`` and the errors met, parsed on ``jobs``
    processes: the parallel equivalent of ``records_table(read_paths(paths))``.

    ``columns``: keep only these columns of each chunk as it arrives (those the rules read), so
    the table held in memory is a third of the full one; when they can all be projected (and
    ``project``), JSON/XML inputs are read by projection, several times faster."""
    run = ParseRun(columns=None if columns is None else list(columns))
    projection = projection_for(columns) if project else None
    listing_errors: list[InputError] = []

    def units() -> Iterator[InputUnit]:
        for item in list_inputs(paths):
            if isinstance(item, InputError):
                listing_errors.append(item)
            else:
                yield item

    for chunk in parse_chunks(units(), jobs=jobs, chunk_size=chunk_size, projection=projection):
        run.add(chunk)
    table = run.finish()
    return table, listing_errors + run.errors
