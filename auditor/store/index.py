"""The store's SQLite index: one row per snapshot, rebuilt from the files when lost.

Why SQLite (standard library) and not Parquet: adding a night is a few thousand small inserts
and lookups by NCT ID inside transactions (the pending/confirm protocol of
:mod:`auditor.store.writer` needs them); Parquet files are immutable, so every add would
rewrite or multiply files and a point lookup would scan row groups. ``bench/store_speed.py``
measures the result (a record's snapshots listed in well under a millisecond at 100,000).

Readers never see *pending* rows (those of a batch being written). A store on a read-only mount
is still readable: the index is then opened read-only (:meth:`Index.connect`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from auditor.atomic import NEW_FILE_MODE, existing_mode
from auditor.errors import OutputError, StoreError
from auditor.records import SourceFormat, is_valid_nct_id
from auditor.store.layout import SnapshotEntry, file_kind, iso_minutes

INDEX_NAME = "index.sqlite"
SCHEMA_VERSION = 1
NO_STORE = "no snapshot store here (add snapshots with 'audit snapshot add')"

_COLUMNS = (
    "path, nct_id, sha256, content_sha, format, ignite_created, ignite_modified, "
    "order_date, order_tiebreak, registry_updated, size, added"
)
#: A snapshot with no ordering date at all: its place among the others is unknown.
_UNDATED = "(order_date = '' AND order_tiebreak = '')"
#: Dated snapshots by their dates, then the undated ones by when they were added (see
#: :mod:`auditor.store`).
_TIMELINE_ORDER = (
    f"{_UNDATED}, CASE WHEN {_UNDATED} THEN added ELSE '' END, order_date, order_tiebreak, sha256"
)
#: The latest snapshot: the last dated one; the last undated one only when none is dated.
_LATEST_FIRST = (
    f"{_UNDATED}, order_date DESC, order_tiebreak DESC, CASE WHEN {_UNDATED} THEN added END DESC, sha256 DESC"
)


def _last_day_sql(column: str) -> str:
    """SQL for :func:`auditor.store.layout.last_day` of an ISO date column of any precision."""
    return (
        f"CASE length({column}) WHEN 4 THEN {column} || '-12-31' "
        f"WHEN 7 THEN date({column} || '-01', '+1 month', '-1 day') ELSE substr({column}, 1, 10) END"
    )


#: The capture day of a row, as :func:`auditor.store.layout.captured_day` defines it (the two
#: are held equal by ``tests/test_store_as_of.py``).
CAPTURED = (
    "CASE WHEN ignite_modified IS NOT NULL THEN substr(ignite_modified, 1, 10) "
    "WHEN ignite_created IS NOT NULL THEN substr(ignite_created, 1, 10) "
    f"WHEN order_tiebreak != '' THEN {_last_day_sql('order_tiebreak')} "
    f"WHEN order_date != '' THEN {_last_day_sql('order_date')} "
    "ELSE substr(added, 1, 10) END"
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
CREATE INDEX IF NOT EXISTS snapshots_pending ON snapshots (path) WHERE pending = 1;
"""


#: SQLite primary result codes that mean the index itself is damaged (SQLITE_CORRUPT,
#: SQLITE_NOTADB): it is rebuilt from the files. Any other failure of a writer (SQLITE_READONLY,
#: SQLITE_CANTOPEN, SQLITE_FULL, …) is the folder's or the disk's: an output error (exit 3).
_DAMAGED = frozenset({11, 26})


def _damaged(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _DAMAGED


def _reason(exc: OSError | sqlite3.Error) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def _captured_by(as_of: str | None) -> str:
    """The ``AND`` clause keeping the rows captured on or before ``:as_of`` (none without it)."""
    return "" if as_of is None else f"AND ({CAPTURED}) <= :as_of"


def entry_from_row(row: Sequence[object]) -> SnapshotEntry:
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


def row_from_entry(entry: SnapshotEntry, pending: int) -> tuple[object, ...]:
    return (
        entry.path,
        entry.nct_id,
        entry.sha256,
        entry.content_sha,
        str(entry.format),
        iso_minutes(entry.ignite_created),
        iso_minutes(entry.ignite_modified),
        entry.order_key[0],
        entry.order_key[1],
        entry.registry_updated,
        entry.size,
        entry.added,
        pending,
    )


def has_record_folders(root: Path) -> bool:
    """Whether ``root`` holds any study folder (so that a missing index is a loss, not a new store)."""
    return any(is_valid_nct_id(p.name) for p in root.iterdir())


class Index:
    """The index of one store folder. Cheap to create; opens the database on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / INDEX_NAME
        self._conn: sqlite3.Connection | None = None
        #: the mode of an index set aside, for the one rebuilt in its place
        self._replaced_mode: int | None = None

    # -- opening ------------------------------------------------------------------------------

    def connect(self, *, create: bool) -> sqlite3.Connection:
        """The open database; ``create`` makes the store and its index when missing (writers).

        Readers get a :class:`StoreError` saying what to run when there is no store or no
        index; an index SQLite cannot open for writing is opened read-only for them."""
        if self._conn is not None:
            return self._conn
        if not create:
            self._check_exists()
        self._check_regular()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if create:
                self._create_file()
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot create the store: {_reason(exc)}", path=self.root) from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as exc:
            conn.close()
            if create and not _damaged(exc):  # a read-only folder, a full disk: not the index's fault
                raise OutputError(f"cannot write the store index: {exc}", path=self.path) from exc
            read_only = None if create else self.connect_read_only()
            if read_only is None:
                raise StoreError(
                    f"unreadable index ({exc}); run 'audit snapshot verify --repair'", path=self.path
                ) from exc
            conn = read_only
        self._conn = conn
        return conn

    def _check_regular(self) -> None:
        """A FIFO or device where the index should be would hang SQLite's reads: refused."""
        try:
            kind = file_kind(os.lstat(self.path).st_mode)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"index unreadable ({exc.strerror or exc})", path=self.path) from exc
        if kind is not None:
            raise StoreError(
                f"not a regular file ({kind}) where the index should be; not opened", path=self.path
            )

    def _create_file(self) -> None:
        """Create a missing index as an empty file (SQLite takes it as an empty database) with
        the umask's mode — SQLite's own would be 0644 whatever the umask — or the mode of the
        index it replaces; its WAL files take the same mode."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, NEW_FILE_MODE)
        except FileExistsError:
            return
        try:
            if self._replaced_mode is not None:
                os.fchmod(fd, self._replaced_mode)
        finally:
            os.close(fd)

    def open_read_only(self) -> sqlite3.Connection | None:
        """Use the index read-only from now on (until :meth:`close`): a check that must not
        change the store. ``None`` when it cannot be opened."""
        self.close()
        self._conn = self.connect_read_only()
        return self._conn

    def _check_exists(self) -> None:
        if not self.root.is_dir():
            raise StoreError(NO_STORE, path=self.root)
        if not self.path.is_file():
            if has_record_folders(self.root):
                raise StoreError(
                    "the store has no index; rebuild it with 'audit snapshot verify --repair'", path=self.root
                )
            raise StoreError(NO_STORE, path=self.root)

    def connect_read_only(self) -> sqlite3.Connection | None:
        """The index opened read-only, for readers of a store on a read-only mount or folder
        (where WAL mode cannot create its shared-memory file); ``None`` when that fails too.
        ``immutable`` only when no write-ahead log is waiting, so that no commit is missed."""
        wal = self.root / (INDEX_NAME + "-wal")
        query = "mode=ro" if wal.exists() else "immutable=1"
        try:
            self._check_regular()
            uri = f"{self.path.resolve().as_uri()}?{query}"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            conn.execute("SELECT 1 FROM snapshots LIMIT 1").fetchall()
        except (sqlite3.Error, StoreError):
            return None
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def write_errors(self) -> Iterator[None]:
        """SQLite's own write failures (``database or disk is full``, a read-only file) as an
        :class:`OutputError` (exit 3). The connection is dropped; rows a failed batch left
        pending are rolled back, with their files, by the next writer."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            self.close()
            raise OutputError(f"cannot write the store index: {exc}", path=self.path) from exc

    def integrity_problem(self, *, read_only: bool = False) -> str | None:
        """What SQLite's quick check finds wrong with the index (``None``: nothing); an index
        that cannot even be opened is a problem too. ``read_only`` opens it without writing."""
        try:
            conn = self.open_read_only() if read_only else self.connect(create=True)
            if conn is None:
                raise sqlite3.DatabaseError("cannot open it read-only")
            result = conn.execute("PRAGMA quick_check").fetchone()
            if result is not None and result[0] == "ok":
                return None
            raise sqlite3.DatabaseError(str(result[0] if result else "no answer"))
        except (sqlite3.DatabaseError, StoreError) as exc:
            self.close()
            return f"index unreadable: {exc}"

    def set_aside(self) -> None:
        """Rename a broken index (and its WAL files) to ``index.sqlite.bad-<time>``, never delete it."""
        self.close()
        self._replaced_mode = existing_mode(self.path)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            side = self.root / (INDEX_NAME + suffix)
            if side.exists():
                side.rename(self.root / f"{INDEX_NAME}{suffix}.bad-{stamp}")

    # -- reading ------------------------------------------------------------------------------

    def timeline(self, nct_id: str, as_of: str | None = None) -> list[SnapshotEntry]:
        """The confirmed snapshots of one record, oldest first (with ``as_of``: those captured
        on or before that day)."""
        rows = (
            self.connect(create=False)
            .execute(
                f"SELECT {_COLUMNS} FROM snapshots WHERE nct_id = :nct_id AND pending = 0 "
                f"{_captured_by(as_of)} ORDER BY {_TIMELINE_ORDER}",
                {"nct_id": nct_id} if as_of is None else {"nct_id": nct_id, "as_of": as_of},
            )
            .fetchall()
        )
        return [entry_from_row(r) for r in rows]

    def nct_ids(self) -> list[str]:
        rows = self.connect(create=False).execute(
            "SELECT DISTINCT nct_id FROM snapshots WHERE pending = 0 ORDER BY nct_id"
        )
        return [str(r[0]) for r in rows]

    def summary(self, as_of: str | None = None) -> list[tuple[str, int, SnapshotEntry]]:
        """``(nct_id, number of snapshots, latest entry)`` for every record, sorted by NCT ID;
        the latest is the last *dated* snapshot when there is one (an undated one's place is
        unknown, so it is not taken for the newest). With ``as_of`` (``YYYY-MM-DD``), only the
        snapshots captured on or before that day count (:data:`CAPTURED`), in one query."""
        rows = (
            self.connect(create=False)
            .execute(
                f"SELECT n, {_COLUMNS} FROM (SELECT {_COLUMNS}, COUNT(*) OVER w AS n, "
                f"ROW_NUMBER() OVER (w ORDER BY {_LATEST_FIRST}) AS k "
                f"FROM snapshots WHERE pending = 0 {_captured_by(as_of)} "
                "WINDOW w AS (PARTITION BY nct_id)) WHERE k = 1 ORDER BY nct_id",
                {} if as_of is None else {"as_of": as_of},
            )
            .fetchall()
        )
        return [(str(r[2]), int(r[0]), entry_from_row(r[1:])) for r in rows]

    def changed_between(self, before: str, after: str) -> list[tuple[SnapshotEntry | None, SnapshotEntry]]:
        """``(latest as of before, latest as of after)`` of every record whose latest snapshot
        captured on or before ``after`` differs in content (:func:`~auditor.store.layout.content_sha`)
        from its latest captured on or before ``before`` — ``None`` for a record with no snapshot
        then — by NCT ID. One query: the hashes are compared in SQLite, no file is read."""
        latest = (
            f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS}, ROW_NUMBER() OVER "
            f"(PARTITION BY nct_id ORDER BY {_LATEST_FIRST}) AS k FROM snapshots "
            "WHERE pending = 0 AND ({captured}) <= :{side}) WHERE k = 1"
        )
        names = [c.strip() for c in _COLUMNS.split(",")]
        rows = (
            self.connect(create=False)
            .execute(
                f"WITH b AS ({latest.format(captured=CAPTURED, side='before')}), "
                f"a AS ({latest.format(captured=CAPTURED, side='after')}) "
                f"SELECT {', '.join('b.' + n for n in names)}, {', '.join('a.' + n for n in names)} "
                "FROM a LEFT JOIN b ON b.nct_id = a.nct_id WHERE b.nct_id IS NULL OR "
                "(b.sha256 != a.sha256 AND (b.content_sha != a.content_sha OR a.content_sha = '')) "
                "ORDER BY a.nct_id",
                {"before": before, "after": after},
            )
            .fetchall()
        )
        width = len(names)
        return [
            (None if r[1] is None else entry_from_row(r[:width]), entry_from_row(r[width:])) for r in rows
        ]

    def known(self, nct_id: str) -> list[SnapshotEntry]:
        """Every row of one record, pending ones included (what a writer must not add twice)."""
        rows = self.connect(create=True).execute(
            f"SELECT {_COLUMNS} FROM snapshots WHERE nct_id = ?", (nct_id,)
        )
        return [entry_from_row(r) for r in rows]

    def confirmed(self) -> dict[str, SnapshotEntry]:
        """Every confirmed row by path (for ``verify``)."""
        rows = self.connect(create=True).execute(f"SELECT {_COLUMNS} FROM snapshots WHERE pending = 0")
        return {str(r[0]): entry_from_row(r) for r in rows}

    def pending_paths(self) -> list[str]:
        rows = self.connect(create=True).execute("SELECT path FROM snapshots WHERE pending = 1")
        return [str(r[0]) for r in rows]

    # -- writing ------------------------------------------------------------------------------

    def insert(self, entries: Iterable[SnapshotEntry], *, pending: int) -> None:
        self.connect(create=True).executemany(
            f"INSERT INTO snapshots ({_COLUMNS}, pending) VALUES ({', '.join('?' * 13)})",
            [row_from_entry(e, pending) for e in entries],
        )

    def confirm(self, paths: Iterable[str]) -> None:
        self.connect(create=True).executemany(
            "UPDATE snapshots SET pending = 0 WHERE path = ?", [(p,) for p in paths]
        )

    def delete(self, paths: Iterable[str]) -> None:
        self.connect(create=True).executemany("DELETE FROM snapshots WHERE path = ?", [(p,) for p in paths])

    def delete_pending(self) -> None:
        self.connect(create=True).execute("DELETE FROM snapshots WHERE pending = 1")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self.connect(create=True)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
