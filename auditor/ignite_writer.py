"""Write a record as an Ignite study page, in the seed's layout.

Layout: ``Viewing Study NCT…``, two blank lines, ``Ignite Creation Date:`` and
``Ignite Modification Date:`` (each only when known, so ``None`` survives the round trip), the
record's ``Header`` fields, then for each other section a blank line, the heading, a blank line and
its fields as ``Label: raw`` (``Label:`` when raw is empty). The text ends with a line break.

Only the fields the record has are written, nothing is added: a record read from JSON or XML
gets no summary block. Fields are grouped by section (header first, then the sections in the
order they first appear in the record), keeping the record's order inside each section; see
:func:`ignite_order`.

Line breaks inside values are written as ``\n``: a page is line-based and the reader takes any
line ending, so ``\r\n`` and ``\r`` inside a value become ``\n`` (see
:func:`normalise_line_breaks`; the legacy XML has many).

Round trip: ``read_ignite_text(write_ignite_text(r).encode(), p)`` gives back the fields of
:func:`expected_after_round_trip` (``ignite_order(r)``, line breaks normalised) with the same
section, label, key, raw, type and value, the same NCT ID and Ignite dates, and
``truncated=False`` — except for what plain text cannot say unambiguously, which
:func:`ambiguous_lines` reports: a value line that would be read as a field start or a section
heading, a value with trailing blank lines or a NUL, a label the reader would not take for a label
or that gives another key, a section that is not a registry section, an Ignite date with
seconds.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.errors import InputError
from auditor.records import HEADER_SECTION, Field, Record, is_valid_nct_id
from auditor.values import format_timestamp

_IGNITE_CREATED = "Ignite Creation Date"
_IGNITE_MODIFIED = "Ignite Modification Date"


def ignite_order(fields: Iterable[Field]) -> list[Field]:
    """Fields in the order the writer writes them: header fields first, then by section in the
    order of each section's first field; the record's order within a section."""
    groups: dict[str, list[Field]] = {HEADER_SECTION: []}
    for f in fields:
        groups.setdefault(f.section, []).append(f)
    return [f for group in groups.values() for f in group]


def normalise_line_breaks(raw: str) -> str:
    """``\r\n`` and lone ``\r`` → ``\n``: text pages are line-based, and the reader must take
    any line ending, so a carriage return inside a value cannot survive (the legacy XML has
    ``&#xD;`` in many text blocks). The writer writes values this way."""
    if "\r" not in raw:
        return raw
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def expected_after_round_trip(record: Record) -> list[Field]:
    """The fields ``read_ignite_text(write_ignite_text(record))`` should give (lines aside):
    :func:`ignite_order` with line breaks normalised and each changed field typed again."""
    from auditor.readers.typing import type_field

    out: list[Field] = []
    for f in ignite_order(record.fields):
        raw = normalise_line_breaks(f.raw)
        if raw != f.raw:
            f, _ = type_field(f.section, f.label, raw, key=f.key, line=f.line)
        out.append(f)
    return out


def _render(record: Record) -> tuple[list[str], list[tuple[int, Field]]]:
    """The page's lines and the 1-based line where each field starts."""
    lines = [f"Viewing Study {record.nct_id}", "", ""]
    if record.ignite_created is not None:
        lines.append(f"{_IGNITE_CREATED}: {format_timestamp(record.ignite_created)}")
    if record.ignite_modified is not None:
        lines.append(f"{_IGNITE_MODIFIED}: {format_timestamp(record.ignite_modified)}")
    starts: list[tuple[int, Field]] = []
    section = HEADER_SECTION
    for f in ignite_order(record.fields):
        if f.section != section:
            section = f.section
            lines.extend(("", section, ""))
        starts.append((len(lines) + 1, f))
        raw = normalise_line_breaks(f.raw)
        text = f"{f.label}: {raw}" if raw else f"{f.label}:"
        if "\n" in text:
            lines.extend(text.split("\n"))
        else:
            lines.append(text)
    return lines, starts


def write_ignite_text(record: Record) -> str:
    """The record as an Ignite study page (see the module docstring); ends with a line break."""
    lines, _ = _render(record)
    return "\n".join(lines) + "\n"


def _signature(f: Field) -> tuple[object, ...]:
    return (f.section, f.label, f.key, f.raw, f.type, f.value)


def ambiguous_lines(record: Record) -> list[str]:
    """Why ``write_ignite_text(record)`` would not read back as the same record; empty when it
    does. Found by reading the page back, so it agrees with the reader by construction."""
    from auditor.fields import registry
    from auditor.readers.ignite_text import read_ignite_text, split_lines

    reasons: list[str] = []
    if not is_valid_nct_id(record.nct_id):
        return [f"NCT ID {record.nct_id!r} is not valid"]
    for stamp, name in ((record.ignite_created, _IGNITE_CREATED), (record.ignite_modified, _IGNITE_MODIFIED)):
        if stamp is not None and (stamp.second or stamp.microsecond or stamp.tzinfo):
            reasons.append(f"{name} {stamp.isoformat()} has seconds or a time zone (written to the minute)")
    sections = set(registry().sections)
    for f in record.fields:
        if f.section != HEADER_SECTION and f.section not in sections:
            reasons.append(f"{f.label}: section {f.section!r} is not a registry section heading")
        if "\x00" in f.raw:
            reasons.append(f"{f.label}: value contains a NUL character")
    lines, starts = _render(record)
    text = "\n".join(lines) + "\n"
    try:
        [back] = read_ignite_text(text.encode("utf-8"), "<round trip>")
    except (InputError, ValueError) as exc:
        return [*reasons, f"page does not read back: {exc}"]
    if isinstance(back, InputError):  # pragma: no cover - one page in, one page out
        return [*reasons, f"page does not read back: {back}"]
    if back.ignite_created != record.ignite_created or back.ignite_modified != record.ignite_modified:
        reasons.append("Ignite dates do not read back the same")
    page = split_lines(text)
    wanted = expected_after_round_trip(record)
    starts = [(line, wanted[i]) for i, (line, _) in enumerate(starts)]
    expected = dict(starts)
    got = {f.line: f for f in back.fields}
    start_lines = sorted(expected)
    for line in got:
        if line not in expected:
            owner = _owner(start_lines, expected, line or 0)
            reasons.append(f"{owner}: value line would start a field: {page[(line or 1) - 1][:80]!r}")
    for line, f in starts:
        read = got.get(line)
        if read is None:
            reasons.append(f"{f.label}: label line would be read as part of the value before it")
        elif _signature(read) != _signature(f):
            reasons.append(f"{f.label}: reads back differently ({_difference(f, read)})")
    return reasons


def _owner(start_lines: list[int], expected: dict[int, Field], line: int) -> str:
    before = [s for s in start_lines if s < line]
    return expected[before[-1]].label if before else "header"


def _difference(wrote: Field, read: Field) -> str:
    for name in ("section", "label", "key", "raw", "type", "value"):
        a, b = getattr(wrote, name), getattr(read, name)
        if a != b:
            return f"{name} {str(a)[:40]!r} → {str(b)[:40]!r}"
    return "same"  # pragma: no cover
