"""An incremental cache of parsed records-table rows, in Parquet, so a nightly run re-parses only
what changed.

**The cache key.** An entry is an input *name* (the path as walked, or ``archive!member``) with
the ``size``, ``mtime_ns`` and ``sha256`` of the bytes it was parsed from, and the rows they gave.
A run decides per input, cheapest test first:

1. same name, same ``size`` and same ``mtime_ns`` as the entry → reuse the rows without even
   reading the file (listing and ``stat``-ing 100,000 files takes about a second of CPU);
2. otherwise the file is read and hashed; the same ``sha256`` as the entry (a file touched or
   copied but not changed) → reuse the rows;
3. otherwise it is parsed again.

The name is part of the key, not only the content hash, because a row carries its snapshot
name (``snapshot`` column): the same bytes under two names are two snapshots. A file whose
content changed without its size or mtime changing (a clock set back and the same length) is the
one case step 1 misses; ``--cache`` is an optimisation you can drop (delete the folder) to
re-parse everything, and ``verify=True`` (hash every file) closes that gap at the cost of reading
every file.

Bad inputs are cached too (their one-line errors), so a warm run reports exactly what a cold
one reports. Ignite text pages are never cached: a module page is merged with the study page of
the same snapshot found anywhere in the run, so a page's rows depend on other files.

**Invalidation.** The cache records a fingerprint of the code and data that decide what a row
holds (the readers, the record model, typed values, the field registry and the table builder,
hashed from their source bytes). A different fingerprint means an empty cache, never a stale
row.

**Layout.** ``DIR/cache.json`` (the manifest, written atomically last), ``DIR/units-<gen>.parquet``
(one row per input: its key, its errors, and where its rows are — segment, first row, count),
``DIR/rows-<seg>.parquet`` segments (records-table rows, every column). A run appends one
segment with the rows it parsed; when more than half of the stored rows are dead (inputs gone
or changed) the live rows are rewritten as one segment. A run interrupted before the manifest
is replaced leaves the previous cache intact. A run may read only the columns its rules need
(``columns=``): loading the cached rows is a warm run's biggest cost after the check itself.
What a run checks before it trusts these files (one cache's id in every file, row counts,
every input's rows inside their segment), and how runs sharing a cache stay out of each
other's way, is :mod:`auditor.run.cache_files`.

**Projected caches.** ``table(columns=..., project=True)`` (what ``audit check --cache`` uses)
parses new inputs by projection (:func:`auditor.run.parse.job_for_columns`: only the columns the
rules read, several times cheaper than the full reader) and stores only those columns; the
manifest lists them. A later run that asks for a column the cache does not hold treats the cache
as empty and rebuilds it (a rule set reading other fields costs one cold run, never a wrong
row). Without ``project`` the cache keeps every column, so any rule set finds everything.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from auditor.check import FieldLines, field_lines
from auditor.errors import InputError, OutputError
from auditor.inputs import InputUnit, list_inputs
from auditor.readers.ignite_text import merge_module_pages
from auditor.records import Record
from auditor.run.cache_files import (
    MANIFEST,
    UNIT_COLUMNS,
    Manifest,
    check_files,
    conform,
    manifest_generation,
    new_cache_id,
    parser_fingerprint,
    read_manifest,
    remove_stale,
    segment_name,
    units_fit,
    units_name,
    write_lock,
    write_manifest,
    write_parquet,
)
from auditor.run.cache_slots import (
    Cached,
    Entry,
    Failed,
    New,
    Pending,
    Slot,
    UnitRow,
    index_slots,
    read_entries,
    row_positions,
)
from auditor.run.executor import get_executor
from auditor.run.parse import (
    DEFAULT_CHUNK_SIZE,
    ParseJob,
    ParseTask,
    UnitResult,
    chunk_bytes,
    chunked,
    job_for_columns,
    rows_of,
)
from auditor.table import records_table

if TYPE_CHECKING:
    import pandas as pd


@dataclass(slots=True)
class CacheStats:
    """What a run did with each input: reused by ``stat``, reused after hashing, parsed."""

    inputs: int = 0
    reused_by_stat: int = 0
    reused_by_hash: int = 0
    parsed: int = 0
    rows: int = 0
    rows_parsed: int = 0
    compacted: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.inputs} inputs: {self.reused_by_stat} unchanged (stat), "
            f"{self.reused_by_hash} unchanged (hash), {self.parsed} parsed; {self.rows} rows"
        )


class CacheRun(NamedTuple):
    """One :meth:`RecordCache.table` run: the table, the inputs that failed, what was reused,
    and where Ignite fields were written."""

    table: pd.DataFrame
    errors: list[InputError]
    stats: CacheStats
    lines: FieldLines


@dataclass(slots=True)
class _Parsed:
    """The chunks of one run: their frames, Ignite pages to merge, where Ignite fields are."""

    empty: pd.DataFrame
    frames: list[pd.DataFrame] = field(default_factory=list)
    ignite: list[Record] = field(default_factory=list)
    lines: FieldLines = field(default_factory=dict)


class RecordCache:
    """The Parquet cache in ``folder`` (created on first write). Runs may share it: each
    checks that what it reads belongs together, and a run writes only when no other wrote
    since it loaded (:mod:`auditor.run.cache_files`)."""

    def __init__(self, folder: str | Path, *, verify: bool = False) -> None:
        self.folder = Path(folder)
        self.verify = verify
        self.fingerprint = parser_fingerprint()
        self._segments: list[int] = []
        self._entries: dict[str, Entry] = {}
        self._old_rows: pd.DataFrame | None = None
        self._generation = 0
        self._cache_id = new_cache_id()
        self._loaded_generation: int | None = None  # what cache.json named when this run began
        self._columns: list[str] | None = None
        #: the columns the loaded cache's segments hold (``None``: every column)
        self._stored: list[str] | None = None
        self._reading: Future[pd.DataFrame | None] | None = None
        self._ignore = False  # set when the cache turned out unreadable: this run starts cold
        self._writing: Future[None] | None = None
        self._last_stats = CacheStats()

    # -- reading ----------------------------------------------------------------------------

    def _load(self) -> None:
        self._segments, self._entries, self._old_rows, self._stored = [], {}, None, None
        self._reading = None
        self._loaded_generation = manifest_generation(self.folder)
        self._generation = self._loaded_generation or 0
        manifest = None if self._ignore else read_manifest(self.folder, self.fingerprint)
        if manifest is None:
            return
        stored = manifest.columns
        if stored is not None and (self._columns is None or not set(self._columns) <= set(stored)):
            return  # a projected cache without a column this run needs: rebuild it
        units = self._read_units(manifest)
        entries = None if units is None else read_entries(units, manifest)
        if entries is None:
            return
        self._cache_id = manifest.cache_id
        self._segments = list(manifest.segments)
        self._stored = None if stored is None else list(stored)
        # The rows are read on a thread while the inputs are listed and stat-ed (pyarrow lets
        # go of the GIL): on a warm run the two took about the same time, one after the other.
        self._reading = _background(self._read_rows, self._segments)
        self._entries = entries

    def _read_units(self, manifest: Manifest) -> pd.DataFrame | None:
        """The units index, when every file of the cache checks out (else ``None``: cold)."""
        import pandas as pd
        import pyarrow as pa

        if not check_files(self.folder, manifest):
            return None
        try:
            units = pd.read_parquet(self.folder / manifest.units, memory_map=True)
        except (OSError, ValueError, pa.ArrowException):
            return None
        return units if units_fit(units, manifest) else None

    def _read_rows(self, segments: list[int]) -> pd.DataFrame | None:
        import pandas as pd

        # Memory-mapped: the pages come from the OS cache instead of fresh buffers (on a machine
        # whose memory is full of cached files, a 2 GB read spent more time reclaiming memory
        # in the kernel than decoding).
        frames = [
            pd.read_parquet(self._segment_path(s), columns=self._columns, memory_map=True) for s in segments
        ]
        if not frames:
            return None
        return conform(frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))

    def _wait_rows(self) -> bool:
        """Take the rows the background read gave; ``False`` if it failed (a damaged segment, a
        column missing, a file removed by another run's compaction)."""
        import pyarrow as pa

        reading, self._reading = self._reading, None
        if reading is None:
            return True
        try:
            self._old_rows = reading.result()
        except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
            return False
        return True

    def _segment_path(self, segment: int) -> Path:
        return self.folder / segment_name(segment)

    # -- one run ----------------------------------------------------------------------------

    def table(
        self,
        paths: Iterable[str | Path],
        *,
        jobs: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        columns: Sequence[str] | None = None,
        project: bool = False,
        wait: bool = True,
        units: Iterable[InputUnit] = (),
    ) -> CacheRun:
        """The records table of every input under ``paths`` and then of ``units`` (as
        :func:`auditor.run.parse.parse_table` gives it), re-parsing only inputs that changed
        since the cache last saw them; then the cache is updated to this run's inputs.

        ``columns``: return only these columns of the table (those the rules read). Only they
        are read from the cache — a warm run's biggest cost — while the cache itself keeps
        every column, so a run with other rules still finds everything — unless ``project``:
        then new inputs are parsed by projection when the columns allow it, and the cache keeps
        only ``columns`` (see "Projected caches").

        ``wait=False``: return while the cache is still being written (on a thread: pyarrow
        writes without the GIL), so that the caller's check runs meanwhile; the caller must
        then call :meth:`wait`, which raises the write's :class:`OutputError` if it failed."""
        started = time.perf_counter()
        stats = CacheStats()
        self._columns = None if columns is None else list(columns)
        job = job_for_columns(self._columns, project=True) if project else ParseJob()
        if not job.project:
            job = ParseJob()  # parsed in full: the cache keeps every column
        self._load()
        stats.seconds["load"] = time.perf_counter() - started
        units = list(units)
        slots: list[Slot] = []
        parsed = self._parse(paths, units, job, slots, stats, jobs=jobs, chunk_size=chunk_size)
        if not self._wait_rows():  # the cache's rows could not be read after all: start cold
            self._ignore = True
            try:
                return self.table(
                    paths, jobs=jobs, chunk_size=chunk_size, columns=columns, project=project, units=units
                )
            finally:
                self._ignore = False
        assemble_started = time.perf_counter()
        result = self._assemble(slots, parsed, job, stats)
        stats.seconds["assemble"] = time.perf_counter() - assemble_started
        self._last_stats = stats
        slots.clear()  # one tuple per input: freed before the caller's check runs
        if wait or self._writing is None:
            self.wait()
        return result

    def _parse(
        self,
        paths: Iterable[str | Path],
        units: list[InputUnit],
        job: ParseJob,
        slots: list[Slot],
        stats: CacheStats,
        *,
        jobs: int | None,
        chunk_size: int,
    ) -> _Parsed:
        """Parse the inputs the cache cannot answer for, filling one slot per input in order."""
        started = time.perf_counter()
        parsed = _Parsed(empty=rows_of([], job))
        cursor = 0  # the next pending slot to fill
        pending = self._plan(itertools.chain(list_inputs(paths), units), slots, stats)
        listing = chunked(pending, chunk_size)
        for chunk in get_executor(jobs=jobs).map(ParseTask(job), listing, weight=chunk_bytes):
            chunk_index = len(parsed.frames)
            parsed.frames.append(chunk.frame if chunk.frame is not None else parsed.empty)
            parsed.ignite.extend(chunk.ignite)
            parsed.lines.update(chunk.lines)
            offset = 0
            for result in chunk.units:
                while not isinstance(slots[cursor], Pending):
                    cursor += 1
                slots[cursor] = self._resolve(result, chunk_index, offset, stats)
                offset += 0 if result.unchanged else result.rows
                cursor += 1
        stats.seconds["parse"] = time.perf_counter() - started
        return parsed

    def _plan(
        self, listing: Iterable[InputUnit | InputError], slots: list[Slot], stats: CacheStats
    ) -> Iterator[InputUnit]:
        """The inputs to parse; every input gets its slot: an error, rows the cache holds (same
        name, size and mtime: the file is not even read), or pending."""
        for item in listing:
            if isinstance(item, InputError):
                slots.append(Failed(item))
                continue
            stats.inputs += 1
            entry = self._entries.get(item.name)
            if entry is not None and self._same_stat(item, entry):
                stats.reused_by_stat += 1
                slots.append(Cached(item.name, entry))
                continue
            if entry is not None:
                item = replace(item, known_sha256=entry.sha256)
            slots.append(Pending(item.name))
            yield item

    def _same_stat(self, item: InputUnit, entry: Entry) -> bool:
        """Reuse the cached rows without reading the file: same size and mtime (a known stat)."""
        return (
            not self.verify
            and item.data is None
            and item.size >= 0
            and entry.size == item.size
            and entry.mtime_ns == item.mtime_ns
        )

    def _assemble(self, slots: list[Slot], parsed: _Parsed, job: ParseJob, stats: CacheStats) -> CacheRun:
        """The table in input order from the cached and the new rows; the cache write started."""
        import numpy as np  # heavy: imported when a table is built
        import pandas as pd

        old = self._old_rows
        base = 0 if old is None else len(old)
        index = index_slots(slots, np.cumsum([0] + [len(f) for f in parsed.frames]).tolist(), base)
        new_rows = pd.concat(parsed.frames, ignore_index=True) if parsed.frames else parsed.empty
        positions = row_positions(index.run_starts, index.run_rows)
        # The cache is written on a thread while the table is put together (pyarrow writes
        # without the GIL): on a cold run the write was a serial second per 100,000 rows.
        projected = list(job.columns) if job.project and job.columns is not None else None
        stored = _common(projected, old is not None, self._stored)
        kept_rows = new_rows if stored is None else new_rows[stored]
        self._writing = None
        if not self._unchanged(slots, stats, stored):
            self._writing = _background(self._write, index.units, kept_rows, positions, stats, stored)
        fresh_view = new_rows if self._columns is None else new_rows[self._columns]
        in_order = np.array_equal(positions, np.arange(len(positions)))
        if old is not None and not len(new_rows) and in_order and len(positions) == len(old):
            table = old  # a warm night with nothing new: the cached rows are the table, no copy
        elif old is None and in_order and len(positions) == len(fresh_view):
            table = fresh_view  # a cold run: the parsed rows are the table, in order
        else:
            everything = fresh_view if old is None else pd.concat([old, fresh_view], ignore_index=True)
            table = everything.take(positions).reset_index(drop=True)
            del everything
        lines = dict(parsed.lines)
        if parsed.ignite:
            merged = list(merge_module_pages(parsed.ignite))
            lines.update(field_lines(merged))
            rows = records_table(merged)
            table = pd.concat(
                [table, rows if self._columns is None else rows[self._columns]], ignore_index=True
            )
        stats.rows = len(table)
        return CacheRun(table, index.errors, stats, lines)

    def wait(self) -> None:
        """Wait for the cache write of the last :meth:`table` run (raises its error)."""
        writing, self._writing = self._writing, None
        try:
            if writing is not None:
                started = time.perf_counter()
                writing.result()
                self._last_stats.seconds["write"] = time.perf_counter() - started
        finally:
            # What the run loaded is not needed once written (the table returned holds its own
            # rows): 560,000 entries freed before the check makes its findings.
            self._entries, self._old_rows = {}, None

    def _resolve(self, result: UnitResult, chunk_index: int, offset: int, stats: CacheStats) -> Slot:
        if result.unchanged:
            stats.reused_by_hash += 1
            entry = self._entries[result.name]
            # Same bytes under a new mtime: keep the rows, remember the new stat.
            return Cached(result.name, entry._replace(size=result.size, mtime_ns=result.mtime_ns))
        stats.parsed += 1
        stats.rows_parsed += result.rows
        return New(result.name, chunk_index, offset, result)

    # -- writing ----------------------------------------------------------------------------

    def _unchanged(self, slots: list[Slot], stats: CacheStats, stored: list[str] | None) -> bool:
        """True when this run would write back exactly the cache it loaded (every input found
        unchanged by ``stat``, none gone, no compaction due): a warm night writes nothing."""
        if self._old_rows is None or stats.parsed or stats.reused_by_hash or stored != self._stored:
            return False
        if stats.reused_by_stat != len(self._entries):
            return False
        live = sum(entry.rows for entry in self._entries.values())
        if live * 2 < len(self._old_rows):
            return False
        names = {slot.name for slot in slots if isinstance(slot, Cached)}
        return len(names) == len(self._entries)

    def _write(
        self,
        units: list[UnitRow],
        new_rows: pd.DataFrame,
        positions: Any,
        stats: CacheStats,
        kept_columns: list[str] | None = None,
    ) -> None:
        """Append this run's rows as a segment (or compact), then replace the manifest;
        ``kept_columns``: the columns every segment holds (``None``: every column). Nothing is
        written when another run holds the lock or wrote since this one loaded: its cache is
        as good, and mixing the two would not be."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with write_lock(self.folder) as mine:
                if not mine or manifest_generation(self.folder) != self._loaded_generation:
                    return
                manifest = self._write_files(units, new_rows, positions, stats, kept_columns)
                write_manifest(self.folder, manifest, self.fingerprint)
                remove_stale(self.folder, manifest)
        except OSError as exc:
            raise OutputError(f"cannot write the cache: {exc.strerror or exc}", path=self.folder) from exc

    def _write_files(
        self,
        units: list[UnitRow],
        new_rows: pd.DataFrame,
        positions: Any,
        stats: CacheStats,
        kept_columns: list[str] | None,
    ) -> Manifest:
        """The segment (or compacted rows) and the units index of this run; their manifest."""
        import pandas as pd

        old_total = 0 if self._old_rows is None else len(self._old_rows)
        live = sum(u[4] for u in units)
        generation = self._generation + 1
        segment = max(self._segments, default=0) + 1
        index_rows: list[tuple[Any, ...]] = []
        lengths = dict(self._segment_lengths())
        if self._old_rows is None or live * 2 < old_total + len(new_rows):
            # Compact: the live rows, every column, in this run's order.
            stats.compacted = True
            live_rows = self._full_rows(new_rows, kept_columns).take(positions)
            write_parquet(self._segment_path(segment), live_rows, self._cache_id)
            segments, lengths = [segment], {segment: len(live_rows)}
            start = 0
            for name, size, mtime, sha, rows, errors, _, _ in units:
                index_rows.append((name, size, mtime, sha, segment, start, rows, errors))
                start += rows
        else:
            segments = list(self._segments)
            if len(new_rows):
                write_parquet(self._segment_path(segment), new_rows, self._cache_id)
                segments.append(segment)
                lengths[segment] = len(new_rows)
            for name, size, mtime, sha, rows, errors, seg, start in units:
                index_rows.append(
                    (name, size, mtime, sha, segment if seg is None else seg, start, rows, errors)
                )
        index = pd.DataFrame(index_rows, columns=list(UNIT_COLUMNS))
        write_parquet(self.folder / units_name(generation), index, self._cache_id)
        return Manifest(
            self._cache_id,
            generation,
            units_name(generation),
            len(index),
            tuple(segments),
            tuple(lengths[s] for s in segments),
            live,
            None if kept_columns is None else tuple(kept_columns),
        )

    def _segment_lengths(self) -> Iterator[tuple[int, int]]:
        """The loaded segments and their rows (the loaded rows are their concatenation)."""
        manifest = read_manifest(self.folder, self.fingerprint) if self._segments else None
        if manifest is not None and list(manifest.segments) == self._segments:
            yield from zip(manifest.segments, manifest.segment_rows, strict=True)

    def _full_rows(self, new_rows: pd.DataFrame, stored: list[str] | None = None) -> pd.DataFrame:
        """The loaded cache's rows (every stored column, re-read when this run loaded only
        some), then this run's: the frame ``positions`` index into."""
        import pandas as pd

        if self._old_rows is None:
            return new_rows
        old = self._old_rows
        if self._columns is not None and self._columns != stored:
            old = conform(
                pd.concat([pd.read_parquet(self._segment_path(s), columns=stored) for s in self._segments])
            )
        return pd.concat([old, new_rows], ignore_index=True)


def _background(func: Any, *args: Any) -> Future[Any]:
    """``func(*args)`` on a thread of its own; the thread ends with the call."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditor-cache-read")
    try:
        return pool.submit(func, *args)
    finally:
        pool.shutdown(wait=False)


def _common(new: list[str] | None, has_old: bool, old: list[str] | None) -> list[str] | None:
    """The columns both this run's rows and the kept cache rows hold (``None``: every column)."""
    if not has_old or old is None:
        return new
    if new is None:
        return old
    kept = set(new)
    return [c for c in old if c in kept]


def cached_table(
    paths: Iterable[str | Path],
    cache_dir: str | Path,
    *,
    jobs: int | None = None,
    verify: bool = False,
) -> CacheRun:
    """Convenience: :meth:`RecordCache.table` with a cache in ``cache_dir``."""
    return RecordCache(cache_dir, verify=verify).table(paths, jobs=jobs)


__all__ = ["MANIFEST", "CacheRun", "CacheStats", "RecordCache", "cached_table", "conform"]
