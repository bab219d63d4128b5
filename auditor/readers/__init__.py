"""Bytes in, records out: find the inputs, tell their format, hand them to the right reader.

Three formats, one model:

* Ignite text (study pages starting ``Viewing Study NCT…`` and module pages) — :mod:`.ignite_text`
* ClinicalTrials.gov API v2 JSON (one study, a list, ``{"studies": […]}``) — :mod:`.ctgov_json`
* legacy ClinicalTrials.gov XML (``<clinical_study>``) — :mod:`.ctgov_xml`

Inputs may be files, directories (walked recursively, in sorted order) and ``.tar.gz`` /
``.tgz`` / ``.zip`` archives (read in place). Inside directories and archives only files
ending ``.txt``, ``.json`` or ``.xml`` are read — documentation and CSV files beside the data
are not records. A file named on the command line is always read, whatever its name.

Errors never stop the other inputs: :func:`read_paths` yields each record or the
:class:`~auditor.errors.InputError` of the file that failed, in input order.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from auditor.errors import InputError
from auditor.records import Record, SourceFormat

RECORD_SUFFIXES = (".txt", ".json", ".xml")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
#: Larger inputs are refused rather than read into memory (a registry record is < 5 MB).
MAX_INPUT_BYTES = 256 * 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, path: str) -> tuple[str, list[str]]:
    """Decode an input to text: UTF-8 (a BOM is dropped), UTF-16 with a BOM, else Windows-1252.

    Returns the text and the problems met (a fallback decoding is a problem, not an error, so
    that no data is dropped). Binary and empty inputs are :class:`InputError`.
    """
    problems: list[str] = []
    if not data or data.isspace():  # (no copy of the input, unlike strip)
        raise InputError("empty file", path=path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-16 at byte {exc.start}", path=path) from exc
        problems.append("decoded as UTF-16")
    else:
        if data.find(b"\x00", 0, 8192) >= 0:
            raise InputError("binary file (NUL bytes), not a study record", path=path)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = data.decode("cp1252", errors="replace")
            problems.append(
                f"not valid UTF-8 (first bad byte at offset {exc.start}); decoded as Windows-1252"
            )
    if "\x00" in text:
        raise InputError("binary file (NUL characters), not a study record", path=path)
    return text, problems


def sniff(data: bytes) -> SourceFormat | None:
    """Tell the format from the first non-blank characters; ``None`` when it is none of ours."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    if head.startswith(b"\xfe\xff") or b"\x00" in head[:64]:
        try:
            head = data.decode("utf-16").lstrip("\ufeff \t\r\n")[:2048].encode("utf-8")
        except UnicodeDecodeError:
            return None
    if head[:1] in (b"{", b"["):
        return SourceFormat.CTGOV_JSON
    if head[:1] == b"<":
        return SourceFormat.CTGOV_XML
    if head.startswith(b"Viewing Study"):
        return SourceFormat.IGNITE_TEXT
    if b"Ignite Creation Date:" in head or b"NCT ID:" in head:
        return SourceFormat.IGNITE_MODULE
    return None


def read_bytes(data: bytes, path: str) -> list[Record | InputError]:
    """Every record in one input's bytes, or the error of each one that failed.

    A file that holds several records (a JSON list) can have good and bad ones: the good ones
    are kept and each bad one is an :class:`InputError` naming ``file#index``. A file that is
    not a record at all raises :class:`InputError`.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"file too large ({len(data)} bytes; limit {MAX_INPUT_BYTES})", path=path)
    if not data or data.isspace():  # (no copy of the input, unlike strip)
        raise InputError("empty file", path=path)
    fmt = sniff(data)
    if fmt is SourceFormat.CTGOV_JSON:
        from auditor.readers.ctgov_json import read_ctgov_json

        return list(read_ctgov_json(data, path))
    if fmt is SourceFormat.CTGOV_XML:
        from auditor.readers.ctgov_xml import read_ctgov_xml

        return [read_ctgov_xml(data, path)]
    if fmt in (SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE):
        from auditor.readers.ignite_text import read_ignite_text

        return list(read_ignite_text(data, path))
    decode_text(data, path)  # raises for binary input, with the clearer message
    raise InputError("not a study record (expected Ignite text, ClinicalTrials.gov JSON or XML)", path=path)


def iter_inputs(paths: Iterable[str | Path]) -> Iterator[tuple[str, bytes] | InputError]:
    """``(name, bytes)`` of every input under ``paths``, or the error of one that can't be read."""
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            yield from _walk_dir(path)
        elif path.name.endswith(ARCHIVE_SUFFIXES):
            yield from _walk_archive(path)
        else:
            yield _read_file(path)


def _read_file(path: Path) -> tuple[str, bytes] | InputError:
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            return InputError(f"file too large ({path.stat().st_size} bytes)", path=path)
        return str(path), path.read_bytes()
    except FileNotFoundError:
        return InputError("no such file or directory", path=path)
    except IsADirectoryError:
        return InputError("is a directory", path=path)
    except OSError as exc:
        return InputError(f"cannot read: {exc.strerror or exc}", path=path)


def _walk_dir(root: Path) -> Iterator[tuple[str, bytes] | InputError]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            if name.endswith(RECORD_SUFFIXES) or name.endswith(ARCHIVE_SUFFIXES):
                found.append(Path(folder, name))
    for path in sorted(found):
        if path.name.endswith(ARCHIVE_SUFFIXES):
            yield from _walk_archive(path)
        else:
            yield _read_file(path)


def _walk_archive(path: Path) -> Iterator[tuple[str, bytes] | InputError]:
    """Members of a tar or zip archive, named ``archive!member``."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if info.is_dir() or not _is_record_member(info.filename):
                        continue
                    yield f"{path}!{info.filename}", archive.read(info)
            return
        with tarfile.open(path, "r:*") as archive:
            members = sorted((m for m in archive if m.isfile()), key=lambda m: m.name)
            for member in members:
                if not _is_record_member(member.name):
                    continue
                handle = archive.extractfile(member)
                if handle is not None:
                    yield f"{path}!{member.name}", handle.read()
    except FileNotFoundError:
        yield InputError("no such file or directory", path=path)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        yield InputError(f"unreadable archive: {exc}", path=path)


def _is_record_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not base.startswith(".") and base.endswith(RECORD_SUFFIXES)


def read_paths(paths: Iterable[str | Path]) -> Iterator[Record | InputError]:
    """Every record under ``paths``, or the error of each input that failed, in input order.

    Ignite pages are held back to the end so that module pages can be merged with the study
    page of the same snapshot found in the same run (see :func:`.ignite_text.merge_module_pages`);
    JSON and XML records stream through.
    """
    pending: list[Record] = []
    for item in iter_inputs(paths):
        if isinstance(item, InputError):
            yield item
            continue
        name, data = item
        try:
            records = read_bytes(data, name)
        except InputError as exc:
            yield exc
            continue
        for record in records:
            if isinstance(record, InputError):
                yield record
            elif record.source.format in (SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE):
                pending.append(record)
            else:
                yield record
    if pending:
        from auditor.readers.ignite_text import merge_module_pages

        yield from merge_module_pages(pending)


def read_path(path: str | Path) -> list[Record]:
    """All records of one input; the first error is raised."""
    out: list[Record] = []
    for item in read_paths([path]):
        if isinstance(item, InputError):
            raise item
        out.append(item)
    return out


def read_one(path: str | Path) -> Record:
    """The single record of one snapshot file (``audit diff`` inputs); errors otherwise."""
    records = read_path(path)
    if len(records) != 1:
        raise InputError(f"expected one study record, found {len(records)}", path=path)
    return records[0]


__all__ = [
    "decode_text",
    "iter_inputs",
    "read_bytes",
    "read_one",
    "read_path",
    "read_paths",
    "sha256",
    "sniff",
]
