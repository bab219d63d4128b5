"""The :class:`Store`: one store folder, read through its index, written through the writer."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import InputError, StoreError
from auditor.records import Record, is_valid_nct_id
from auditor.store.candidates import candidates
from auditor.store.index import Index, has_record_folders
from auditor.store.layout import SnapshotEntry, read_snapshot, safe_path
from auditor.store.verify import VerifyResult, verify_store
from auditor.store.writer import (
    BATCH_SIZE,
    AddResult,
    add_candidates,
    roll_back_pending,
    write_lock,
)


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

    def list(self, nct_id: str) -> builtins.list[SnapshotEntry]:
        """The snapshots of one record, oldest first (an unknown record has none)."""
        if not is_valid_nct_id(nct_id):
            raise InputError(f"invalid NCT ID {nct_id!r}")
        return self.index.timeline(nct_id)

    def nct_ids(self) -> builtins.list[str]:
        """Every record in the store, sorted."""
        return self.index.nct_ids()

    def summary(self) -> builtins.list[tuple[str, int, SnapshotEntry]]:
        """``(nct_id, number of snapshots, latest entry)`` for every record, sorted by NCT ID."""
        return self.index.summary()

    def load(self, entry: SnapshotEntry) -> Record:
        """Read one stored snapshot back into a record, checking its hash first."""
        path = safe_path(self.root, entry.path, self.index.path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(
                f"snapshot file unreadable ({exc.strerror or exc}); run 'audit snapshot verify'", path=path
            ) from exc
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
            for entry in self.list(nct_id):
                current = self.load(entry)
                if previous is not None:
                    yield previous, current
                previous = current

    # -- writing ----------------------------------------------------------------------------

    def add(self, items: Iterable[str | Path | Record], *, now: datetime | None = None) -> AddResult:
        """Add snapshot files, folders, archives or records; see :mod:`auditor.store`.

        Input errors do not stop the other inputs; they are returned in ``errors``.
        """
        added_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        with write_lock(self.root), self.index.write_errors():
            self._writable_index()
            roll_back_pending(self.index)
            return add_candidates(self.index, candidates(items, added_at), self.batch_size)

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
            with write_lock(self.root, create=repair), self.index.write_errors():
                return verify_store(self.index, repair=repair)
        finally:
            if not repair:
                self.close()  # the read-only connection is not for later writers
