"""One Ignite page → one record: a study page (``Viewing Study NCT…``) or a module page.

The layouts are described in :mod:`auditor.readers.ignite_text`; the body of either page is
read by :func:`auditor.readers.ignite_body.parse_body`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from auditor.errors import InputError
from auditor.fields import IgniteModule, registry
from auditor.readers.ignite_body import Body, parse_body, show
from auditor.readers.ignite_labels import (
    IGNITE_CREATED,
    IGNITE_MODIFIED,
    MAX_LABEL,
    classify_label,
    find_module,
    fold,
    module_classifier,
)
from auditor.records import HEADER_SECTION, FieldColumns, Record, Source, SourceFormat, is_valid_nct_id

VIEWING_STUDY = "Viewing Study"
_MODULE_BODY_LABELS = frozenset(
    {IGNITE_CREATED.casefold(), IGNITE_MODIFIED.casefold(), "nct id", "study nct id"}
)


def page_starts(text: str, lines: list[str]) -> list[int]:
    """Indices of the ``Viewing Study`` lines of ``lines`` (``split_lines(text)``, ``text``
    with ``\\n`` line breaks only), found by ``str.find`` (a regex anchored at line starts, or
    a loop over the lines, cost a sixth of the reader's time)."""
    starts = []
    index = position = 0
    start = 0 if text.startswith(VIEWING_STUDY) else _next_viewing(text, 0)
    while start >= 0:
        index += text.count("\n", position, start)
        position = start
        if is_viewing_line(lines[index]):
            starts.append(index)
        start = _next_viewing(text, start)
    return starts


def _next_viewing(text: str, begin: int) -> int:
    """Offset of the next line at or after ``begin`` that starts with ``Viewing Study``, or -1."""
    found = text.find("\n" + VIEWING_STUDY, begin)
    return found + 1 if found >= 0 else -1


def is_viewing_line(line: str) -> bool:
    """``Viewing Study`` followed by at most one word: the first line of a study page."""
    if not line.startswith(VIEWING_STUDY):
        return False
    rest = line[len(VIEWING_STUDY) :]
    return rest == "" or (rest[0] in " \t" and len(rest.split()) <= 1)


def text_before_problem(lines: Sequence[str], first: int) -> str | None:
    """The problem for text before a file's first ``Viewing Study`` line, if there is any."""
    before = [i for i in range(first) if lines[i].strip()]
    if not before:
        return None
    where = "line 1" if first == 1 else f"lines 1-{first}"
    return (
        f"{where}: {len(before)} line(s) of text before '{VIEWING_STUDY}' "
        f"left out of the record (first: {show(lines[before[0]])})"
    )


def _positions(keys: tuple[str, ...], key: str) -> list[int]:
    """Where ``key`` is in ``keys``, found by ``tuple.index`` (no Python loop over all fields)."""
    out: list[int] = []
    position = -1
    while True:
        try:
            position = keys.index(key, position + 1)
        except ValueError:
            return out
        out.append(position)


def _cut_problem(lines: Sequence[str], last: int) -> str:
    return f"line {last}: page cut off (no line break after the last line {show(lines[last - 1])})"


def _page_record(
    nct_id: str, fmt: SourceFormat, path: str, digest: str, body: Body, cut: bool, problems: list[str]
) -> Record:
    return Record(
        nct_id=nct_id,
        source=Source(path, fmt, digest),
        columns=body.columns,
        ignite_created=body.created,
        ignite_modified=body.modified,
        truncated=cut,
        problems=tuple(problems),
    )


def read_study_page(
    lines: Sequence[str],
    first: int,
    last: int,
    path: str,
    digest: str,
    problems: list[str],
    cut: bool,
) -> Record:
    """The record of the study page ``lines[first:last]`` (``first`` its ``Viewing Study`` line)."""
    viewing = lines[first][len(VIEWING_STUDY) :].strip()
    header_nct = viewing if is_valid_nct_id(viewing) else None
    if header_nct is None:
        problems.append(f"line {first + 1}: '{VIEWING_STUDY}' line has no valid NCT ID: {show(viewing)}")
    body = parse_body(lines, first + 1, last, HEADER_SECTION, study=True, problems=problems)
    columns = body.columns
    nct_id = header_nct
    for position in _positions(columns.key, "nct_id"):
        value, line, label = columns.raw[position].strip(), columns.line[position], columns.label[position]
        if nct_id is None and is_valid_nct_id(value):
            nct_id = value
        elif header_nct is not None and value != header_nct:
            problems.append(f"line {line}: {label} {value!r} differs from '{VIEWING_STUDY} {header_nct}'")
    if nct_id is None:
        raise InputError("no NCT ID", path=path, line=first + 1)
    if cut:
        problems.append(_cut_problem(lines, last))
    return _page_record(nct_id, SourceFormat.IGNITE_TEXT, path, digest, body, cut, problems)


def page_module(title: Sequence[str]) -> IgniteModule | None:
    """The module a module page's title lines name: its first line (``Participant Flow
    Module``), else a step of a path line (``Study -> Results Section -> Adverse Events Module
    -> Event Groups``), the last one that names a module."""
    named = [line.strip() for line in title if line.strip() and "->" not in line][:1]
    steps = [step.strip() for line in title if "->" in line for step in reversed(line.split("->"))]
    for name in named + steps:
        module = find_module(name)
        if module is not None:
            return module
    return None


def module_section(name: str) -> str:
    """Section of a module page's fields from its title (``Description Module`` →
    ``descriptionModule`` → ``Study Overview``); ``Misc`` for a module the registry does not
    know, and for the pages of whole sections."""
    module = find_module(name)
    return registry().section_of_module(module.name if module is not None else name)


def read_module_page(
    lines: Sequence[str], path: str, digest: str, decode_problems: list[str], cut: bool
) -> Record:
    """The record of a module page: its title lines, then (from the first Ignite date or NCT ID
    line) its fields and relation lines, read with the module's own labels."""
    problems = list(decode_problems)
    start = 0
    for index, line in enumerate(lines):
        colon = line.find(":", 0, MAX_LABEL + 1)
        if colon > 0 and fold(line[:colon]) in _MODULE_BODY_LABELS:
            start = index
            break
    module = page_module(lines[:start])
    section = registry().section_of_module(module.name) if module is not None else "Misc"
    classify = module_classifier(module.name) if module is not None else classify_label
    body = parse_body(lines, start, len(lines), section, study=False, problems=problems, classify=classify)
    body = body._replace(columns=_registry_sections(body.columns))
    columns = body.columns
    nct_fields = [
        (columns.raw[i].strip(), columns.line[i], columns.label[i]) for i in _positions(columns.key, "nct_id")
    ]
    valid = [value for value, _, _ in nct_fields if is_valid_nct_id(value)]
    if not valid:
        raise InputError("no NCT ID", path=path, line=start + 1 if start else None)
    for value, line_no, label in nct_fields:
        if value != valid[0]:
            problems.append(f"line {line_no}: {label} {value!r} differs from {valid[0]!r}")
    if cut:
        problems.append(_cut_problem(lines, len(lines)))
    return _page_record(valid[0], SourceFormat.IGNITE_MODULE, path, digest, body, cut, problems)


def _registry_sections(columns: FieldColumns) -> FieldColumns:
    """A module page's registered fields in their registry section (``NCT ID`` in Study
    Overview on a Participant Flow page, ``Study Brief`` as the brief title), as the JSON
    reader puts them; the module's other fields stay in the module's section."""
    by_key = registry().by_key
    sections = tuple(
        section if spec is None else spec.section
        for section, spec in zip(columns.section, map(by_key.get, columns.key), strict=True)
    )
    if sections == columns.section:
        return columns
    return dataclasses.replace(columns, section=sections)


__all__ = [
    "VIEWING_STUDY",
    "is_viewing_line",
    "module_section",
    "page_module",
    "page_starts",
    "read_module_page",
    "read_study_page",
    "text_before_problem",
]
