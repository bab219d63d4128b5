"""The :class:`Store`: one store folder, read through its index, written through the writer."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from auditor.errors import InputError, OutputError, StoreError
from auditor.records import Record, is_valid_nct_id
from auditor.store.candidates import Candidate, SnapshotBytes, candidates
from auditor.store.index import Index, has_record_folders
from auditor.store.layout import SnapshotEntry, read_snapshot, read_stored, safe_path
from auditor.store.verify import VerifyResult, verify_store
from auditor.store.writer import (
    BATCH_SIZE,
    Added,
    AddOutcome,
    AddResult,
    Unchanged,
    roll_back_pending,
    store_batch,
    write_lock,
)


def _day(as_of: date | None) -> str | None:
    return None if as_of is None else as_of.isoformat()


class Store:
    """A folder of snapshots plus its index. Cheap to create; opens the index on first use."""

    def __init__(self, path: str | Path, *, batch_size: int = BATCH_SIZE) -> None:
        self.root = Path(path)
        self.batch_size = max(1, batch_size)
        self.index = Index(self.root)

    @property
    def index_path(self) -> Path:
        return self.index.path

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    def snapshots_of(self, nct_id: str, as_of: date | None = None) -> list[SnapshotEntry]:
        """The snapshots of one record, oldest first (an unknown record has none); with
        ``as_of``, those captured on or before that day (:func:`~auditor.store.layout.captured_day`)."""
        if not is_valid_nct_id(nct_id):
            raise InputError(f"invalid NCT ID {nct_id!r}")
        return self.index.timeline(nct_id, _day(as_of))

    def nct_ids(self) -> list[str]:
        """Every record in the store, sorted."""
        return self.index.nct_ids()

    def summary(self, as_of: date | None = None) -> list[tuple[str, int, SnapshotEntry]]:
        """``(nct_id, number of snapshots, latest entry)`` for every record, sorted by NCT ID;
        with ``as_of``, of the snapshots captured on or before that day: the store as it stood
        that night (:func:`~auditor.store.layout.captured_day` says what "captured" means)."""
        return self.index.summary(_day(as_of))

    def changed_between(self, before: date, after: date) -> list[tuple[SnapshotEntry | None, SnapshotEntry]]:
        """Every record whose content as of ``after`` differs from its content as of ``before``:
        ``(snapshot as of before or None, snapshot as of after)``, by NCT ID, from the index alone."""
        return self.index.changed_between(before.isoformat(), after.isoformat())

    def load(self, entry: SnapshotEntry) -> Record:
        """Read one stored snapshot back into a record, checking its hash first."""
        path = safe_path(self.root, entry.path, self.index.path)
        data = read_stored(path)
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise StoreError("snapshot file does not match its hash; run 'audit snapshot verify'", path=path)
        return read_snapshot(data, str(path))

    def latest(self) -> Iterator[Record]:
        """The latest snapshot of every record, by NCT ID."""
        for _, _, entry in self.summary():
            yield self.load(entry)

    def pairs(self, nct_ids: Iterable[str] | None = None) -> Iterator[tuple[Record, Record]]:
        """Consecutive snapshots ``(older, newer)`` of each record, in timeline order."""
        for nct_id in self.nct_ids() if nct_ids is None else nct_ids:
            previous: Record | None = None
            for entry in self.snapshots_of(nct_id):
                current = self.load(entry)
                if previous is not None:
                    yield previous, current
                previous = current

    # -- writing ----------------------------------------------------------------------------

    def add(
        self, items: Iterable[str | Path | Record | SnapshotBytes], *, now: datetime | None = None
    ) -> AddResult:
        """Add snapshot files, folders, archives, records or in-memory snapshots
        (:class:`SnapshotBytes`); see :mod:`auditor.store`.

        Input errors do not stop the other inputs; they are returned in ``errors``. At
        registry scale use :meth:`add_each`, which keeps nothing of what it stored.
        """
        return AddResult.collect(self.add_each(items, now=now))

    def add_each(
        self, items: Iterable[str | Path | Record | SnapshotBytes], *, now: datetime | None = None
    ) -> Iterator[AddOutcome]:
        """Add as :meth:`add` does, yielding what happened to each input snapshot as soon as
        its batch is stored (memory: one batch, whatever the number of inputs).

        The lock is held only while a batch is written (see :mod:`auditor.store.writer`); it is
        taken once before any input is read, so that a store that cannot be written fails
        before the inputs are read, and a lost index is rebuilt first."""
        added_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        self._store_batch([])
        batch: list[Candidate] = []
        for candidate in candidates(items, added_at):
            if isinstance(candidate, InputError):
                yield candidate
                continue
            batch.append(candidate)
            if len(batch) >= self.batch_size:
                yield from self._store_batch(batch)
                batch = []
        yield from self._store_batch(batch)

    def _store_batch(self, batch: list[Candidate]) -> list[Added | Unchanged]:
        """Take the lock, make the index ready (rebuilt if lost, a dead writer's batch rolled
        back) and store ``batch``; a failing write is an :class:`OutputError`."""
        with self._writing("cannot write the store"), write_lock(self.root), self.index.write_errors():
            self._writable_index()
            roll_back_pending(self.index)
            return store_batch(self.index, batch)

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """A file the store cannot create, move or delete (a read-only folder, a full disk) is
        an :class:`OutputError` (exit 3) naming it, never a traceback."""
        try:
            yield
        except OSError as exc:
            self.close()
            raise OutputError(f"{what}: {exc.strerror or exc}", path=exc.filename or self.root) from exc

    def _writable_index(self) -> None:
        """Open the index for a writer; a deleted or unreadable one is first rebuilt from the
        files (as ``verify`` does), so that adding never hides the snapshots already stored."""
        lost = not self.index.path.is_file() and self.root.is_dir()
        if lost and has_record_folders(self.root):
            verify_store(self.index, repair=True)
        try:
            self.index.connect(create=True)
        except StoreError:
            verify_store(self.index, repair=True)
            self.index.connect(create=True)

    def verify(self, repair: bool = False) -> VerifyResult:
        """Check the index against the files and the files against the index, changing
        nothing; with ``repair``, repair what can be (see :mod:`auditor.store.verify`)."""
        if not self.root.is_dir():
            raise StoreError("no snapshot store here", path=self.root)
        # Even a check-only run waits for a running add: its pending rows are not "interrupted".
        try:
            lock = write_lock(self.root, create=repair)
            with self._writing("cannot repair the store"), lock, self.index.write_errors():
                return verify_store(self.index, repair=repair)
        finally:
            if not repair:
                self.close()  # the read-only connection is not for later writers
