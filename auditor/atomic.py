"""Atomic file writes: a temp file in the same folder, fsync, rename.

A reader of the target never sees half a file, and an interrupted or failed write (disk full,
permission denied) leaves the old file, or none, in place.

Modes: a new file gets ``0o666 & ~umask`` and a new folder ``0o777 & ~umask``, as ``open`` and
``mkdir`` give them (``tempfile`` would give 0600 / 0700, and a shared report or store would be
unreadable by the team); a file that replaces an existing one keeps that file's mode. The umask
is never read: the kernel applies it when the file is created (reading it means setting it,
which races with other threads).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from auditor.errors import OutputError

#: Files are created as ``open()`` creates them: the umask takes what it takes.
NEW_FILE_MODE = 0o666
NEW_FOLDER_MODE = 0o777
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def atomic_write(path: str | Path, data: bytes | str | Iterable[str]) -> None:
    """Write ``data`` to ``path`` atomically; raise :class:`OutputError` naming the file on failure.

    ``data`` may be text made a piece at a time (a registry-sized JSON report): each piece is
    encoded and written as it comes, so the whole text is never held twice (text and bytes)."""
    target = Path(path)
    check_target(target)
    pieces: Iterable[bytes | str] = [data] if isinstance(data, bytes | str) else data
    tmp_name: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = create_beside(target, mode=existing_mode(target))
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                handle.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
        fsync_dir(target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=target) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def create_beside(target: Path, *, mode: int | None = None) -> tuple[int, str]:
    """A new temp file ``.<name>.<random>.tmp`` in ``target``'s folder, open for writing:
    ``(fd, path)``. Created with :data:`NEW_FILE_MODE` less the umask, or set to ``mode``
    (the mode of the file it will replace)."""
    while True:
        name = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(name, _TEMP_FLAGS, NEW_FILE_MODE)
            break
        except FileExistsError:
            continue
    if mode is not None:
        try:
            os.fchmod(fd, mode)
        except OSError:
            os.close(fd)
            os.unlink(name)
            raise
    return fd, name


def create_temp_folder(parent: Path, prefix: str) -> Path:
    """A new folder ``<prefix><random>`` in ``parent``, with :data:`NEW_FOLDER_MODE` less the umask."""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            os.mkdir(folder, NEW_FOLDER_MODE)
            return folder
        except FileExistsError:
            continue


def existing_mode(path: Path) -> int | None:
    """The permission bits of the regular file at ``path`` (not following a symlink: a link is
    replaced, not its target), or ``None`` when there is none."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def check_target(path: str | Path) -> None:
    """Refuse a target that is there and is not a regular file (a link is replaced, not
    followed): renaming over a device node or a FIFO would replace it with a file (as root,
    ``-o /dev/null`` became a 0600 file), and a folder cannot hold a report."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise OutputError(f"not a regular file ({kind}); only a file is written", path=path)


def fsync_dir(folder: str | Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
