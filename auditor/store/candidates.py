"""Inputs → snapshots to store: the bytes of each one and its index row.

JSON and XML studies stream: each is a candidate as soon as its file is read. Ignite pages are
held until every input of the add has been read (as :func:`auditor.readers.read_paths` holds
them), because a study's module pages may come in any input:

* a study page and the module pages of the same study with the same Ignite creation and
  modification dates are one snapshot, a ``.pages.txt`` file (:func:`.layout.join_pages`): the
  study page, then its module pages in the order they were given (the order ``read_paths``
  merges them in, so that ``Store.load`` gives the record ``read_paths`` gives). When several
  study pages share those dates, the first one takes the module pages, as the reader's merge
  does;
* module pages with no such study page are one snapshot per (study, Ignite dates): a single
  page is stored as it is (a ``.txt``), several are joined, in the order given;
* a study page with no module pages is stored as before.

Only pages given in the same add are joined: a module page added later, or with other dates, is
a snapshot of its own (and one with the same dates as a stored study page is a conflict).
Holding the Ignite pages costs their bytes in memory until the end of the add; registry-scale
JSON and XML never wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.errors import InputError, StoreError
from auditor.inputs import read_inputs
from auditor.readers import IGNITE_FORMATS, read_bytes
from auditor.records import Record, SourceFormat
from auditor.store.layout import (
    SnapshotEntry,
    entry_for,
    join_pages,
    read_pages,
    read_snapshot,
    read_source,
    snapshot_bytes,
)


@dataclass(frozen=True, slots=True)
class SnapshotBytes:
    """A snapshot held in memory rather than in a file (a fetched API response): ``name`` says
    where it came from (a URL) and stands for the source path in records and messages."""

    name: str
    data: bytes = field(repr=False)


@dataclass(slots=True)
class Candidate:
    """A snapshot about to be stored: the bytes to write and its index row."""

    entry: SnapshotEntry
    data: bytes = field(repr=False)


@dataclass(slots=True)
class _HeldPage:
    """An Ignite page waiting for the end of the inputs: its own bytes and what it belongs to."""

    name: str
    data: bytes = field(repr=False)
    key: tuple[str, datetime | None, datetime | None]
    study: Candidate | None  # set for a study page: how it is stored when it has no module page


def candidates(
    items: Iterable[str | Path | Record | SnapshotBytes], added: str
) -> Iterator[Candidate | InputError]:
    """Each input snapshot as the bytes and row to store, or the error of one that failed;
    Ignite pages come last, joined as the module docstring says."""
    held: list[_HeldPage] = []
    for item in items:
        if isinstance(item, Record):
            yield _record_candidate(item, added)
            continue
        inputs = [(item.name, item.data)] if isinstance(item, SnapshotBytes) else read_inputs([item])
        for got in inputs:
            if isinstance(got, InputError):
                yield got
                continue
            yield from _input_candidates(got[0], got[1], added, held)
    yield from _ignite_candidates(held, added)


def _record_candidate(record: Record, added: str) -> Candidate | InputError:
    """A record handed to ``add`` directly: its bytes are taken from its source again, and
    must read back as the same record (a record merged from several pages cannot be)."""
    try:
        payload = snapshot_bytes(record, read_source(record), 1)
        entry = entry_for(record, payload, added=added)
        stored = read_snapshot(payload, record.source.path, pages=False)
    except InputError as exc:
        return exc
    if _identity(stored) != _identity(record):
        return InputError(
            "the record is not what its source file holds (merged with Ignite module pages?); "
            "add the files instead",
            path=record.source.path,
        )
    return Candidate(entry, payload)


def _identity(record: Record) -> tuple[object, ...]:
    columns = record.columns
    return (record.nct_id, record.ignite_created, record.ignite_modified, columns.key, columns.raw)


def _input_candidates(
    name: str, data: bytes, added: str, held: list[_HeldPage]
) -> Iterator[Candidate | InputError]:
    try:
        records = read_bytes(data, name)
    except InputError as exc:
        yield exc
        return
    good = sum(1 for r in records if isinstance(r, Record))
    cache: dict[str, object] = {}
    for record in records:
        if isinstance(record, InputError):
            yield record
            continue
        try:
            payload = snapshot_bytes(record, data, good, cache)
            if record.source.format not in IGNITE_FORMATS:
                yield Candidate(entry_for(record, payload, added=added), payload)
                continue
            study = None
            if record.source.format is SourceFormat.IGNITE_TEXT:
                study = Candidate(entry_for(record, payload, added=added), payload)
            key = (record.nct_id, record.ignite_created, record.ignite_modified)
            held.append(_HeldPage(record.source.path, payload, key, study))
        except InputError as exc:
            yield exc


def _ignite_candidates(held: list[_HeldPage], added: str) -> Iterator[Candidate | InputError]:
    """Study pages (with their module pages) in input order, then the module pages left over."""
    modules: dict[tuple[str, datetime | None, datetime | None], list[_HeldPage]] = {}
    for page in held:
        if page.study is None:
            modules.setdefault(page.key, []).append(page)
    for page in held:
        if page.study is None:
            continue
        joined = modules.pop(page.key, [])
        yield _joined([page, *joined], added) if joined else page.study
    for pages in modules.values():
        yield _joined(pages, added)


def _joined(pages: list[_HeldPage], added: str) -> Candidate | InputError:
    """One snapshot of several Ignite pages (or of one module page alone)."""
    first = pages[0]
    try:
        if len(pages) == 1:
            record = read_snapshot(first.data, first.name, pages=False)
            return Candidate(entry_for(record, first.data, added=added), first.data)
        payload = join_pages([(p.name, p.data) for p in pages])
        record = read_pages(payload, first.name)
        return Candidate(entry_for(record, payload, added=added, pages=True), payload)
    except InputError as exc:
        return exc
    except StoreError as exc:  # the joined pages do not read back as one record
        return InputError(f"cannot store these Ignite pages together: {exc.message}", path=first.name)
