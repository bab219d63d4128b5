"""Bytes in, records out: tell an input's format and hand it to the right reader.

Three formats, one model:

* Ignite text (study pages starting ``Viewing Study NCT…`` and module pages) — :mod:`.ignite_text`
* ClinicalTrials.gov API v2 JSON (one study, a list, ``{"studies": […]}``) — :mod:`.ctgov_json`
* legacy ClinicalTrials.gov XML (``<clinical_study>``) — :mod:`.ctgov_xml`

Which inputs some paths name, in which order, and how their bytes are read is
:mod:`auditor.inputs`; :mod:`.decode` turns bytes into text, :mod:`.typing` raw text into typed
fields, and :mod:`.projection` builds only some fields of plain JSON/XML, fast.

Errors never stop the other inputs: :func:`read_paths` yields each record or the
:class:`~auditor.errors.InputError` of the input that failed, in input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from auditor.errors import AuditorError, InputError
from auditor.inputs import MAX_INPUT_BYTES, list_inputs, read_unit
from auditor.readers.ctgov_json import read_ctgov_json
from auditor.readers.ctgov_xml import read_ctgov_xml
from auditor.readers.decode import decode_text, sha256, sniff
from auditor.readers.ignite_text import merge_module_pages, read_ignite_text
from auditor.records import Record, SourceFormat

#: The Ignite formats: their pages of one snapshot are merged (module pages into study pages).
IGNITE_FORMATS = frozenset({SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE})


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
        return list(read_ctgov_json(data, path))
    if fmt is SourceFormat.CTGOV_XML:
        return [read_ctgov_xml(data, path)]
    if fmt in IGNITE_FORMATS:
        return list(read_ignite_text(data, path))
    decode_text(data, path)  # raises for binary input, with the clearer message
    raise InputError("not a study record (expected Ignite text, ClinicalTrials.gov JSON or XML)", path=path)


def read_paths(paths: Iterable[str | Path]) -> Iterator[Record | InputError]:
    """Every record under ``paths``, or the error of each input that failed, in input order.

    Ignite pages are held back to the end so that module pages can be merged with the study
    page of the same snapshot found in the same run (see :func:`.ignite_text.merge_module_pages`);
    JSON and XML records stream through.
    """
    pending: list[Record] = []
    for unit in list_inputs(paths):
        if isinstance(unit, InputError):
            yield unit
            continue
        try:
            records: Sequence[Record | InputError] = read_bytes(read_unit(unit), unit.name)
        except AuditorError as exc:
            # detached: an error kept by the caller must not keep the input's bytes alive
            yield exc.detached() if isinstance(exc, InputError) else InputError(exc.message, path=exc.path)
            continue
        for record in records:
            if isinstance(record, Record) and record.source.format in IGNITE_FORMATS:
                pending.append(record)
            else:
                yield record
    if pending:
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
    "IGNITE_FORMATS",
    "decode_text",
    "read_bytes",
    "read_one",
    "read_path",
    "read_paths",
    "sha256",
    "sniff",
]
