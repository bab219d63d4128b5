"""Adding snapshots: the lock, batches, staging, pending rows and their confirmation, conflicts.

Writers hold ``<store>/.lock`` while they write a batch, never while they read inputs (an input
that blocks — a FIFO, a stalled network mount — must not stop every later add): the inputs of
a batch are read and parsed first, then the lock is taken, pending rows of a writer that died
are rolled back, the batch is stored and the lock released. In each batch the index rows are
first committed as *pending*; each file is written to a temp file beside its target and renamed
to its name; the filesystem is synced (one ``syncfs`` for the whole batch instead of an fsync
per file and folder, see :func:`sync_filesystem`); then the rows are confirmed in one
transaction. An add killed mid-way leaves pending rows, which the next writer (``add`` or
``verify --repair``) rolls back — files, temp files and rows — so every snapshot is either
fully in the store or not at all (:func:`roll_back_pending`). One sync is enough: until the
rows are confirmed nothing trusts the files (a crash before the sync leaves pending rows, and
their files are deleted whatever state they are in; a file whose bytes did not reach the disk
no longer matches the hash in its name, so even a rebuild of a lost index never indexes it), and
the sync comes before the confirmation. (Two syncs per batch, data before names, were a sixth
of a bulk add's wall time.)
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from auditor.atomic import NEW_FILE_MODE, create_beside
from auditor.errors import InputError, OutputError, StoreError
from auditor.store.candidates import Candidate
from auditor.store.index import Index
from auditor.store.layout import SnapshotEntry, read_stored, safe_path

LOCK_NAME = ".lock"
#: Snapshots written per index transaction; an interrupted add loses at most one batch.
BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class Conflict:
    """A snapshot kept beside an existing one that has the same dates but other content.
    Undated snapshots never conflict: they have no date to share (they go last, by when added)."""

    entry: SnapshotEntry
    existing: SnapshotEntry

    def message(self) -> str:
        return (
            f"{self.entry.nct_id}: {self.entry.path} has the same dates as {self.existing.path} "
            "but different content; both kept"
        )


@dataclass(frozen=True, slots=True)
class Added:
    """A snapshot the add stored; ``conflict`` when a stored one has its dates but other content."""

    entry: SnapshotEntry
    conflict: Conflict | None = None


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An input the store already held: ``entry`` is the stored snapshot it matched."""

    entry: SnapshotEntry


#: What happened to one input snapshot (``Store.add_each`` yields these as it goes).
AddOutcome = Added | Unchanged | InputError


@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``Store.add`` did. ``added`` includes the snapshots that are also ``conflicts``;
    ``unchanged`` lists the existing entries an input matched."""

    added: tuple[SnapshotEntry, ...] = ()
    unchanged: tuple[SnapshotEntry, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    errors: tuple[InputError, ...] = ()

    @classmethod
    def collect(cls, outcomes: Iterable[AddOutcome]) -> AddResult:
        added: list[SnapshotEntry] = []
        unchanged: list[SnapshotEntry] = []
        conflicts: list[Conflict] = []
        errors: list[InputError] = []
        for outcome in outcomes:
            if isinstance(outcome, Added):
                added.append(outcome.entry)
                if outcome.conflict is not None:
                    conflicts.append(outcome.conflict)
            elif isinstance(outcome, Unchanged):
                unchanged.append(outcome.entry)
            else:
                errors.append(outcome)
        return cls(tuple(added), tuple(unchanged), tuple(conflicts), tuple(errors))

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


@contextlib.contextmanager
def write_lock(root: Path, *, create: bool = True) -> Iterator[None]:
    """Exclusive lock on ``<store>/.lock``: one writer at a time, across processes. Opened
    without following a link or blocking, and refused unless it is a regular file.

    ``create=False`` (a check that must not change the store) opens an existing lock file
    read-only and takes no lock when there is none (no writer ever ran)."""
    path = root / LOCK_NAME
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    flags |= (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY
    try:
        if create:
            root.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, NEW_FILE_MODE)
    except FileNotFoundError:
        if create:
            raise OutputError("cannot lock the store: no such folder", path=root) from None
        fd = -1
    except OSError as exc:
        raise OutputError(f"cannot lock the store: {exc.strerror or exc}", path=path) from exc
    try:
        if fd >= 0:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StoreError("the lock file is not a regular file; refusing to use it", path=path)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # releases the lock


# --------------------------------------------------------------------------- candidates → store


def same_snapshot(known: SnapshotEntry, new: SnapshotEntry) -> bool:
    """Same bytes, or same content with the same dates: adding it again changes nothing."""
    return known.sha256 == new.sha256 or (
        known.content_sha == new.content_sha and known.order_key[:2] == new.order_key[:2]
    )


def store_batch(index: Index, batch: list[Candidate]) -> list[Added | Unchanged]:
    """Store one batch of candidates: each is new (and maybe a conflict) or already there.
    The caller holds the lock and has rolled back pending rows."""
    outcomes: list[Added | Unchanged] = []
    new: list[Candidate] = []
    in_batch: dict[str, list[SnapshotEntry]] = {}
    for candidate in batch:
        entry = candidate.entry
        known = in_batch.get(entry.nct_id, []) + index.known(entry.nct_id)
        same = next((k for k in known if same_snapshot(k, entry)), None)
        if same is not None:
            outcomes.append(Unchanged(same))
            continue
        # Undated snapshots have no dates to share: never a conflict.
        clash = next((k for k in known if entry.dated and k.order_key[:2] == entry.order_key[:2]), None)
        outcomes.append(Added(entry, None if clash is None else Conflict(entry, clash)))
        new.append(candidate)
        in_batch.setdefault(entry.nct_id, []).append(entry)
    commit_batch(index, new)
    return outcomes


def commit_batch(index: Index, batch: list[Candidate]) -> list[SnapshotEntry]:
    """Pending rows, then the files, then confirm the rows: see the module docstring."""
    if not batch:
        return []
    entries = [c.entry for c in batch]
    with index.transaction():
        index.insert(entries, pending=1)
    try:
        staged: list[tuple[str, Path]] = []
        for candidate in batch:
            target = safe_path(index.root, candidate.entry.path, index.path)
            temp = stage(target, candidate.data)
            if temp is not None:
                staged.append((temp, target))
        for temp, target in staged:
            os.replace(temp, target)
        sync_filesystem(index.root)  # bytes and names are on disk before the rows are confirmed
        with index.transaction():
            index.confirm(e.path for e in entries)
    except OSError as exc:
        roll_back_pending(index)
        raise OutputError(
            f"cannot write the store: {exc.strerror or exc}", path=exc.filename or index.root
        ) from exc
    except BaseException:
        roll_back_pending(index)
        raise
    return entries


def stage(target: Path, data: bytes) -> str | None:
    """Write ``data`` to a temp file beside ``target`` (``.<name>.<random>.tmp``, so that
    recovery finds it); ``None`` when ``target`` already holds exactly these bytes. ``target``
    comes from :func:`.layout.safe_path` (no symlinked folder or file)."""
    if os.path.lexists(target):
        # Left by a repaired crash, or a 48-bit hash prefix collision: never overwrite.
        if hashlib.sha256(read_stored(target)).hexdigest() == hashlib.sha256(data).hexdigest():
            return None
        raise StoreError("a different snapshot already has this name; not overwriting", path=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, temp = create_beside(target)  # the umask's mode (mkstemp's would be 0600)
    except OSError as exc:  # named by its folder: the temp file's random name means nothing
        raise OSError(exc.errno, exc.strerror, str(target.parent)) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return temp


def roll_back_pending(index: Index) -> list[str]:
    """Roll back the batch of an interrupted add — its files, temp files and rows; the paths
    of the rows rolled back."""
    rows = index.pending_paths()
    if not rows:
        return rows
    for rel in rows:
        folder_name, name = rel.split("/", 1)
        target = safe_path(index.root, rel, index.path)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        for temp in (index.root / folder_name).glob(f".{name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        with contextlib.suppress(OSError):
            (index.root / folder_name).rmdir()  # only succeeds when empty
    with index.transaction():
        index.delete_pending()
    return rows


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
