"""The snapshot store: every snapshot of every study, kept safely and indexed.

Layout (``<store>`` is ``snapshots/`` unless ``--store DIR`` says otherwise)::

    <store>/index.sqlite                         the index (SQLite, standard library)
    <store>/.lock                                fcntl lock taken by every writer
    <store>/<NCT ID>/<modified>_<tiebreak>_<sha256[:12]>.<txt|json|xml>

Each snapshot file holds the snapshot's original bytes. A study that came out of a
multi-study JSON file (a list, ``{"studies": [...]}``) is stored as that study's own JSON
element, re-serialised deterministically (``json.dumps(element, ensure_ascii=False, indent=2)``
plus a newline, keys in their original order), so that every file holds one study; one page of
a text file holding several Ignite study pages is likewise stored on its own (as UTF-8). Ignite
*module* pages are refused with an input error: they are parts of a snapshot, not snapshots.
The stamps are the two ordering dates below with ``-`` and ``:`` removed (``undated`` when
unknown).

Why SQLite (standard library) and not Parquet: adding a night is a few thousand small
inserts and lookups by NCT ID inside transactions (the pending/confirm protocol below needs
them); Parquet files are immutable, so every add would rewrite or multiply files and a point
lookup would scan row groups. ``bench/store_speed.py`` measures the result (a record's
snapshots list in well under a millisecond at 100,000 snapshots).

Ordering — a record's timeline is sorted by ``(modified, tiebreak, sha256)``:

* Ignite pages: ``modified`` = Ignite Modification Date, ``tiebreak`` = Ignite Creation Date.
* ClinicalTrials.gov JSON and XML have no Ignite dates; they are ordered by the registry's own
  dates: ``modified`` = Last Update Submitted (else Last Update Posted), ``tiebreak`` = the
  capture date — API v2 ``versionHolder`` or the XML ``download_date``.
* The content hash breaks the remaining ties, so the order is total and reproducible.
  Dates are compared as ISO text, so ``2020-09`` sorts before ``2020-09-01``.

Content identity: the *content* of a snapshot is its fields (key and raw text), excluding the
capture dates (``version_holder``, ``download_date``) and the Ignite timestamps, which are
not fields. Adding a snapshot is a no-op when the record already has one with the same bytes,
or with the same content and the same dates. A snapshot with the same dates as an existing
one but other content is a *conflict*: it is kept beside the first, never over it, and reported.

Safety: NCT IDs are validated before they become paths; a record folder that is a symlink is
refused and no path read from the index may leave the store. Writers hold ``.lock``. Snapshots
are added in batches: the batch's index rows are first committed as *pending*; each file is
written to a temp file beside its target; the filesystem is synced (one ``syncfs`` for the
whole batch instead of an fsync per file, see :func:`sync_filesystem`); the temp files are
renamed to their names and the filesystem synced again; then the rows are confirmed in one
transaction. An add killed mid-way leaves pending rows, which the next writer (``add`` or
``verify``) rolls back — files, temp files and rows — so every snapshot is either fully in the
store or not at all, and readers never see pending rows. The files are the truth: an index
that was deleted or is unreadable is rebuilt from them by ``verify`` and by the next ``add``
(readers say to run ``verify``); SQLite's own write failures (disk full) are output errors
(exit 3); a store on a read-only mount is still readable (the index is opened read-only).
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import fcntl
import hashlib
import itertools
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import InputError, OutputError, StoreError
from auditor.findings import Finding, Severity
from auditor.records import Record, SourceFormat, is_valid_nct_id
from auditor.values import PartialDate, parse_date

INDEX_NAME = "index.sqlite"
LOCK_NAME = ".lock"
SCHEMA_VERSION = 1
#: Snapshots written per index transaction; an interrupted add loses at most one batch.
BATCH_SIZE = 500
#: Fields that say when a snapshot was captured rather than what the registry holds.
CAPTURE_KEYS = frozenset({"version_holder", "download_date"})
IGNITE_FORMATS = frozenset({SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE})
_EXTENSIONS = {
    SourceFormat.IGNITE_TEXT: "txt",
    SourceFormat.IGNITE_MODULE: "txt",
    SourceFormat.CTGOV_JSON: "json",
    SourceFormat.CTGOV_XML: "xml",
}
_STAMP = r"(?:[0-9]{4}(?:[0-9]{2}(?:[0-9]{2}(?:T[0-9]{4})?)?)?|undated)"  # ASCII digits only
SNAPSHOT_NAME = re.compile(rf"{_STAMP}_{_STAMP}_[0-9a-f]{{12}}\.(?:txt|json|xml)")
_WORDY_DATE = re.compile(r"[A-Za-z]+\.?\s+\d{1,2},\s*\d{4}|[A-Za-z]+\.?\s+\d{4}|\d{4}-\d{2}(?:-\d{2})?")
RULE_SOURCE = "auditor/store.py"
_NO_STORE = "no snapshot store here (add snapshots with 'audit snapshot add')"

_COLUMNS = (
    "path, nct_id, sha256, content_sha, format, ignite_created, ignite_modified, "
    "order_date, order_tiebreak, registry_updated, size, added"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    path TEXT PRIMARY KEY,
    nct_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_sha TEXT NOT NULL,
    format TEXT NOT NULL,
    ignite_created TEXT,
    ignite_modified TEXT,
    order_date TEXT NOT NULL,
    order_tiebreak TEXT NOT NULL,
    registry_updated TEXT NOT NULL,
    size INTEGER NOT NULL,
    added TEXT NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS snapshots_timeline
    ON snapshots (nct_id, order_date, order_tiebreak, sha256);
CREATE UNIQUE INDEX IF NOT EXISTS snapshots_content ON snapshots (nct_id, sha256);
"""


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """One snapshot as the index knows it; ``path`` is relative to the store (POSIX)."""

    nct_id: str
    path: str
    sha256: str
    ignite_created: datetime | None
    ignite_modified: datetime | None
    order_key: tuple[str, str, str]
    format: SourceFormat
    content_sha: str = ""
    registry_updated: str = ""
    size: int = 0
    added: str = ""

    @property
    def modified(self) -> str:
        """The ordering date: Ignite modification date, else the registry's last update."""
        return self.order_key[0]

    @property
    def tiebreak(self) -> str:
        """Ignite creation date, else the capture date (versionHolder / download date)."""
        return self.order_key[1]

    def to_dict(self) -> dict[str, object]:
        return {
            "nct_id": self.nct_id,
            "path": self.path,
            "sha256": self.sha256,
            "format": str(self.format),
            "ignite_created": _iso(self.ignite_created),
            "ignite_modified": _iso(self.ignite_modified),
            "modified": self.modified,
            "tiebreak": self.tiebreak,
            "registry_updated": self.registry_updated,
            "content_sha": self.content_sha,
            "size": self.size,
            "added": self.added,
        }


@dataclass(frozen=True, slots=True)
class Conflict:
    """A snapshot kept beside an existing one that has the same dates but other content."""

    entry: SnapshotEntry
    existing: SnapshotEntry

    def message(self) -> str:
        return (
            f"{self.entry.nct_id}: {self.entry.path} has the same dates as {self.existing.path} "
            "but different content; both kept"
        )


@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``Store.add`` did. ``added`` includes the snapshots that are also ``conflicts``;
    ``unchanged`` lists the existing entries an input matched."""

    added: tuple[SnapshotEntry, ...] = ()
    unchanged: tuple[SnapshotEntry, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    errors: tuple[InputError, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "added": [e.to_dict() for e in self.added],
            "unchanged": [e.to_dict() for e in self.unchanged],
            "conflicts": [
                {"path": c.entry.path, "existing": c.existing.path, "message": c.message()}
                for c in self.conflicts
            ],
            "errors": [e.one_line() for e in self.errors],
        }


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """One inconsistency between the index and the files; ``repaired`` says whether it was fixed."""

    kind: str
    path: str
    message: str
    repaired: bool = False

    def one_line(self) -> str:
        state = "repaired" if self.repaired else "not repaired"
        return f"{self.path}: {self.kind}: {self.message} ({state})"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    problems: tuple[VerifyProblem, ...] = ()

    @property
    def clean(self) -> bool:
        """True when nothing is (any longer) wrong: no problems, or all of them repaired."""
        return all(p.repaired for p in self.problems)

    def to_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "clean": self.clean,
            "problems": [
                {"kind": p.kind, "path": p.path, "message": p.message, "repaired": p.repaired}
                for p in self.problems
            ],
        }


@dataclass(frozen=True, slots=True)
class SnapshotBytes:
    """A snapshot held in memory rather than in a file (a fetched API response): ``name`` says
    where it came from (a URL) and stands for the source path in records and messages."""

    name: str
    data: bytes = field(repr=False)


@dataclass(slots=True)
class _Candidate:
    """A snapshot about to be stored: the bytes to write and its index row."""

    entry: SnapshotEntry
    data: bytes = field(repr=False)


# --------------------------------------------------------------------------- record → row


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="minutes")


def _date_text(record: Record, key: str) -> str:
    """A registry date of the record as ISO text (keeping its precision), or ``""``."""
    value = record.value(key)
    if isinstance(value, PartialDate):
        return value.isoformat()
    f = record.get(key)
    if f is None:
        return ""
    match = _WORDY_DATE.search(f.raw)
    parsed = parse_date(match.group(0)) if match else None
    return "" if parsed is None else parsed.isoformat()


def registry_updated(record: Record) -> str:
    """The registry's own last-update date: Last Update Submitted, else Last Update Posted."""
    return _date_text(record, "last_update_submit_date") or _date_text(record, "last_update_post_date")


def order_dates(record: Record) -> tuple[str, str]:
    """``(modified, tiebreak)`` of a record, as documented in the module docstring."""
    if record.ignite_modified is not None or record.ignite_created is not None:
        return _iso(record.ignite_modified) or "", _iso(record.ignite_created) or ""
    capture = _date_text(record, "version_holder") or _date_text(record, "download_date")
    return registry_updated(record), capture


def content_sha(record: Record) -> str:
    """Hash of what the record says (fields' keys and raw text), not of when it was captured."""
    digest = hashlib.sha256()
    for key, raw in zip(record.columns.key, record.columns.raw, strict=True):
        if key in CAPTURE_KEYS:
            continue
        digest.update(key.encode("utf-8"))
        digest.update(b"\x1e")
        digest.update(raw.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def _compact(stamp: str) -> str:
    return stamp.replace("-", "").replace(":", "") or "undated"


def snapshot_name(entry_dates: tuple[str, str], sha: str, ext: str) -> str:
    return f"{_compact(entry_dates[0])}_{_compact(entry_dates[1])}_{sha[:12]}.{ext}"


def _entry_for(record: Record, data: bytes, *, added: str, path: str | None = None) -> SnapshotEntry:
    if not is_valid_nct_id(record.nct_id):
        raise InputError(f"invalid NCT ID {record.nct_id!r}", path=record.source.path)
    sha = hashlib.sha256(data).hexdigest()
    dates = order_dates(record)
    if path is None:
        path = f"{record.nct_id}/{snapshot_name(dates, sha, _EXTENSIONS[record.source.format])}"
    return SnapshotEntry(
        nct_id=record.nct_id,
        path=path,
        sha256=sha,
        ignite_created=record.ignite_created,
        ignite_modified=record.ignite_modified,
        order_key=(dates[0], dates[1], sha),
        format=record.source.format,
        content_sha=content_sha(record),
        registry_updated=registry_updated(record),
        size=len(data),
        added=added,
    )


# --------------------------------------------------------------------------- input → bytes


def _json_elements(document: object) -> tuple[list[object], object] | None:
    """The study list of a multi-study JSON document and a setter context, or ``None`` when
    the document is a single study."""
    if isinstance(document, list):
        return document, None
    if isinstance(document, dict):
        studies = document.get("studies")
        if isinstance(studies, list):
            return studies, "studies"
        wrapper = document.get("FullStudiesResponse")
        if isinstance(wrapper, dict) and isinstance(wrapper.get("FullStudies"), list):
            return wrapper["FullStudies"], "FullStudiesResponse"
    return None


def _element_index(source_path: str) -> int | None:
    match = re.search(r"#(\d+)$", source_path)
    return int(match.group(1)) if match else None


def _serialise(element: object) -> bytes:
    return (json.dumps(element, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _snapshot_bytes(
    record: Record, data: bytes, siblings: int, cache: dict[str, object] | None = None
) -> bytes:
    """The bytes to store for ``record`` read from ``data`` (see the module docstring).

    ``cache`` holds the parsed JSON document between the records of one input."""
    if record.source.format is SourceFormat.IGNITE_MODULE:
        raise InputError(
            "an Ignite module page is part of a snapshot, not a snapshot; the store keeps "
            "whole study pages (Viewing Study ...)",
            path=record.source.path,
        )
    if record.source.format is SourceFormat.IGNITE_TEXT:
        index = _element_index(record.source.path)
        if index is None:
            return data
        page = _ignite_page(data, index)
        if page is None or not _reads_back_as(page, record.nct_id):
            raise InputError(
                "cannot cut this study page out of its file to store it", path=record.source.path
            )
        return page
    index = _element_index(record.source.path)
    if record.source.format is SourceFormat.CTGOV_XML or index is None:
        return data  # the JSON reader names a study inside a container ``file#N``
    cache = {} if cache is None else cache
    if "document" not in cache:
        from auditor.readers import decode_text
        from auditor.readers.ctgov_json import replace_lone_surrogates

        try:  # decoded and cleaned as the reader did, so that the stored element reads back
            text, _ = decode_text(data, record.source.path)
            cache["document"] = replace_lone_surrogates(json.loads(text), [])
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot re-read JSON to store it: {exc}", path=record.source.path) from exc
    document = cache["document"]
    found = _json_elements(document)
    if found is None or (siblings == 1 and len(found[0]) == 1):
        return data
    elements, container = found
    candidates = [index] if index is not None and 0 <= index < len(elements) else []
    candidates += [i for i in range(len(elements)) if i != index]
    for i in candidates:
        element = elements[i]
        if record.nct_id not in json.dumps(element):
            continue
        for payload in (_serialise(element), _serialise(_wrap_one(document, container, element))):
            if _reads_back_as(payload, record.nct_id):
                return payload
    raise InputError(f"cannot find {record.nct_id}'s own JSON element to store", path=record.source.path)


def _ignite_page(data: bytes, number: int) -> bytes | None:
    """Page ``number`` (0-based, as the reader numbers them: ``file#0``) of a file of several
    Ignite study pages, as UTF-8 bytes: from its ``Viewing Study`` line to the next one, with
    trailing blank lines dropped and a final line break unless the page was cut off."""
    from auditor.readers import decode_text
    from auditor.readers.ignite_text import _is_viewing_line, split_lines

    text, _ = decode_text(data, "page")
    lines = split_lines(text)
    starts = [i for i, line in enumerate(lines) if _is_viewing_line(line)]
    if not 0 <= number < len(starts):
        return None
    bounds = [*starts, len(lines)]
    page = "\n".join(lines[bounds[number] : bounds[number + 1]]).rstrip("\n")
    cut = number == len(starts) - 1 and not text.endswith(("\n", "\r"))
    return (page if cut else page + "\n").encode("utf-8")


def _wrap_one(document: object, container: object, element: object) -> object:
    """The document with only ``element`` in its study list (for wrappers a lone element
    cannot be read without, such as the classic API's ``FullStudiesResponse``)."""
    if container == "studies" and isinstance(document, dict):
        return {**document, "studies": [element]}
    if container == "FullStudiesResponse" and isinstance(document, dict):
        wrapper = dict(document["FullStudiesResponse"])
        wrapper["FullStudies"] = [element]
        wrapper["NStudiesReturned"] = 1
        return {**document, "FullStudiesResponse": wrapper}
    return [element]


def _reads_back_as(payload: bytes, nct_id: str) -> bool:
    from auditor.readers import read_bytes

    try:
        records = read_bytes(payload, "element.json")
    except InputError:
        return False
    return len(records) == 1 and isinstance(records[0], Record) and records[0].nct_id == nct_id


def _split_source(path: str) -> tuple[str, str | None]:
    """``archive!member#3`` → (``archive``, ``member``); ``file.json#3`` → (``file.json``, None)."""
    path = re.sub(r"#\d+$", "", path)
    if "!" in path:
        outer, member = path.split("!", 1)
        return outer, member
    return path, None


def _read_source(record: Record) -> bytes:
    """The input bytes a record was read from (for records handed to ``add`` directly)."""
    from auditor.inputs import read_inputs

    outer, member = _split_source(record.source.path)
    for item in read_inputs([outer]):
        if isinstance(item, InputError):
            raise item
        name, data = item
        if member is None or name == f"{outer}!{member}":
            return data
    raise InputError("cannot find the record's source to store its bytes", path=record.source.path)


# --------------------------------------------------------------------------- the store


class Store:
    """A folder of snapshots plus its index. Cheap to create; opens the index on first use."""

    def __init__(self, path: str | Path, *, batch_size: int = BATCH_SIZE) -> None:
        self.root = Path(path)
        self.batch_size = max(1, batch_size)
        self._conn: sqlite3.Connection | None = None

    # -- index plumbing -------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_NAME

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not create:
            if not self.root.is_dir():
                raise StoreError(_NO_STORE, path=self.root)
            if not self.index_path.is_file():
                if any(is_valid_nct_id(p.name) for p in self.root.iterdir()):
                    raise StoreError(
                        "the store has no index; rebuild it with 'audit snapshot verify'", path=self.root
                    )
                raise StoreError(_NO_STORE, path=self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.index_path, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as exc:
            read_only = None if create else self._connect_read_only()
            if read_only is None:
                raise StoreError(
                    f"unreadable index ({exc}); run 'audit snapshot verify'", path=self.index_path
                ) from exc
            conn = read_only
        except OSError as exc:
            raise OutputError(f"cannot create the store: {exc.strerror or exc}", path=self.root) from exc
        self._conn = conn
        return conn

    def _connect_read_only(self) -> sqlite3.Connection | None:
        """The index opened read-only, for readers of a store on a read-only mount or folder
        (where WAL mode cannot create its shared-memory file); ``None`` when that fails too.
        ``immutable`` only when no write-ahead log is waiting, so that no commit is missed."""
        wal = self.root / (INDEX_NAME + "-wal")
        query = "mode=ro" if wal.exists() else "immutable=1"
        try:
            uri = f"{self.index_path.resolve().as_uri()}?{query}"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            conn.execute("SELECT 1 FROM snapshots LIMIT 1").fetchall()
        except sqlite3.Error:
            return None
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Exclusive lock on ``<store>/.lock``: one writer at a time, across processes."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / LOCK_NAME, "a+b")  # noqa: SIM115 - held for the block
        except OSError as exc:
            raise OutputError(f"cannot lock the store: {exc.strerror or exc}", path=self.root) from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def _safe_path(self, rel: str) -> Path:
        """The file of an index row, refusing anything that could leave the store."""
        parts = rel.split("/")
        if len(parts) != 2 or not is_valid_nct_id(parts[0]) or not SNAPSHOT_NAME.fullmatch(parts[1]):
            raise StoreError(f"index names an unexpected path {rel!r}", path=self.index_path)
        folder = self.root / parts[0]
        if folder.is_symlink():
            raise StoreError("record folder is a symlink; refusing to follow it", path=folder)
        if (folder / parts[1]).is_symlink():
            raise StoreError("snapshot file is a symlink; refusing to follow it", path=folder / parts[1])
        return folder / parts[1]

    @staticmethod
    def _row_to_entry(row: Sequence[object]) -> SnapshotEntry:
        (path, nct_id, sha, csha, fmt, created, modified, odate, otie, updated, size, added) = row
        return SnapshotEntry(
            nct_id=str(nct_id),
            path=str(path),
            sha256=str(sha),
            ignite_created=None if created is None else datetime.fromisoformat(str(created)),
            ignite_modified=None if modified is None else datetime.fromisoformat(str(modified)),
            order_key=(str(odate), str(otie), str(sha)),
            format=SourceFormat(str(fmt)),
            content_sha=str(csha),
            registry_updated=str(updated),
            size=int(str(size)),
            added=str(added),
        )

    @staticmethod
    def _entry_row(entry: SnapshotEntry, pending: int) -> tuple[object, ...]:
        return (
            entry.path,
            entry.nct_id,
            entry.sha256,
            entry.content_sha,
            str(entry.format),
            _iso(entry.ignite_created),
            _iso(entry.ignite_modified),
            entry.order_key[0],
            entry.order_key[1],
            entry.registry_updated,
            entry.size,
            entry.added,
            pending,
        )

    def _insert(self, conn: sqlite3.Connection, entries: Iterable[SnapshotEntry], pending: int) -> None:
        conn.executemany(
            f"INSERT INTO snapshots ({_COLUMNS}, pending) VALUES ({', '.join('?' * 13)})",
            [self._entry_row(e, pending) for e in entries],
        )

    # -- reading ----------------------------------------------------------------------------

    def list(self, nct_id: str) -> builtins.list[SnapshotEntry]:
        """The snapshots of one record, oldest first (an unknown record has none)."""
        if not is_valid_nct_id(nct_id):
            raise InputError(f"invalid NCT ID {nct_id!r}")
        conn = self._connect(create=False)
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM snapshots WHERE nct_id = ? AND pending = 0 "
            "ORDER BY order_date, order_tiebreak, sha256",
            (nct_id,),
        ).fetchall()
        return [self._row_to_entry(r) for r in rows]

    def nct_ids(self) -> builtins.list[str]:
        """Every record in the store, sorted."""
        conn = self._connect(create=False)
        rows = conn.execute("SELECT DISTINCT nct_id FROM snapshots WHERE pending = 0 ORDER BY nct_id")
        return [str(r[0]) for r in rows]

    def summary(self) -> builtins.list[tuple[str, int, SnapshotEntry]]:
        """``(nct_id, number of snapshots, latest entry)`` for every record, sorted by NCT ID."""
        conn = self._connect(create=False)
        rows = conn.execute(
            f"SELECT n, {_COLUMNS} FROM (SELECT {_COLUMNS}, COUNT(*) OVER w AS n, "
            "ROW_NUMBER() OVER (w ORDER BY order_date DESC, order_tiebreak DESC, sha256 DESC) AS k "
            "FROM snapshots WHERE pending = 0 WINDOW w AS (PARTITION BY nct_id)) WHERE k = 1 ORDER BY nct_id"
        ).fetchall()
        return [(str(r[2]), int(r[0]), self._row_to_entry(r[1:])) for r in rows]

    def load(self, entry: SnapshotEntry) -> Record:
        """Read one stored snapshot back into a record, checking its hash first."""
        from auditor.readers import read_bytes

        path = self._safe_path(entry.path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(
                f"snapshot file unreadable ({exc.strerror or exc}); run 'audit snapshot verify'", path=path
            ) from exc
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise StoreError("snapshot file does not match its hash; run 'audit snapshot verify'", path=path)
        records = [r for r in read_bytes(data, str(path)) if isinstance(r, Record)]
        if len(records) != 1:
            raise StoreError(f"snapshot file holds {len(records)} records, expected 1", path=path)
        return records[0]

    def latest(self) -> Iterator[Record]:
        """The latest snapshot of every record, by NCT ID."""
        for _, _, entry in self.summary():
            yield self.load(entry)

    def pairs(self, nct_ids: Iterable[str] | None = None) -> Iterator[tuple[Record, Record]]:
        """Consecutive snapshots ``(older, newer)`` of each record, in timeline order."""
        for nct_id in self.nct_ids() if nct_ids is None else nct_ids:
            previous: Record | None = None
            for entry in self.list(nct_id):
                current = self.load(entry)
                if previous is not None:
                    yield previous, current
                previous = current

    # -- writing ----------------------------------------------------------------------------

    def _candidates(
        self, items: Iterable[str | Path | Record | SnapshotBytes], added: str
    ) -> Iterator[_Candidate | InputError]:
        """Each input snapshot as the bytes and row to store, or the error of one that failed."""
        from auditor.inputs import read_inputs
        from auditor.readers import read_bytes

        for item in items:
            if isinstance(item, Record):
                try:
                    data = _read_source(item)
                    payload = _snapshot_bytes(item, data, 1)
                    yield _Candidate(_entry_for(item, payload, added=added), payload)
                except InputError as exc:
                    yield exc
                continue
            inputs = [(item.name, item.data)] if isinstance(item, SnapshotBytes) else read_inputs([item])
            for got in inputs:
                if isinstance(got, InputError):
                    yield got
                    continue
                name, data = got
                try:
                    records = read_bytes(data, name)
                except InputError as exc:
                    yield exc
                    continue
                good = [r for r in records if isinstance(r, Record)]
                cache: dict[str, object] = {}
                for record in records:
                    if isinstance(record, InputError):
                        yield record
                        continue
                    try:
                        payload = _snapshot_bytes(record, data, len(good), cache)
                        yield _Candidate(_entry_for(record, payload, added=added), payload)
                    except InputError as exc:
                        yield exc

    def add(
        self, items: Iterable[str | Path | Record | SnapshotBytes], *, now: datetime | None = None
    ) -> AddResult:
        """Add snapshot files, folders, archives, records or in-memory snapshots; see the module
        docstring.

        Input errors do not stop the other inputs; they are returned in ``errors``.
        """
        added_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        added: builtins.list[SnapshotEntry] = []
        unchanged: builtins.list[SnapshotEntry] = []
        conflicts: builtins.list[Conflict] = []
        errors: builtins.list[InputError] = []
        with self._write_lock(), self._index_write_errors():
            conn = self._connect_or_rebuild()
            self._recover(conn)
            batch: builtins.list[_Candidate] = []
            in_batch: dict[str, builtins.list[SnapshotEntry]] = {}
            for candidate in self._candidates(items, added_at):
                if isinstance(candidate, InputError):
                    errors.append(candidate)
                    continue
                entry = candidate.entry
                known = in_batch.get(entry.nct_id, []) + self._known(conn, entry.nct_id)
                same = next((k for k in known if _same_snapshot(k, entry)), None)
                if same is not None:
                    unchanged.append(same)
                    continue
                clash = next((k for k in known if k.order_key[:2] == entry.order_key[:2]), None)
                if clash is not None:
                    conflicts.append(Conflict(entry, clash))
                batch.append(candidate)
                in_batch.setdefault(entry.nct_id, []).append(entry)
                if len(batch) >= self.batch_size:
                    added.extend(self._commit(conn, batch))
                    batch, in_batch = [], {}
            added.extend(self._commit(conn, batch))
        return AddResult(tuple(added), tuple(unchanged), tuple(conflicts), tuple(errors))

    def _connect_or_rebuild(self) -> sqlite3.Connection:
        """The index for a writer; a deleted or unreadable one is first rebuilt from the files
        (as ``verify`` does), so that adding never hides the snapshots already stored."""
        lost = not self.index_path.is_file() and self.root.is_dir()
        if lost and any(is_valid_nct_id(p.name) for p in self.root.iterdir()):
            self._verify(repair=True)
        try:
            return self._connect(create=True)
        except StoreError:
            self._verify(repair=True)
            return self._connect(create=True)

    def _known(self, conn: sqlite3.Connection, nct_id: str) -> builtins.list[SnapshotEntry]:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM snapshots WHERE nct_id = ?", (nct_id,)).fetchall()
        return [self._row_to_entry(r) for r in rows]

    def _commit(
        self, conn: sqlite3.Connection, batch: builtins.list[_Candidate]
    ) -> builtins.list[SnapshotEntry]:
        """Pending rows, then the files, then confirm the rows: see the module docstring."""
        if not batch:
            return []
        entries = [c.entry for c in batch]
        with _transaction(conn):
            self._insert(conn, entries, pending=1)
        try:
            staged: builtins.list[tuple[str, Path]] = []
            for candidate in batch:
                target = self._safe_path(candidate.entry.path)
                temp = self._stage(target, candidate.data)
                if temp is not None:
                    staged.append((temp, target))
            sync_filesystem(self.root)  # the bytes are on disk before any name points at them
            for temp, target in staged:
                os.replace(temp, target)
            sync_filesystem(self.root)  # and the names are on disk before the rows are confirmed
            with _transaction(conn):
                confirm = [(e.path,) for e in entries]
                conn.executemany("UPDATE snapshots SET pending = 0 WHERE path = ?", confirm)
        except OSError as exc:
            self._recover(conn)
            raise OutputError(f"cannot write the store: {exc.strerror or exc}", path=self.root) from exc
        except BaseException:
            self._recover(conn)
            raise
        return entries

    def _stage(self, target: Path, data: bytes) -> str | None:
        """Write ``data`` to a temp file beside ``target`` (``.<name>.<random>.tmp``, so that
        recovery finds it); ``None`` when ``target`` already holds exactly these bytes."""
        if target.parent.is_symlink():
            raise StoreError("record folder is a symlink; refusing to follow it", path=target.parent)
        if target.is_symlink():
            raise StoreError("snapshot file is a symlink; refusing to follow it", path=target)
        if target.exists():
            # Left by a repaired crash, or a 48-bit hash prefix collision: never overwrite.
            if hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest():
                return None
            raise StoreError("a different snapshot already has this name; not overwriting", path=target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return temp

    def _recover(self, conn: sqlite3.Connection) -> builtins.list[VerifyProblem]:
        """Roll back the batch of an interrupted add: its files, temp files and rows."""
        problems: builtins.list[VerifyProblem] = []
        rows = conn.execute("SELECT path FROM snapshots WHERE pending = 1").fetchall()
        if not rows:
            return problems
        for (rel,) in rows:
            folder_name, name = str(rel).split("/", 1)
            target = self._safe_path(str(rel))
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            for temp in (self.root / folder_name).glob(f".{name}.*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
            with contextlib.suppress(OSError):
                (self.root / folder_name).rmdir()  # only succeeds when empty
            problems.append(VerifyProblem("interrupted-add", str(rel), "rolled back an unfinished add", True))
        with _transaction(conn):
            conn.execute("DELETE FROM snapshots WHERE pending = 1")
        return problems

    # -- verification -----------------------------------------------------------------------

    def verify(self, repair: bool = True) -> VerifyResult:
        """Check the index against the files (presence, hash, name) and the files against the
        index; with ``repair``, rebuild the index from the files.

        Repairs: rows whose file is missing are dropped; files whose bytes no longer match
        their name's hash, or that no longer read as one record, are moved to
        ``<store>/.quarantine/`` (never deleted) and their rows dropped; files without a row
        are read and indexed; temp files of interrupted writes are removed; an unreadable
        index is set aside and rebuilt.
        """
        if not self.root.is_dir():
            raise StoreError("no snapshot store here", path=self.root)
        # Even a check-only run waits for a running add: its pending rows are not "interrupted".
        with self._write_lock(), self._index_write_errors():
            return self._verify(repair=repair)

    @contextlib.contextmanager
    def _index_write_errors(self) -> Iterator[None]:
        """SQLite's own write failures (``database or disk is full``, a read-only file) as an
        :class:`OutputError` (exit 3). The connection is dropped; rows a failed batch left
        pending are rolled back, with their files, by the next writer (see the module docstring)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            self.close()
            raise OutputError(f"cannot write the store index: {exc}", path=self.index_path) from exc

    def _verify(self, *, repair: bool) -> VerifyResult:
        from auditor.readers import read_bytes

        problems: builtins.list[VerifyProblem] = []
        conn = self._open_for_verify(problems, repair)
        if conn is None:
            return VerifyResult(0, tuple(problems))
        if repair:
            problems.extend(self._recover(conn))
        else:
            for (rel,) in conn.execute("SELECT path FROM snapshots WHERE pending = 1"):
                problems.append(VerifyProblem("interrupted-add", str(rel), "an add was interrupted"))
        rows = {
            str(r[0]): self._row_to_entry(r)
            for r in conn.execute(f"SELECT {_COLUMNS} FROM snapshots WHERE pending = 0")
        }
        files = self._scan(problems, repair)
        checked = 0
        drop: builtins.list[str] = []
        new_entries: builtins.list[SnapshotEntry] = []
        for rel in sorted(rows):
            if rel not in files:
                problems.append(VerifyProblem("missing-file", rel, "indexed but the file is gone", repair))
                drop.append(rel)
        for rel in sorted(files):
            checked += 1
            path = self.root / rel
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            name_sha = rel.rsplit("_", 1)[1].split(".")[0]
            entry = rows.get(rel)
            if not sha.startswith(name_sha) or (entry is not None and entry.sha256 != sha):
                problems.append(VerifyProblem("corrupt-file", rel, "bytes do not match the hash", repair))
                if entry is not None:
                    drop.append(rel)
                if repair:
                    self._quarantine(rel)
                continue
            if entry is not None:
                continue
            try:
                records = [r for r in read_bytes(data, str(path)) if isinstance(r, Record)]
            except InputError:
                records = []
            if len(records) != 1 or records[0].nct_id != rel.split("/")[0]:
                problems.append(VerifyProblem("unreadable-file", rel, "not one record of this study", repair))
                if repair:
                    self._quarantine(rel)
                continue
            problems.append(VerifyProblem("unindexed-file", rel, "file not in the index", repair))
            new_entries.append(_entry_for(records[0], data, added=_mtime(path), path=rel))
        if repair and (drop or new_entries):
            with _transaction(conn):
                conn.executemany("DELETE FROM snapshots WHERE path = ?", [(p,) for p in drop])
                self._insert(conn, new_entries, pending=0)
        return VerifyResult(checked, tuple(problems))

    def _open_for_verify(
        self, problems: builtins.list[VerifyProblem], repair: bool
    ) -> sqlite3.Connection | None:
        """The index, checked with SQLite's integrity check; a bad one is set aside when repairing."""
        if self.index_path.is_file():
            try:
                conn = self._connect(create=True)
                result = conn.execute("PRAGMA quick_check").fetchone()
                if result is not None and result[0] == "ok":
                    return conn
                raise sqlite3.DatabaseError(str(result[0] if result else "no answer"))
            except (sqlite3.DatabaseError, StoreError) as exc:
                self.close()
                problems.append(VerifyProblem("bad-index", INDEX_NAME, f"index unreadable: {exc}", repair))
                if not repair:
                    return None
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                for suffix in ("", "-wal", "-shm"):
                    side = self.root / (INDEX_NAME + suffix)
                    if side.exists():
                        side.rename(self.root / f"{INDEX_NAME}{suffix}.bad-{stamp}")
        elif any(is_valid_nct_id(p.name) for p in self.root.iterdir()):
            problems.append(VerifyProblem("missing-index", INDEX_NAME, "the store has no index", repair))
            if not repair:
                return None
        return self._connect(create=True)

    def _scan(self, problems: builtins.list[VerifyProblem], repair: bool) -> set[str]:
        """Relative paths of the snapshot files present; reports everything else in record folders."""
        found: set[str] = set()
        for folder in sorted(self.root.iterdir()):
            if not is_valid_nct_id(folder.name):
                continue
            if folder.is_symlink() or not folder.is_dir():
                problems.append(VerifyProblem("unexpected-entry", folder.name, "not a record folder"))
                continue
            for path in sorted(folder.iterdir()):
                rel = f"{folder.name}/{path.name}"
                if path.name.startswith(".") and path.name.endswith(".tmp") and not path.is_symlink():
                    problems.append(VerifyProblem("temp-file", rel, "left by an interrupted write", repair))
                    if repair:
                        with contextlib.suppress(FileNotFoundError):
                            path.unlink()
                elif path.is_symlink() or not path.is_file() or not SNAPSHOT_NAME.fullmatch(path.name):
                    problems.append(VerifyProblem("unexpected-entry", rel, "not a snapshot file; left alone"))
                else:
                    found.add(rel)
        return found

    def _quarantine(self, rel: str) -> None:
        target = self.root / ".quarantine" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / rel, target)


def sync_filesystem(folder: Path) -> None:
    """Flush every written file and directory entry of ``folder``'s filesystem to disk.

    One ``syncfs(2)`` per batch replaces an fsync per file and per folder — the same
    guarantee (data durable before the rename, renames durable before the index says so) at a
    fraction of the cost when a night adds thousands of snapshots. Where ``syncfs`` is not
    available (not Linux), ``os.sync()``.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed")
    finally:
        os.close(fd)


def _same_snapshot(known: SnapshotEntry, new: SnapshotEntry) -> bool:
    """Same bytes, or same content with the same dates: adding it again changes nothing."""
    return known.sha256 == new.sha256 or (
        known.content_sha == new.content_sha and known.order_key[:2] == new.order_key[:2]
    )


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --------------------------------------------------------------------------- history findings


def history_findings(store: Store, nct_ids: Iterable[str] | None = None) -> list[Finding]:
    """Consistency of each record's timeline, from the index alone (no file is read).

    * ``history-creation-date-changed``: two consecutive Ignite snapshots of one record give
      different Ignite Creation Dates (a record is created once).
    * ``history-modification-date-backwards``: along the timeline a second clock runs
      backwards, or the modification date fails to move although the content changed. For
      Ignite pages (ordered by Ignite Modification Date) the second clock is the registry's
      Last Update Submitted/Posted date; for JSON/XML (ordered by that registry date) it is
      the capture date (versionHolder / download date). Both clocks must never decrease: a
      newer snapshot that carries an older registry update, or that was captured earlier,
      means a rollback or a wrong date. Snapshots with identical dates but different content
      (kept as conflicts by ``add``) also count. The order in which snapshots were *added* is
      deliberately not used: back-filling old snapshots is legitimate.
    * ``history-duplicate-content``: snapshots with the same content (see
      :func:`content_sha`) but different modification dates — Ignite says the record was
      modified and nothing changed. Re-downloads that differ only in their capture date are
      not findings.
    """
    findings: list[Finding] = []
    for nct_id in store.nct_ids() if nct_ids is None else nct_ids:
        entries = store.list(nct_id)
        for old, new in itertools.pairwise(entries):
            findings.extend(_pair_findings(old, new))
        by_content: dict[str, list[SnapshotEntry]] = {}
        for entry in entries:
            by_content.setdefault(entry.content_sha, []).append(entry)
        for group in by_content.values():
            dates = sorted({e.modified for e in group})
            if len(dates) > 1:
                findings.append(
                    _finding(
                        "history-duplicate-content",
                        "Same content under different modification dates",
                        group[0],
                        group[-1],
                        ("ignite_modified",),
                        f"{len(group)} snapshots have the same content but different modification "
                        f"dates ({', '.join(dates)})",
                        (("dates", ", ".join(dates)),),
                        snapshot=", ".join(e.path for e in group),
                    )
                )
    return findings


def _pair_findings(old: SnapshotEntry, new: SnapshotEntry) -> list[Finding]:
    out: list[Finding] = []
    if old.ignite_created and new.ignite_created and old.ignite_created != new.ignite_created:
        before, after = _iso(old.ignite_created), _iso(new.ignite_created)
        out.append(
            _finding(
                "history-creation-date-changed",
                "Ignite creation date changed",
                old,
                new,
                ("ignite_created",),
                f"Ignite Creation Date changed from {before} to {after}",
                (("old", str(before)), ("new", str(after))),
            )
        )
    ignite_pair = old.format in IGNITE_FORMATS and new.format in IGNITE_FORMATS
    both_registry = old.format not in IGNITE_FORMATS and new.format not in IGNITE_FORMATS
    if old.order_key[:2] == new.order_key[:2] and old.content_sha != new.content_sha:
        out.append(
            _finding(
                "history-modification-date-backwards",
                "Modification date did not advance",
                old,
                new,
                ("ignite_modified",) if ignite_pair else ("last_update_submit_date",),
                f"content changed but the dates stayed {new.modified or 'unknown'}"
                f" / {new.tiebreak or 'unknown'}",
                (("modified", new.modified), ("tiebreak", new.tiebreak)),
            )
        )
    elif old.registry_updated and new.registry_updated and new.registry_updated < old.registry_updated:
        out.append(
            _finding(
                "history-modification-date-backwards",
                "Registry last-update date goes backwards",
                old,
                new,
                ("last_update_submit_date",),
                f"the later snapshot (modified {new.modified}) has an older registry last update "
                f"({new.registry_updated}) than the one before ({old.registry_updated})",
                (("old", old.registry_updated), ("new", new.registry_updated)),
            )
        )
    elif both_registry and old.tiebreak and new.tiebreak and new.tiebreak < old.tiebreak:
        out.append(
            _finding(
                "history-modification-date-backwards",
                "Capture date goes backwards",
                old,
                new,
                ("version_holder",),
                f"the snapshot with the later registry update ({new.modified}) was captured earlier "
                f"({new.tiebreak}) than the one before ({old.tiebreak})",
                (("old", old.tiebreak), ("new", new.tiebreak)),
            )
        )
    return out


def _finding(
    rule_id: str,
    title: str,
    old: SnapshotEntry,
    new: SnapshotEntry,
    fields: tuple[str, ...],
    message: str,
    values: tuple[tuple[str, str], ...],
    *,
    snapshot: str | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.WARNING,
        nct_id=new.nct_id,
        snapshot=snapshot or f"{old.path} -> {new.path}",
        fields=fields,
        message=message,
        rule_source=RULE_SOURCE,
        title=title,
        values=values,
    )
