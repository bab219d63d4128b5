"""The Parquet cache's files on disk: what they are called, how they are written, and how a run
makes sure that what it reads belongs together (:mod:`auditor.run.cache` decides what to
reuse).

``DIR/cache.json`` (the manifest, replaced atomically last) names the cache's ``id`` (random,
made when the cache is first written), its generation, its units index
``units-<generation>.parquet`` and its row segments ``rows-<n>.parquet`` with the row count of
each. Every Parquet file carries, in its schema metadata, the cache id, its own name and its
row count. A run uses a cache only when everything agrees — the manifest is an object of the
expected shape, every file is a regular file whose metadata names this cache and this file,
the row counts match, and every input's rows lie inside their segment; anything else (a
segment copied from another cache, a ``cache.json`` that is JSON but not an object, a file cut
short) makes the run start cold and rebuild, never read wrong rows and never fail.

Writers take ``DIR/cache.lock`` (``flock``, not waited for) and write only when the manifest is
still the generation they loaded; temp files have unique names. Two runs sharing a cache both
succeed: the second to finish leaves the first's cache in place rather than mixing the two.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.atomic import atomic_write
from auditor.errors import AuditorError
from auditor.inputs import read_file
from auditor.table import records_table

if TYPE_CHECKING:
    import pandas as pd

CACHE_VERSION = 2
MANIFEST = "cache.json"
LOCK = "cache.lock"
#: The schema-metadata key of every cache file: ``{"id", "file", "rows"}``.
IDENTITY_KEY = b"auditor-cache"
#: A manifest is a few hundred bytes per segment.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
#: Modules whose source decides what a records-table row holds (see "Invalidation" in
#: :mod:`auditor.run.cache`).
_FINGERPRINT_MODULES = (
    "auditor.values",
    "auditor.records",
    "auditor.fields",
    "auditor.table",
    "auditor.inputs",
    "auditor.run.parse",
)
_FINGERPRINT_PACKAGES = ("auditor.readers",)
UNIT_COLUMNS = ("name", "size", "mtime_ns", "sha256", "segment", "row_start", "rows", "errors")


def parser_fingerprint() -> str:
    """A hash of the source files and registry data that decide what a parsed row holds."""
    digest = hashlib.sha256(f"auditor-cache-{CACHE_VERSION}".encode())
    files: list[Path] = []
    for name in _FINGERPRINT_MODULES:
        module = importlib.import_module(name)
        files.append(Path(str(module.__file__)))
    for name in _FINGERPRINT_PACKAGES:
        package = importlib.import_module(name)
        files.extend(sorted(Path(str(package.__file__)).parent.glob("*.py")))
    data = resources.files("auditor.data")
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".json")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """What ``cache.json`` says, checked for shape (:func:`read_manifest`)."""

    cache_id: str
    generation: int
    units: str
    units_rows: int
    segments: tuple[int, ...]
    segment_rows: tuple[int, ...]
    rows: int
    columns: tuple[str, ...] | None

    def to_json(self, fingerprint: str) -> str:
        document: dict[str, Any] = {
            "version": CACHE_VERSION,
            "fingerprint": fingerprint,
            "id": self.cache_id,
            "generation": self.generation,
            "units": self.units,
            "units_rows": self.units_rows,
            "segments": list(self.segments),
            "segment_rows": list(self.segment_rows),
            "rows": self.rows,
        }
        if self.columns is not None:
            document["columns"] = list(self.columns)
        return json.dumps(document, indent=1) + "\n"


def new_cache_id() -> str:
    return secrets.token_hex(16)


def segment_name(segment: int) -> str:
    return f"rows-{segment:06d}.parquet"


def units_name(generation: int) -> str:
    return f"units-{generation:06d}.parquet"


def manifest_generation(folder: Path) -> int | None:
    """The generation ``cache.json`` names now (``None``: no usable manifest), whatever its
    fingerprint: a writer compares it with the one it loaded."""
    document = _manifest_document(folder)
    generation = None if document is None else document.get("generation")
    return generation if isinstance(generation, int) and not isinstance(generation, bool) else None


def read_manifest(folder: Path, fingerprint: str) -> Manifest | None:
    """The manifest of the cache in ``folder`` when it is one this code can use: ``None`` when
    there is none, it does not parse, has another shape, version or fingerprint."""
    document = _manifest_document(folder)
    if document is None or document.get("version") != CACHE_VERSION:
        return None
    if document.get("fingerprint") != fingerprint:
        return None
    try:
        cache_id, units, columns = document["id"], document["units"], document.get("columns")
        numbers = [document["generation"], document["units_rows"], document["rows"]]
        segments, segment_rows = document["segments"], document["segment_rows"]
    except KeyError:
        return None
    whole = [*numbers, *(segments if isinstance(segments, list) else [None])]
    whole += segment_rows if isinstance(segment_rows, list) else [None]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in whole):
        return None
    if not (isinstance(cache_id, str) and isinstance(units, str) and len(segments) == len(segment_rows)):
        return None
    if units != units_name(numbers[0]) or len(set(segments)) != len(segments):
        return None
    if columns is not None and not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        return None
    return Manifest(
        cache_id,
        numbers[0],
        units,
        numbers[1],
        tuple(segments),
        tuple(segment_rows),
        numbers[2],
        None if columns is None else tuple(columns),
    )


def _manifest_document(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        document = json.loads(read_file(path, what="cache manifest", limit=MAX_MANIFEST_BYTES))
    except (AuditorError, ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def check_files(folder: Path, manifest: Manifest) -> bool:
    """Every file the manifest names is a regular file of this cache (its metadata says so)
    with the rows the manifest says: the cheap check of a warm run (footers only)."""
    expected = [(manifest.units, manifest.units_rows)]
    expected += [(segment_name(s), n) for s, n in zip(manifest.segments, manifest.segment_rows, strict=True)]
    return all(_is_cache_file(folder / name, manifest.cache_id, rows) for name, rows in expected)


def _is_cache_file(path: Path, cache_id: str, rows: int) -> bool:
    import pyarrow as pa  # heavy: only when a cache is read
    import pyarrow.parquet as pq

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a FIFO would block the Parquet reader
            return False
        parquet = pq.ParquetFile(path)
        metadata = parquet.schema_arrow.metadata or {}
        identity = json.loads(metadata.get(IDENTITY_KEY, b"null"))
    except (OSError, ValueError, pa.ArrowException):
        return False
    return (
        parquet.metadata.num_rows == rows
        and isinstance(identity, dict)
        and identity == {"id": cache_id, "file": path.name, "rows": rows}
    )


def units_fit(units: pd.DataFrame, manifest: Manifest) -> bool:
    """Every input's rows lie inside the segment the index names (and the names are unique)."""
    import numpy as np

    if list(units.columns) != list(UNIT_COLUMNS) or len(units) != manifest.units_rows:
        return False
    if not units["name"].is_unique:
        return False
    lengths = dict(zip(manifest.segments, manifest.segment_rows, strict=True))
    segments = units["segment"].to_numpy(dtype="int64")
    starts = units["row_start"].to_numpy(dtype="int64")
    counts = units["rows"].to_numpy(dtype="int64")
    known = np.isin(segments, np.array(manifest.segments, dtype="int64"))
    sizes = np.array([lengths.get(s, -1) for s in segments.tolist()], dtype="int64")
    has_rows = counts > 0
    inside = (starts >= 0) & (counts >= 0) & (starts + counts <= sizes)
    return bool(np.all(~has_rows | (known & inside)) and int(counts.sum()) == manifest.rows)


def write_parquet(path: Path, frame: pd.DataFrame, cache_id: str) -> None:
    """Write a cache file (its identity in the schema metadata) under a unique temp name, then
    rename it into place: a crash leaves no half file, two writers no shared temp file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    identity = json.dumps({"id": cache_id, "file": path.name, "rows": len(frame)}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), IDENTITY_KEY: identity})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_manifest(folder: Path, manifest: Manifest, fingerprint: str) -> None:
    atomic_write(folder / MANIFEST, manifest.to_json(fingerprint))


@contextlib.contextmanager
def write_lock(folder: Path) -> Iterator[bool]:
    """``True`` while this process holds the cache's write lock; ``False`` (at once, no wait)
    when another run holds it — that run is writing a cache of its own."""
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # (closing releases the lock)


def remove_stale(folder: Path, manifest: Manifest) -> None:
    """Delete the Parquet files the manifest no longer names (and temp files of crashed runs)."""
    keep = {manifest.units} | {segment_name(s) for s in manifest.segments}
    for path in folder.glob("*.parquet"):
        if path.name not in keep and path.name.startswith(("units-", "rows-")):
            with contextlib.suppress(OSError):
                path.unlink()


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame read back from Parquet the records table's exact dtypes (Parquet stores
    ``datetime64[s]`` as milliseconds)."""
    dtypes = records_table([]).dtypes
    return frame.astype({c: dtypes[c] for c in frame.columns if c in dtypes and frame[c].dtype != dtypes[c]})


__all__ = [
    "CACHE_VERSION",
    "LOCK",
    "MANIFEST",
    "UNIT_COLUMNS",
    "Manifest",
    "check_files",
    "conform",
    "manifest_generation",
    "new_cache_id",
    "parser_fingerprint",
    "read_manifest",
    "remove_stale",
    "segment_name",
    "units_fit",
    "units_name",
    "write_lock",
    "write_manifest",
    "write_parquet",
]
