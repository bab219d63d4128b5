"""What a stored snapshot is called, where it sorts and which bytes it holds.

* The file name: ``<modified>_<tiebreak>_<sha256[:12]>.<txt|json|xml>`` inside the study's
  folder (:func:`snapshot_name`); the stamps are the two ordering dates with ``-`` and ``:``
  removed, ``undated`` when unknown.
* The ordering dates (:func:`order_dates`) and the content identity (:func:`content_sha`).
* Paths inside the store (:func:`safe_path`): nothing read from the index may leave it, and
  no stored file is read unless it is a regular file (:func:`read_stored`).
* How one study's bytes are cut out of a file that holds several (:func:`snapshot_bytes`).
* Ignite pages stored together (:func:`join_pages`, :func:`read_snapshot`): a study page and
  the module pages of the same study with the same Ignite dates, or module pages alone, are one
  snapshot, a ``.pages.txt`` file — the pages as UTF-8 text, in the order they were given,
  separated by a line holding only U+001E (RECORD SEPARATOR, the separator of JSON text
  sequences, RFC 7464). Reading it back splits it there, reads each page as the Ignite reader
  does and merges them with :func:`auditor.readers.ignite_text.merge_module_pages`, so the
  record is the one :func:`auditor.readers.read_paths` gives for the same files. A page that
  itself holds U+001E cannot be stored with others (an input error names it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from auditor.errors import InputError, StoreError
from auditor.inputs import read_inputs
from auditor.readers import IGNITE_FORMATS, decode_text, read_bytes, sha256
from auditor.readers.ctgov_json import replace_lone_surrogates
from auditor.readers.ignite_text import is_viewing_line, merge_module_pages, split_lines
from auditor.records import Record, Source, SourceFormat, is_valid_nct_id
from auditor.values import PartialDate, parse_date

#: Fields that say when a snapshot was captured rather than what the registry holds.
CAPTURE_KEYS = frozenset({"version_holder", "download_date"})
EXTENSIONS = {
    SourceFormat.IGNITE_TEXT: "txt",
    SourceFormat.IGNITE_MODULE: "txt",
    SourceFormat.CTGOV_JSON: "json",
    SourceFormat.CTGOV_XML: "xml",
}
#: Extension of a snapshot made of several Ignite pages (see the module docstring).
PAGES_EXTENSION = "pages.txt"
PAGE_SEPARATOR = "\n\x1e\n"
_STAMP = r"(?:[0-9]{4}(?:[0-9]{2}(?:[0-9]{2}(?:T[0-9]{4})?)?)?|undated)"  # ASCII digits only
SNAPSHOT_NAME = re.compile(rf"{_STAMP}_{_STAMP}_[0-9a-f]{{12}}\.(?:txt|pages\.txt|json|xml)")
_WORDY_DATE = re.compile(r"[A-Za-z]+\.?\s+\d{1,2},\s*\d{4}|[A-Za-z]+\.?\s+\d{4}|\d{4}-\d{2}(?:-\d{2})?")


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

    @property
    def captured(self) -> str:
        """The day the snapshot was captured (ISO ``YYYY-MM-DD``), what ``--as-of`` compares
        with: see :func:`captured_day`."""
        return captured_day(self)

    @property
    def dated(self) -> bool:
        """Whether the snapshot has any ordering date; an undated one's place in the timeline
        is unknown (it is put last, by when it was added)."""
        return self.order_key[0] != "" or self.order_key[1] != ""

    def to_dict(self) -> dict[str, object]:
        return {
            "nct_id": self.nct_id,
            "path": self.path,
            "sha256": self.sha256,
            "format": str(self.format),
            "ignite_created": iso_minutes(self.ignite_created),
            "ignite_modified": iso_minutes(self.ignite_modified),
            "modified": self.modified,
            "tiebreak": self.tiebreak,
            "registry_updated": self.registry_updated,
            "content_sha": self.content_sha,
            "size": self.size,
            "added": self.added,
        }


# --------------------------------------------------------------------------- record → entry


def last_day(text: str) -> str:
    """The last day an ISO date of any precision can mean (``2020-09`` → ``2020-09-30``,
    ``2020`` → ``2020-12-31``); text that is not such a date is returned as it is."""
    parsed = parse_date(text)
    return text if parsed is None else parsed.latest().isoformat()


def captured_day(entry: SnapshotEntry) -> str:
    """The day ``entry`` was captured, as ``--as-of`` reads it (``YYYY-MM-DD``):

    * an Ignite page: its Ignite Modification Date (else its Creation Date) — the export
      carries the record as it stood then;
    * API v2 JSON: ``versionHolder``, the registry's data-version date of the download; legacy
      XML: ``download_date`` ("ClinicalTrials.gov processed this data on …");
    * else the registry's own last-update date (Last Update Submitted, else Posted): the
      record cannot have been captured before it was last updated;
    * an undated snapshot (none of these): the day (UTC) it was added to the store.

    A date of month or year precision counts from the last day it can mean (``2026-11`` is
    2026-11-30), so a past night never takes a snapshot that may have been captured after it.
    The index computes the same in SQL (:data:`auditor.store.index.CAPTURED`)."""
    if entry.ignite_modified is not None:
        return entry.ignite_modified.date().isoformat()
    if entry.ignite_created is not None:
        return entry.ignite_created.date().isoformat()
    if entry.tiebreak:
        return last_day(entry.tiebreak)
    if entry.modified:
        return last_day(entry.modified)
    return entry.added[:10]


def iso_minutes(value: datetime | None) -> str | None:
    """An Ignite timestamp as the index keeps it (ISO, to the minute), or ``None``."""
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
    """``(modified, tiebreak)`` of a record, as documented in :mod:`auditor.store`."""
    if record.ignite_modified is not None or record.ignite_created is not None:
        return iso_minutes(record.ignite_modified) or "", iso_minutes(record.ignite_created) or ""
    capture = _date_text(record, "version_holder") or _date_text(record, "download_date")
    return registry_updated(record), capture


def content_sha(record: Record) -> str:
    """Hash of what the record says (fields' keys and raw text), not of when it was captured:
    SHA-256 of ``key U+001E raw U+001F`` for each field in order, in UTF-8, hashed in one call
    (0.11 ms a registry study instead of 0.16 ms with an update per piece)."""
    columns = record.columns
    text = "".join(
        f"{key}\x1e{raw}\x1f"
        for key, raw in zip(columns.key, columns.raw, strict=True)
        if key not in CAPTURE_KEYS
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _compact(stamp: str) -> str:
    return stamp.replace("-", "").replace(":", "") or "undated"


def snapshot_name(entry_dates: tuple[str, str], sha: str, ext: str) -> str:
    return f"{_compact(entry_dates[0])}_{_compact(entry_dates[1])}_{sha[:12]}.{ext}"


def entry_for(
    record: Record, data: bytes, *, added: str, path: str | None = None, pages: bool = False
) -> SnapshotEntry:
    """The index row of ``record`` stored as ``data`` (named after its dates and hash unless
    ``path`` is given; ``pages``: a ``.pages.txt`` file of several Ignite pages); the NCT ID is
    validated before it becomes a path."""
    if not is_valid_nct_id(record.nct_id):
        raise InputError(f"invalid NCT ID {record.nct_id!r}", path=record.source.path)
    sha = hashlib.sha256(data).hexdigest()
    dates = order_dates(record)
    if path is None:
        ext = PAGES_EXTENSION if pages else EXTENSIONS[record.source.format]
        path = f"{record.nct_id}/{snapshot_name(dates, sha, ext)}"
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


# --------------------------------------------------------------------------- paths in the store


def safe_path(root: Path, rel: str, index_path: Path) -> Path:
    """The file of an index row, refusing anything that could leave the store."""
    parts = rel.split("/")
    if len(parts) != 2 or not is_valid_nct_id(parts[0]) or not SNAPSHOT_NAME.fullmatch(parts[1]):
        raise StoreError(f"index names an unexpected path {rel!r}", path=index_path)
    folder = root / parts[0]
    if folder.is_symlink():
        raise StoreError("record folder is a symlink; refusing to follow it", path=folder)
    if (folder / parts[1]).is_symlink():
        raise StoreError("snapshot file is a symlink; refusing to follow it", path=folder / parts[1])
    return folder / parts[1]


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symlink"),
)


def file_kind(mode: int) -> str | None:
    """What a non-regular file is (``"a FIFO"``, ``"a socket"`` …); ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_stored(path: Path) -> bytes:
    """The bytes of a file in the store, never blocking and never following a link.

    A FIFO, socket or device put in place of a stored file would hang a plain ``open`` or
    never end; the file is looked at first (``lstat``), opened with ``O_NONBLOCK|O_NOFOLLOW``
    and checked again on the open descriptor (``fstat``), and anything but a regular file is a
    :class:`StoreError` naming it."""
    try:
        kind = file_kind(os.lstat(path).st_mode)
        if kind is None:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                kind = file_kind(os.fstat(fd).st_mode)
                if kind is None:
                    with os.fdopen(fd, "rb", closefd=False) as handle:
                        return handle.read()
            finally:
                os.close(fd)
    except OSError as exc:
        raise StoreError(
            f"snapshot file unreadable ({exc.strerror or exc}); run 'audit snapshot verify'", path=path
        ) from exc
    raise StoreError(f"not a regular file ({kind}) where a snapshot should be; not read", path=path)


def read_snapshot(data: bytes, name: str, *, pages: bool | None = None) -> Record:
    """The one record a stored snapshot file holds: :class:`InputError` when it does not read,
    :class:`StoreError` when it holds another number of records. A ``.pages.txt`` file (or
    ``pages=True``) is read with :func:`read_pages`."""
    if name.endswith("." + PAGES_EXTENSION) if pages is None else pages:
        return read_pages(data, name)
    records = [r for r in read_bytes(data, name) if isinstance(r, Record)]
    if len(records) != 1:
        raise StoreError(f"snapshot file holds {len(records)} records, expected 1", path=name)
    return records[0]


# --------------------------------------------------------------------------- Ignite pages together


def join_pages(pages: list[tuple[str, bytes]]) -> bytes:
    """The ``.pages.txt`` bytes of ``(name, bytes)`` Ignite pages, first page first."""
    texts: list[str] = []
    for name, data in pages:
        text, _ = decode_text(data, name)
        if "\x1e" in text:
            raise InputError(
                "holds U+001E, the separator of Ignite pages stored together; cannot store it "
                "with the other pages of its snapshot",
                path=name,
            )
        texts.append(text)
    return PAGE_SEPARATOR.join(texts).encode("utf-8")


def read_pages(data: bytes, name: str) -> Record:
    """The record of a ``.pages.txt`` snapshot: its pages read one by one (the first named
    ``name``, the next ``name#1``, …) and merged as :func:`auditor.readers.read_paths` merges
    pages; the record's source is the whole file."""
    text, _ = decode_text(data, name)
    records: list[Record] = []
    for number, page in enumerate(text.split(PAGE_SEPARATOR)):
        part = name if number == 0 else f"{name}#{number}"
        found = [r for r in read_bytes(page.encode("utf-8"), part) if isinstance(r, Record)]
        if len(found) != 1 or found[0].source.format not in IGNITE_FORMATS:
            raise StoreError(f"page {number + 1} is not one Ignite page", path=name)
        records.append(found[0])
    merged = merge_module_pages(records)
    if len(merged) != 1:
        raise StoreError(f"the pages make {len(merged)} records, expected 1", path=name)
    first = merged[0]
    return Record(
        nct_id=first.nct_id,
        source=Source(name, first.source.format, sha256(data)),
        columns=first.columns,
        ignite_created=first.ignite_created,
        ignite_modified=first.ignite_modified,
        truncated=first.truncated,
        problems=first.problems,
    )


# --------------------------------------------------------------------------- input → bytes


def snapshot_bytes(
    record: Record, data: bytes, siblings: int, cache: dict[str, object] | None = None
) -> bytes:
    """The bytes to store for ``record`` read from ``data`` (see :mod:`auditor.store`).

    A file of one study (or one Ignite module page) is stored as it is; one study page of a
    file of several is cut out
    (:func:`ignite_page`); one study of a multi-study JSON file is its own element,
    re-serialised (:func:`json_study_bytes`). ``cache`` holds the parsed JSON document between
    the records of one input."""
    if record.source.format is SourceFormat.IGNITE_MODULE:
        return data  # a module page is always a file of its own
    index = _element_index(record.source.path)
    if record.source.format is SourceFormat.IGNITE_TEXT:
        if index is None:
            return data
        page = ignite_page(data, index)
        if page is None or not _reads_back_as(page, record.nct_id):
            raise InputError(
                "cannot cut this study page out of its file to store it", path=record.source.path
            )
        return page
    if record.source.format is SourceFormat.CTGOV_XML or index is None:
        return data  # the JSON reader names a study inside a container ``file#N``
    return json_study_bytes(record, data, index, siblings, {} if cache is None else cache)


def _element_index(source_path: str) -> int | None:
    match = re.search(r"#(\d+)$", source_path)
    return int(match.group(1)) if match else None


def ignite_page(data: bytes, number: int) -> bytes | None:
    """Page ``number`` (0-based, as the reader numbers them: ``file#0``) of a file of several
    Ignite study pages, as UTF-8 bytes: from its ``Viewing Study`` line to the next one, with
    trailing blank lines dropped and a final line break unless the page was cut off."""
    text, _ = decode_text(data, "page")
    lines = split_lines(text)
    starts = [i for i, line in enumerate(lines) if is_viewing_line(line)]
    if not 0 <= number < len(starts):
        return None
    bounds = [*starts, len(lines)]
    page = "\n".join(lines[bounds[number] : bounds[number + 1]]).rstrip("\n")
    cut = number == len(starts) - 1 and not text.endswith(("\n", "\r"))
    return (page if cut else page + "\n").encode("utf-8")


def json_study_bytes(
    record: Record, data: bytes, index: int, siblings: int, cache: dict[str, object]
) -> bytes:
    """The JSON element of ``record`` in the multi-study document ``data``, serialised on its
    own (wrapped as the document wraps it when the element alone does not read back)."""
    if "document" not in cache:
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
    candidates = [index] if 0 <= index < len(elements) else []
    candidates += [i for i in range(len(elements)) if i != index]
    for i in candidates:
        element = elements[i]
        if record.nct_id not in json.dumps(element):
            continue
        for payload in (_serialise(element), _serialise(_wrap_one(document, container, element))):
            if _reads_back_as(payload, record.nct_id):
                return payload
    raise InputError(f"cannot find {record.nct_id}'s own JSON element to store", path=record.source.path)


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
        fields = document.get("StudyFieldsResponse")
        if isinstance(fields, dict) and isinstance(fields.get("StudyFields"), list):
            return fields["StudyFields"], "StudyFieldsResponse"
    return None


def _serialise(element: object) -> bytes:
    return (json.dumps(element, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


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
    if container == "StudyFieldsResponse" and isinstance(document, dict):
        wrapper = dict(document["StudyFieldsResponse"])
        wrapper["StudyFields"] = [element]
        wrapper["NStudiesReturned"] = 1
        return {**document, "StudyFieldsResponse": wrapper}
    return [element]


def _reads_back_as(payload: bytes, nct_id: str) -> bool:
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


def read_source(record: Record) -> bytes:
    """The input bytes a record was read from (for records handed to ``add`` directly)."""
    outer, member = _split_source(record.source.path)
    for item in read_inputs([outer]):
        if isinstance(item, InputError):
            raise item
        name, data = item
        if member is None or name == f"{outer}!{member}":
            return data
    raise InputError("cannot find the record's source to store its bytes", path=record.source.path)
