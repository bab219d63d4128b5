"""The one input layer: which inputs some paths name, in which order, and their bytes.

Every command that reads snapshots — ``parse``, ``diff``, ``check``, ``report``, ``snapshot add``
— lists its inputs with :func:`list_inputs` and reads each with :func:`read_unit`, so they all
see the same inputs in the same order and refuse the same things with the same words.

* **Paths**: a file named on the command line is always an input, whatever its name; a folder
  is walked recursively, sorted by name at every level (the order of sorting the paths by
  their parts), and gives its files ending ``.txt``, ``.json`` or ``.xml`` and its archives
  (``.tar.gz``, ``.tgz``, ``.zip``); names starting with a dot are skipped (documentation and
  CSV files beside the data are not records); a link to a folder is not followed. An archive
  gives its record members, read in place (never extracted), named ``archive!member``.
* **Nothing is skipped without a word**: a folder that cannot be listed, an archive that cannot
  be read, an archive member that is not a regular file (a link, a device) or is itself an
  archive, and anything named that is not a regular file (a FIFO would block a reader for
  ever, a device would never end) is an :class:`~auditor.errors.InputError` in the listing, in
  its place, and the other inputs are still listed.
* **Bounded**: no input larger than :data:`MAX_INPUT_BYTES` is read into memory; the limit is
  enforced while reading (a file that grows, an archive member whose header lies, standard
  input), not only from the size a ``stat`` gave, and a read holds about the input's size (no
  list of blocks joined at the end).
* **Names every writer can write**: a file name that is not UTF-8 (a Latin-1 name in a folder
  or a tar member; Python keeps its bytes as lone surrogates, PEP 383) is named with those
  bytes shown as ``\\xNN`` (:func:`shown_name`); the real path is kept to open the file.
* ``-`` names standard input (read bounded, refused when it is a terminal or closed).
* **Other files the commands read** (rule files, ``--baseline``, a previous report, the
  cache's manifest, a config file) go through :func:`read_file`: opened without blocking,
  regular files only, read bounded by a limit that says what it limits.

The listing does not read plain files (a ``stat`` each, made by the folder scan itself): the
cache decides from it which files to read at all, and workers read their own files.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

from auditor.errors import AuditorError, InputError, StoreError
from auditor.slots import slot_setters

RECORD_SUFFIXES = (".txt", ".json", ".xml")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
#: Larger inputs are refused rather than read into memory (a registry record is < 5 MB).
MAX_INPUT_BYTES = 256 * 1024 * 1024
_READ_BLOCK = 1024 * 1024
#: The largest JSON report read back (``--baseline``, the previous nightly report): a registry's
#: findings are a few hundred megabytes.
MAX_REPORT_BYTES = 1024 * 1024 * 1024
#: How ``-`` is named among the inputs.
STDIN_NAME = "-"
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


@dataclass(frozen=True, slots=True)
class InputUnit:
    """One input: a file on disk (``path``) or an archive member (``data``, read at listing).

    ``size`` and ``mtime_ns`` come from ``stat`` (``-1`` for archive members).
    ``known_sha256`` is what the cache last saw under this name: a worker that finds the same
    bytes says so instead of parsing them again. ``stored_sha256`` is what a snapshot store's
    index expects: other bytes are an error (the file changed behind the store's back).
    """

    name: str
    path: str | None = None
    data: bytes | None = None
    size: int = -1
    mtime_ns: int = -1
    known_sha256: str | None = None
    stored_sha256: str | None = None


_UNIT_FIELDS = ("name", "path", "data", "size", "mtime_ns", "known_sha256", "stored_sha256")


def _file_unit_maker() -> Callable[[str, int, int], InputUnit]:
    """``file_unit(path, size, mtime_ns)``: ``InputUnit(name=path, path=path, size=size,
    mtime_ns=mtime_ns)``'s equal, twice as fast (:mod:`auditor.slots`): a registry-sized
    listing makes 560,000 of them a night."""
    setters = slot_setters(InputUnit, _UNIT_FIELDS)
    if setters is None:  # pragma: no cover - InputUnit changed shape; stay correct
        return lambda path, size, mtime_ns: InputUnit(path, path, None, size, mtime_ns)
    s_name, s_path, s_data, s_size, s_mtime, s_known, s_stored = setters
    new = object.__new__

    def make(path: str, size: int, mtime_ns: int) -> InputUnit:
        unit = new(InputUnit)
        s_name(unit, path)
        s_path(unit, path)
        s_data(unit, None)
        s_size(unit, size)
        s_mtime(unit, mtime_ns)
        s_known(unit, None)
        s_stored(unit, None)
        return unit

    return make


file_unit = _file_unit_maker()


# --- listing ---------------------------------------------------------------------------------


def list_inputs(paths: Iterable[str | Path]) -> Iterator[InputUnit | InputError]:
    """Every input under ``paths``, in the one order every command uses (module docstring),
    or the error of each that cannot be an input, in its place."""
    for raw_path in paths:
        name = os.fspath(raw_path)
        if name == STDIN_NAME:
            yield stdin_unit()
            continue
        try:
            st = os.stat(name)
        except OSError as exc:
            yield _os_error(exc, shown_name(name))
            continue
        if stat.S_ISDIR(st.st_mode):
            if name in (".", "./"):
                yield from (_undotted(item) for item in _folder("."))
            else:
                yield from _folder(name)
        elif name.endswith(ARCHIVE_SUFFIXES) and stat.S_ISREG(st.st_mode):
            yield from archive_members(name)
        elif not stat.S_ISREG(st.st_mode):
            yield InputError(f"not a regular file ({_kind(st.st_mode)})", path=shown_name(name))
        else:
            yield _file(name, st.st_size, st.st_mtime_ns)


def shown_name(path: str) -> str:
    """``path`` as text any writer can encode: bytes of a name that are not UTF-8 (which Python
    keeps as lone surrogates) shown as ``\\xNN``; any other name is itself."""
    if path.isascii():
        return path
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte: show its code point
        return path.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _file(path: str, size: int, mtime_ns: int) -> InputUnit:
    """A file's unit: named by its path, or by its :func:`shown_name` when that differs."""
    name = shown_name(path)
    if name == path:
        return file_unit(path, size, mtime_ns)
    return InputUnit(name, path, None, size, mtime_ns)


def _undotted(item: InputUnit | InputError) -> InputUnit | InputError:
    """``audit check .`` names its files ``a/b.json``, not ``./a/b.json``."""
    if isinstance(item, InputError) or item.path is None:
        return item
    return _file(item.path.removeprefix("./"), item.size, item.mtime_ns)


def stdin_unit() -> InputUnit | InputError:
    """Standard input as one input named ``-``, read now (bounded): a pipe cannot be read
    twice. A terminal is refused (a run would wait for typing), as is a closed stream."""
    stream = sys.stdin
    if stream is None or stream.closed:
        return InputError("standard input is closed", path=STDIN_NAME)
    try:
        if stream.isatty():
            return InputError("standard input is a terminal; pipe a snapshot into it", path=STDIN_NAME)
        data = read_bounded(stream.buffer, STDIN_NAME)
    except (OSError, ValueError) as exc:
        return InputError(f"cannot read standard input: {exc}", path=STDIN_NAME)
    if isinstance(data, InputError):
        return data
    return InputUnit(name=STDIN_NAME, data=data, size=len(data))


def _folder(directory: str) -> Iterator[InputUnit | InputError]:
    """A folder's inputs, sorted by name at every level, with the ``stat`` the scan already
    made (plain strings, not Path objects: listing 560,000 files is part of a warm run)."""
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        yield InputError(f"cannot list folder: {exc.strerror or exc}", path=shown_name(directory))
        return
    suffixes = RECORD_SUFFIXES + ARCHIVE_SUFFIXES
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _folder(entry.path)
                continue
        except OSError as exc:
            yield _os_error(exc, shown_name(entry.path))
            continue
        if not entry.name.endswith(suffixes):
            continue
        try:
            st = entry.stat()
        except OSError as exc:
            yield _os_error(exc, shown_name(entry.path))
            continue
        if stat.S_ISDIR(st.st_mode):
            continue  # a link to a folder is not followed
        if not stat.S_ISREG(st.st_mode):
            yield InputError(f"not a regular file ({_kind(st.st_mode)})", path=shown_name(entry.path))
        elif entry.name.endswith(ARCHIVE_SUFFIXES):
            yield from archive_members(entry.path)
        else:
            yield _file(entry.path, st.st_size, st.st_mtime_ns)


def archive_members(path: str) -> Iterator[InputUnit | InputError]:
    """The record members of a tar or zip archive, sorted by name, named ``archive!member``,
    their bytes read (bounded) — there is no other way to name them."""
    shown = shown_name(path)
    try:
        if path.endswith(".zip"):
            yield from _zip_members(path)
        else:
            yield from _tar_members(path)
    except FileNotFoundError:
        yield InputError("no such file or directory", path=shown)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        yield InputError(f"unreadable archive: {exc}", path=shown)


def _zip_members(path: str) -> Iterator[InputUnit | InputError]:
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not _is_input_member(info.filename):
                continue
            name = f"{shown_name(path)}!{shown_name(info.filename)}"
            mode = info.external_attr >> 16  # Unix mode when the zip was made on Unix; type bits may be 0
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                yield InputError(f"archive member is not a regular file ({_kind(mode)}); not read", path=name)
            elif info.filename.endswith(ARCHIVE_SUFFIXES):
                yield InputError("archive inside an archive; not read", path=name)
            else:
                with archive.open(info) as handle:
                    yield _member(name, handle)


def _tar_members(path: str) -> Iterator[InputUnit | InputError]:
    with tarfile.open(path, "r:*") as archive:
        members = sorted((m for m in archive if not m.isdir()), key=lambda m: m.name)
        for member in members:
            if not _is_input_member(member.name):
                continue
            name = f"{shown_name(path)}!{shown_name(member.name)}"
            if not member.isfile():
                kind = "a link" if member.issym() or member.islnk() else "not a regular file"
                yield InputError(f"archive member is {kind}; not read", path=name)
            elif member.name.endswith(ARCHIVE_SUFFIXES):
                yield InputError("archive inside an archive; not read", path=name)
            else:
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have one
                    yield InputError("archive member cannot be read", path=name)
                    continue
                with handle:
                    yield _member(name, handle)


def _member(name: str, handle: IO[bytes]) -> InputUnit | InputError:
    data = read_bounded(handle, name)
    if isinstance(data, InputError):
        return data
    return InputUnit(name=name, data=data, size=len(data))


def _is_input_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not base.startswith(".") and base.endswith(RECORD_SUFFIXES + ARCHIVE_SUFFIXES)


# --- reading ---------------------------------------------------------------------------------


class InputBytes(NamedTuple):
    """One input's name and bytes (:func:`read_inputs`)."""

    name: str
    data: bytes


def read_inputs(paths: Iterable[str | Path]) -> Iterator[InputBytes | InputError]:
    """The bytes of every input under ``paths``, in :func:`list_inputs` order, or the error of
    each that cannot be listed or read, in its place."""
    for unit in list_inputs(paths):
        if isinstance(unit, InputError):
            yield unit
            continue
        try:
            yield InputBytes(unit.name, read_unit(unit))
        except InputError as exc:
            yield exc.detached()


def read_unit(unit: InputUnit) -> bytes:
    """The bytes of one input; :class:`InputError` (or :class:`StoreError` for a stored
    snapshot that no longer matches its hash) when it cannot be read.

    A file is opened without blocking and must be a regular file; it is read in blocks up to
    :data:`MAX_INPUT_BYTES`, so a file that grows while it is read cannot exhaust memory."""
    if unit.data is not None:
        return unit.data
    data = _read_regular(unit.path or unit.name, unit.name, MAX_INPUT_BYTES, InputError, "")
    if unit.stored_sha256 is not None and hashlib.sha256(data).hexdigest() != unit.stored_sha256:
        raise StoreError("snapshot file does not match its hash; run 'audit snapshot verify'", path=unit.name)
    return data


def read_file(
    path: str | Path, *, what: str, limit: int = MAX_INPUT_BYTES, error: type[AuditorError] = InputError
) -> bytes:
    """The bytes of a file a command reads besides its inputs (``what``: "rule file",
    "baseline", …): opened without blocking, a regular file only, at most ``limit`` bytes —
    a FIFO, a device (``/dev/zero``) or a file too large is one ``error`` naming the file."""
    name = os.fspath(path)
    return _read_regular(name, shown_name(name), limit, error, what)


def _read_regular(path: str, name: str, limit: int, error: type[AuditorError], what: str) -> bytes:
    """Open ``path`` without blocking (a FIFO would wait for a writer for ever), make sure it
    is a regular file, and read at most ``limit`` bytes of it; errors name it ``name``."""
    prefix = f"cannot read {what}: " if what else ""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise error(prefix + _os_error(exc, name).message, path=name) from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        try:
            st = os.fstat(fd)
        except OSError as exc:  # pragma: no cover - fstat of an open descriptor
            raise error(prefix + _os_error(exc, name).message, path=name) from None
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{prefix}not a regular file ({_kind(st.st_mode)})", path=name)
        if st.st_size > limit:
            raise error(f"{what or 'file'} too large ({st.st_size} bytes; limit {limit})", path=name)
        data = read_bounded(handle, name, limit, expected=st.st_size)
    if isinstance(data, InputError):
        raise error(prefix + data.message if what else data.message, path=name)
    return data


def read_bounded(
    handle: IO[bytes], name: str, limit: int = MAX_INPUT_BYTES, *, expected: int = -1
) -> bytes | InputError:
    """At most ``limit`` bytes of ``handle``; an :class:`InputError` if there are more.

    A file of ``expected`` bytes (its ``stat`` size) is read in one call, which makes the one
    bytes object it returns; a stream is gathered in a :class:`io.BytesIO`, whose value is its
    buffer (no second copy): either way the read holds about the input's size, not twice it."""
    try:
        rest = io.BytesIO()
        if 0 <= expected <= limit:
            first = handle.read(expected + 1)
            more = handle.read(1) if len(first) <= expected else b"-"
            if not more:  # the whole file (as the stat said, or less if it shrank)
                return first
            rest.write(first)
            rest.write(more)
        total = rest.tell()
        while total <= limit:
            block = handle.read(min(_READ_BLOCK, limit + 1 - total))
            if not block:
                return rest.getvalue()
            rest.write(block)
            total += len(block)
        return InputError(f"file too large (more than {limit} bytes)", path=name)
    except MemoryError:
        return InputError("not enough memory to read it", path=name)
    except OSError as exc:
        return _os_error(exc, name)
    except (EOFError, zipfile.BadZipFile, tarfile.TarError) as exc:
        return InputError(f"unreadable archive member: {exc}", path=name)


# --- errors ----------------------------------------------------------------------------------


def _os_error(exc: OSError, name: str) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError("no such file or directory", path=name)
    if isinstance(exc, IsADirectoryError):
        return InputError("is a directory", path=name)
    return InputError(f"cannot read: {exc.strerror or exc}", path=name)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a plain file"


__all__ = [
    "ARCHIVE_SUFFIXES",
    "MAX_INPUT_BYTES",
    "MAX_REPORT_BYTES",
    "RECORD_SUFFIXES",
    "STDIN_NAME",
    "InputBytes",
    "InputUnit",
    "archive_members",
    "file_unit",
    "list_inputs",
    "read_bounded",
    "read_file",
    "read_inputs",
    "read_unit",
    "shown_name",
    "stdin_unit",
]
