"""A run of the Parquet cache, input by input: what the cache holds for each (an :class:`Entry`),
what becomes of each in this run (a :class:`Slot`), and where each one's rows end up in the table
(:func:`index_slots`). :mod:`auditor.run.cache` drives it; the files are
:mod:`auditor.run.cache_files`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from auditor.errors import InputError
from auditor.run.cache_files import Manifest
from auditor.run.parse import ErrorLine, UnitResult

if TYPE_CHECKING:
    import pandas as pd

UnitRow = tuple[str, int, int, str, int, str, "int | None", int]


class Entry(NamedTuple):
    """One input as the cache last saw it; ``position`` is its first row in the loaded rows.
    (A named tuple: a warm run makes one per input, and a tuple is the cheapest to make.)"""

    size: int
    mtime_ns: int
    sha256: str
    segment: int
    start: int
    position: int
    rows: int
    errors: str


class Failed(NamedTuple):
    """An input that could not be listed."""

    error: InputError


class Cached(NamedTuple):
    """An input whose rows the cache holds."""

    name: str
    entry: Entry


class Pending(NamedTuple):
    """An input being parsed."""

    name: str


class New(NamedTuple):
    """A parsed input: its rows are ``result.rows`` rows from ``offset`` of chunk ``chunk``."""

    name: str
    chunk: int
    offset: int
    result: UnitResult


Slot = Failed | Cached | Pending | New


class SlotIndex(NamedTuple):
    """Where each input's rows are (runs over the cached rows then the new ones), the errors in
    input order, and the new units index rows."""

    run_starts: list[int]
    run_rows: list[int]
    errors: list[InputError]
    units: list[UnitRow]


def index_slots(slots: list[Slot], chunk_starts: list[int], base: int) -> SlotIndex:
    """The runs, errors and unit rows of a run's slots; ``base``: rows the cache loaded."""
    out = SlotIndex([], [], [], [])
    for slot in slots:
        if isinstance(slot, Failed):
            out.errors.append(slot.error)
        elif isinstance(slot, Cached):
            entry = slot.entry
            out.errors.extend(cached_errors(entry.errors))
            if entry.rows:
                out.run_starts.append(entry.position)
                out.run_rows.append(entry.rows)
            out.units.append(
                (
                    slot.name,
                    entry.size,
                    entry.mtime_ns,
                    entry.sha256,
                    entry.rows,
                    entry.errors,
                    entry.segment,
                    entry.start,
                )
            )
        elif isinstance(slot, New):
            result = slot.result
            out.errors.extend(e.error() for e in result.errors)
            start = chunk_starts[slot.chunk] + slot.offset
            if result.rows:
                out.run_starts.append(base + start)
                out.run_rows.append(result.rows)
            if result.cacheable:
                text = json.dumps(result.errors) if result.errors else ""
                out.units.append(
                    (slot.name, result.size, result.mtime_ns, result.sha256, result.rows, text, None, start)
                )
    return out


def read_entries(units: pd.DataFrame, manifest: Manifest) -> dict[str, Entry] | None:
    """One entry per input of the units index, made column-wise (a loop of conversions per
    input was a second of a warm run over 560,000 inputs); ``None`` if a cached error list
    does not read back."""
    import numpy as np

    offsets: dict[int, int] = {}
    total = 0
    for seg, length in zip(manifest.segments, manifest.segment_rows, strict=True):
        offsets[seg] = total
        total += length
    segs = units["segment"].to_numpy(dtype="int64")
    starts = units["row_start"].to_numpy(dtype="int64")
    base = np.array([offsets.get(seg, 0) for seg in segs.tolist()], dtype="int64")
    errors = units["errors"].fillna("").astype(object).tolist()
    try:
        for text in errors:
            if text:
                cached_errors(text)
    except (ValueError, TypeError):
        return None
    made = map(
        Entry,
        units["size"].to_numpy(dtype="int64").tolist(),
        units["mtime_ns"].to_numpy(dtype="int64").tolist(),
        units["sha256"].astype(object).tolist(),
        segs.tolist(),
        starts.tolist(),
        (base + starts).tolist(),
        units["rows"].to_numpy(dtype="int64").tolist(),
        errors,
    )
    return dict(zip(units["name"].astype(object).tolist(), made, strict=True))


def row_positions(starts: list[int], counts: list[int]) -> Any:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without an array per
    input (100,000 of them cost a tenth of a second)."""
    import numpy as np

    counts_array = np.asarray(counts, dtype=np.int64)
    total = int(counts_array.sum())
    if not total:
        return np.array([], dtype=np.int64)
    firsts = np.cumsum(counts_array) - counts_array  # each run's first index in the output
    return np.repeat(np.asarray(starts, dtype=np.int64) - firsts, counts_array) + np.arange(total)


def cached_errors(text: str) -> list[InputError]:
    return [ErrorLine(*e).error() for e in json.loads(text)] if text else []


__all__ = [
    "Cached",
    "Entry",
    "Failed",
    "New",
    "Pending",
    "Slot",
    "SlotIndex",
    "UnitRow",
    "cached_errors",
    "index_slots",
    "read_entries",
    "row_positions",
]
