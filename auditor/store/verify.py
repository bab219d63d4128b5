"""Checking the store against its index, and repairing it: the files are the truth.

Checks: every confirmed row has its file, every file's bytes match its name's hash (and its
row's), every file without a row reads as one record of its study, no pending rows or temp
files of an interrupted add remain, the index passes SQLite's quick check, and nothing else
sits in a record folder. Repairs: rows whose file is missing are dropped; files whose bytes no
longer match, or that no longer read as one record, are moved to ``<store>/.quarantine/``
(never deleted) and their rows dropped; files without a row are read and indexed; an
interrupted add is rolled back; an unreadable index is set aside (``index.sqlite.bad-<time>``)
and rebuilt from the files. Strangers in record folders are reported and left alone.

Checking and repairing are separate on purpose (``audit snapshot verify`` only checks,
``--repair`` repairs): a check run by a monitoring job must never move a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import InputError, StoreError
from auditor.records import is_valid_nct_id
from auditor.store.index import INDEX_NAME, Index, has_record_folders
from auditor.store.layout import (
    SNAPSHOT_NAME,
    SnapshotEntry,
    entry_for,
    file_kind,
    read_snapshot,
    read_stored,
)
from auditor.store.writer import roll_back_pending

QUARANTINE = ".quarantine"


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """One inconsistency between the index and the files; ``repaired`` says whether it was fixed."""

    kind: str
    path: str
    message: str
    repaired: bool = False
    #: where a repair put the file (``.quarantine/…``), when it moved one
    moved_to: str = ""

    def one_line(self) -> str:
        state = "repaired" if self.repaired else "not repaired"
        if self.repaired and self.moved_to:
            state = f"repaired: moved to {self.moved_to}"
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
                {
                    "kind": p.kind,
                    "path": p.path,
                    "message": p.message,
                    "repaired": p.repaired,
                    "moved_to": p.moved_to or None,
                }
                for p in self.problems
            ],
        }


@dataclass(slots=True)
class _Repairs:
    """What a repairing run changes in the index once every file has been looked at."""

    drop: list[str]
    add: list[SnapshotEntry]


def verify_store(index: Index, *, repair: bool) -> VerifyResult:
    """Check (and with ``repair``, repair) the store of ``index``; the caller holds the lock.

    Without ``repair`` nothing in the store changes: the index is opened read-only and no
    file is created, moved or deleted."""
    problems: list[VerifyProblem] = []
    if not _open_index(index, problems, repair):
        return VerifyResult(0, tuple(problems))
    if repair:
        problems.extend(
            VerifyProblem("interrupted-add", rel, "rolled back an unfinished add", True)
            for rel in roll_back_pending(index)
        )
    else:
        problems.extend(
            VerifyProblem("interrupted-add", rel, "an add was interrupted") for rel in index.pending_paths()
        )
    rows = index.confirmed()
    files, strangers = _scan(index.root, problems, repair)
    repairs = _Repairs([], [])
    for rel in sorted(rows):
        if rel not in files:
            gone = (
                f"indexed, but {strangers[rel]} is in its place"
                if rel in strangers
                else "indexed but the file is gone"
            )
            problems.append(VerifyProblem("missing-file", rel, gone, repair))
            repairs.drop.append(rel)
    for rel in sorted(files):
        problem = _check_file(index.root, rel, rows.get(rel), repairs)
        if problem is None:
            continue
        moved_to = ""
        if repair and problem[0] != "unindexed-file":
            moved_to = quarantine(index.root, rel)
        problems.append(VerifyProblem(problem[0], rel, problem[1], repair, moved_to))
    if repair and (repairs.drop or repairs.add):
        with index.transaction():
            index.delete(repairs.drop)
            index.insert(repairs.add, pending=0)
    return VerifyResult(len(files), tuple(problems))


def _open_index(index: Index, problems: list[VerifyProblem], repair: bool) -> bool:
    """Whether there is an index to check against; a broken one is set aside when repairing,
    and a missing one is created (then filled from the files)."""
    if index.path.is_file():
        trouble = index.integrity_problem(read_only=not repair)
        if trouble is None:
            return True
        problems.append(VerifyProblem("bad-index", INDEX_NAME, trouble, repair))
        if not repair:
            return False
        index.set_aside()
    elif has_record_folders(index.root):
        problems.append(VerifyProblem("missing-index", INDEX_NAME, "the store has no index", repair))
        if not repair:
            return False
    elif not repair:
        return False  # an empty store folder: nothing to check, and nothing is created
    index.connect(create=True)
    return True


def _check_file(
    root: Path, rel: str, entry: SnapshotEntry | None, repairs: _Repairs
) -> tuple[str, str] | None:
    """``(kind, message)`` of what is wrong with one snapshot file, or ``None``. A file
    without a row is read, and its row queued in ``repairs``; a bad file's row is dropped."""
    path = root / rel
    data = read_stored(path)
    sha = hashlib.sha256(data).hexdigest()
    name_sha = rel.rsplit("_", 1)[1].split(".")[0]
    if not sha.startswith(name_sha) or (entry is not None and entry.sha256 != sha):
        if entry is not None:
            repairs.drop.append(rel)
        return "corrupt-file", "bytes do not match the hash"
    if entry is not None:
        return None
    try:
        record = read_snapshot(data, str(path))
    except (InputError, StoreError):
        record = None
    if record is None or record.nct_id != rel.split("/")[0]:
        return "unreadable-file", "not one record of this study"
    repairs.add.append(entry_for(record, data, added=_mtime(path), path=rel))
    return "unindexed-file", "file not in the index"


def _scan(root: Path, problems: list[VerifyProblem], repair: bool) -> tuple[set[str], dict[str, str]]:
    """Relative paths of the snapshot files present, and what the other entries of record
    folders are (``"a FIFO"`` …, by path); each stranger is reported, none is opened."""
    found: set[str] = set()
    strangers: dict[str, str] = {}
    for folder in sorted(root.iterdir()):
        if not is_valid_nct_id(folder.name):
            continue
        if folder.is_symlink() or not folder.is_dir():
            problems.append(VerifyProblem("unexpected-entry", folder.name, "not a record folder"))
            continue
        for path in sorted(folder.iterdir()):
            rel = f"{folder.name}/{path.name}"
            kind = file_kind(path.lstat().st_mode)
            if path.name.startswith(".") and path.name.endswith(".tmp") and kind is None:
                problems.append(VerifyProblem("temp-file", rel, "left by an interrupted write", repair))
                if repair:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            elif kind is not None:
                strangers[rel] = kind
                problems.append(
                    VerifyProblem("unexpected-entry", rel, f"{kind}, not a snapshot file; left alone")
                )
            elif not SNAPSHOT_NAME.fullmatch(path.name):
                problems.append(VerifyProblem("unexpected-entry", rel, "not a snapshot file; left alone"))
            else:
                found.add(rel)
    return found, strangers


def quarantine(root: Path, rel: str) -> str:
    """Move a bad snapshot file to ``<store>/.quarantine/<same path>`` (never delete it); the
    path it went to, relative to the store."""
    moved_to = f"{QUARANTINE}/{rel}"
    target = root / moved_to
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / rel, target)
    return moved_to


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
