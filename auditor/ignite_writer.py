"""Write a record as Ignite pages: a study page in the seed's layout, and module pages.

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

Module pages (:func:`write_ignite_pages`): the fields of some API v2 modules (by default the
results modules) each on a page of their own, in the layout the Ignite site prints: the module's
title and path line (``Study -> Results Section -> Participant Flow Module``), the Ignite dates,
``NCT ID:``, the module's fields — a direct field of the module under its API name in words
(``Pre Assignment Details``), any other under its registry or path label — and the relation lines
``Study:``, ``Study Brief:`` and the section's. The study page keeps the other fields. Read
together (:func:`auditor.readers.read_paths`), the pages merge into one record with the same
fields, keys, raw text and types as the record written, labels aside (a module page writes its
own); :func:`pages_ambiguities` names what would not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

from auditor.errors import InputError
from auditor.fields import IgniteModule, path_key, registry
from auditor.readers.ignite_labels import IF_ANY, ignite_words, module_labels
from auditor.readers.ignite_text import merge_module_pages, read_ignite_text, split_lines
from auditor.readers.typing import type_field
from auditor.records import HEADER_SECTION, Field, Record, is_valid_nct_id
from auditor.values import format_timestamp

#: The modules :func:`write_ignite_pages` writes on pages of their own unless told otherwise.
RESULTS_MODULES = (
    "participantFlowModule",
    "baselineCharacteristicsModule",
    "outcomeMeasuresModule",
    "adverseEventsModule",
    "moreInfoModule",
)

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


class Page(NamedTuple):
    """One page :func:`write_ignite_pages` writes: ``module`` is ``None`` for the study page."""

    module: str | None
    text: str


def module_of(field: Field) -> str | None:
    """The API v2 module a field of a JSON record belongs to (``participant_flow_module.
    groups[0].title`` → ``participantFlowModule``; a registered field by its JSON path), or
    ``None`` (XML, Ignite-only and top-level fields)."""
    spec = registry().by_key.get(field.key)
    if spec is not None:
        parts = (spec.json or "").split(".")
        return parts[1] if len(parts) > 2 and parts[1] in registry().ignite_modules else None
    return _modules_by_key_prefix().get(field.key.split(".", 1)[0].split("[", 1)[0])


@lru_cache(maxsize=1)
def _modules_by_key_prefix() -> dict[str, str]:
    modules = registry().ignite_modules.values()
    return {path_key(m.name): m.name for m in modules if "." in m.path}  # modules, not sections


def split_by_module(
    fields: Iterable[Field], modules: Sequence[str] = RESULTS_MODULES
) -> tuple[list[Field], dict[str, list[Field]]]:
    """The fields of no module in ``modules``, and those of each module (in the order of each
    module's first field)."""
    by_module: dict[str, list[Field]] = {}
    rest: list[Field] = []
    for f in fields:
        module = module_of(f)
        if module is not None and module in modules:
            by_module.setdefault(module, []).append(f)
        else:
            rest.append(f)
    return rest, by_module


def write_ignite_pages(record: Record, modules: Sequence[str] = RESULTS_MODULES) -> list[Page]:
    """The study page with the fields of no module in ``modules``, then one page per module of
    ``modules`` the record has fields of, in the record's order (see the module docstring)."""
    rest, by_module = split_by_module(record.fields, modules)
    study = Record(
        record.nct_id,
        record.source,
        tuple(rest),
        ignite_created=record.ignite_created,
        ignite_modified=record.ignite_modified,
    )
    pages = [Page(None, write_ignite_text(study))]
    for module, fields in by_module.items():
        lines = _module_page(record, registry().ignite_modules[module], fields)
        pages.append(Page(module, "\n".join(lines) + "\n"))
    return pages


def read_pages(pages: Sequence[Page], name: str = "pages") -> Record:
    """The pages of :func:`write_ignite_pages` read back and merged, as a run reading them
    would (module pages into the study page); :class:`InputError` when one does not read."""
    records: list[Record] = []
    for page in pages:
        for item in read_ignite_text(page.text.encode("utf-8"), f"{name}/{page.module or 'study'}.txt"):
            if isinstance(item, InputError):  # pragma: no cover - one page in, one page out
                raise item
            records.append(item)
    [merged] = merge_module_pages(records)
    return merged


def expected_after_pages(record: Record, modules: Sequence[str] = RESULTS_MODULES) -> list[Field]:
    """The fields :func:`read_pages` of :func:`write_ignite_pages` should give, labels and lines
    aside: the study page's, then each module page's, line breaks normalised."""
    rest, by_module = split_by_module(record.fields, modules)
    out = expected_after_round_trip(Record(record.nct_id, record.source, tuple(rest)))
    for fields in by_module.values():
        for f in fields:
            raw = normalise_line_breaks(f.raw)
            out.append(f if raw == f.raw else type_field(f.section, f.label, raw, key=f.key)[0])
    return out


def pages_ambiguities(record: Record, modules: Sequence[str] = RESULTS_MODULES) -> list[str]:
    """Why :func:`write_ignite_pages` would not read back as the record (labels aside); empty
    when it does. Found by reading the pages back, so it agrees with the reader."""
    try:
        back = read_pages(write_ignite_pages(record, modules))
    except InputError as exc:
        return [f"pages do not read back: {exc}"]
    wanted = [_content(f) for f in expected_after_pages(record, modules)]
    got = [_content(f) for f in back.fields]
    if got == wanted:
        return []
    missing = [c for c in wanted if c not in got]
    extra = [c for c in got if c not in wanted]
    reasons = [f"{c[1]}: does not read back ({str(c[2])[:40]!r})" for c in missing]
    reasons += [f"{c[1]}: read but not written ({str(c[2])[:40]!r})" for c in extra]
    return reasons or ["fields read back in another order"]


def _content(f: Field) -> tuple[object, ...]:
    return (f.section, f.key, f.raw, f.type, f.value)


def _module_page(record: Record, module: IgniteModule, fields: list[Field]) -> list[str]:
    section_name = ignite_words(module.path.split(".", 1)[0])
    title = ignite_words(module.name)
    lines = [title, f"Study -> {section_name} -> {title}", "", ""]
    if record.ignite_created is not None:
        lines.append(f"{_IGNITE_CREATED}: {format_timestamp(record.ignite_created)}")
    if record.ignite_modified is not None:
        lines.append(f"{_IGNITE_MODIFIED}: {format_timestamp(record.ignite_modified)}")
    lines.append(f"NCT ID: {record.nct_id}")
    own_label = {
        key: written
        for _, key, written, anywhere in module_labels(module.name).values()
        if anywhere and not written.endswith(IF_ANY)
    }
    spec_of = registry().by_key.get
    for f in fields:
        spec = spec_of(f.key)
        label = own_label.get(f.key) or (spec.label if spec is not None else f.label)
        raw = normalise_line_breaks(f.raw)
        lines.extend((f"{label}: {raw}" if raw else f"{label}:").split("\n"))
    lines.extend((f"Study: {record.nct_id}", "Study Brief:", f"{section_name}: {record.nct_id}"))
    return lines


def _signature(f: Field) -> tuple[object, ...]:
    return (f.section, f.label, f.key, f.raw, f.type, f.value)


def ambiguous_lines(record: Record) -> list[str]:
    """Why ``write_ignite_text(record)`` would not read back as the same record; empty when it
    does. Found by reading the page back, so it agrees with the reader by construction."""
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
