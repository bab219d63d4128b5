"""The body of an Ignite page: where fields start (the hot loop), then the typed fields.

:func:`parse_body` reads ``lines[first:last]`` of one page in two passes: :func:`find_field_starts`
finds where each field starts and which lines continue it (a few string operations a line,
no object per field), then :func:`finish_body` joins the continuation lines and
:func:`build_fields` types the values as columns. The rules for where a field starts are in
:mod:`auditor.readers.ignite_text`.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from itertools import compress, pairwise
from operator import itemgetter
from typing import NamedTuple

from auditor.fields import registry
from auditor.readers.ignite_labels import (
    IGNITE_CREATED,
    IGNITE_MODIFIED,
    MAX_LABEL,
    Classifier,
    Kind,
    classify_label,
    section_headings,
    special_label,
)
from auditor.readers.typing import UNTYPED_LITERALS, registered_typing
from auditor.records import FieldColumns, is_valid_nct_id
from auditor.values import Value, ValueType, parse_timestamp, type_value


def show(line: str, width: int = 60) -> str:
    """A line quoted for a problem, cut at ``width`` characters."""
    return repr(line if len(line) <= width else line[:width] + "…")


class Starts(NamedTuple):
    """Where fields start, in parallel lists (no tuple per field: fewer objects for the garbage
    collector to track): label, 1-based line, key and first line of the value of each field;
    the continuation lines of each field that has some, by field index; where each section's
    fields start; the Ignite dates read (with their lines)."""

    labels: list[str]
    line_nos: list[int]
    keys: list[str]
    values: list[str]
    more: dict[int, list[str]]
    section_starts: list[tuple[int, str]]
    dates: dict[str, tuple[datetime | None, int]]


class Body(NamedTuple):
    columns: FieldColumns
    created: datetime | None
    modified: datetime | None


def parse_body(
    lines: Sequence[str],
    first: int,
    last: int,
    section: str,
    *,
    study: bool,
    problems: list[str],
    classify: Classifier = classify_label,
) -> Body:
    """Fields of ``lines[first:last]`` (0-based; problems name 1-based lines).

    ``study`` pages have a summary block and section headings; module pages have relation lines
    and read their labels with their module's ``classify``."""
    starts = find_field_starts(lines, first, last, section, study=study, problems=problems, classify=classify)
    return finish_body(starts, problems)


def find_field_starts(
    lines: Sequence[str],
    first: int,
    last: int,
    section: str,
    *,
    study: bool,
    problems: list[str],
    classify: Classifier,
) -> Starts:
    """The first pass: where fields start (the hot loop, kept to a few string operations a line).

    ``kind`` is the kind of the field being read (``None`` outside any field) and ``cont`` its
    continuation lines; ``special_zone`` is where the Ignite dates (and, on module pages, the
    relation lines) are read; rule c's places are ``in_header``, ``after_heading``, no field yet,
    and the line right after a single-line field's label line (``prev_is_start``)."""
    found_starts = Starts([], [], [], [], {}, [(0, section)], {})
    labels, line_nos, keys, values, more, section_starts, dates = found_starts
    sections, longest = section_headings()
    heading_max, label_end = longest + 8, MAX_LABEL + 1
    unknown, single = Kind.UNKNOWN, Kind.SINGLE
    in_header, special_zone, after_heading, prev_is_start = study, True, False, False
    kind: Kind | None = None
    cont: list[str] | None = None  # the continuation lines of the field being read
    add_label, add_line, add_key, add_value = labels.append, line_nos.append, keys.append, values.append
    for number, line in enumerate(lines[first:last], first + 1):  # number: the 1-based line
        colon = line.find(":", 0, label_end)
        if colon > 0 and line[0].isalpha():  # (so not a blank line)
            candidate = line[:colon]
            if (
                special_zone
                and colon <= 40
                and special_label(candidate) is not None
                and take_special(candidate, line[colon + 1 :].strip(), number, study, dates, problems)
            ):
                kind = cont = None
                prev_is_start = False
                continue
            found = classify(candidate)
            if found is not None and (
                found[3]  # a registry label as the registry writes it, or a path label
                or (found[0] is not unknown and (kind is None or kind is single))
                or (
                    (in_header or after_heading or not labels or (prev_is_start and kind is single))
                    and (len(line) == colon + 1 or line[colon + 1] == " ")
                )
            ):
                kind, cont, after = found[0], None, colon + 1
                add_label(candidate)
                add_line(number)
                add_key(found[1])
                add_value(line[after + 1 :] if line.startswith(" ", after) else line[after:])
                prev_is_start, after_heading = True, False
                continue
        if not line or line.isspace():
            prev_is_start = False
            if kind is None:
                continue
        else:
            if (
                study
                and len(line) <= heading_max
                and line.strip() in sections
                and (kind is None or kind is single or heading_confirmed(lines, number, last, kind))
            ):
                kind = cont = None
                section_starts.append((len(labels), line.strip()))
                in_header = special_zone = prev_is_start = False
                after_heading = True
                continue
            prev_is_start = after_heading = False
            if kind is None:
                problems.append(f"line {number}: text outside any field: {show(line)}")
                continue
        if cont is None:  # a line of the current field's value
            cont = more[len(labels) - 1] = [line]
        else:
            cont.append(line)
    return found_starts


def take_special(
    which: str,
    value: str,
    line: int,
    study: bool,
    dates: dict[str, tuple[datetime | None, int]],
    problems: list[str],
) -> bool:
    """Read an Ignite date, or (on a module page) a relation line that links to another page
    (an empty value or an NCT ID); ``False`` when the line is to be read as a field instead."""
    name = special_label(which)
    if name in (IGNITE_CREATED, IGNITE_MODIFIED):
        assert name is not None
        take_date(name, value, line, dates, problems)
        return True
    return not study and (value == "" or is_valid_nct_id(value))


def take_date(
    which: str, value: str, line: int, dates: dict[str, tuple[datetime | None, int]], problems: list[str]
) -> None:
    if which in dates:
        problems.append(
            f"line {line}: duplicate {which!r} (first at line {dates[which][1]}); {value!r} ignored"
        )
        return
    stamp = parse_timestamp(value)
    if stamp is None:
        problems.append(f"line {line}: {which}: {value!r} is not a valid timestamp")
    dates[which] = (stamp, line)


def heading_confirmed(lines: Sequence[str], start: int, last: int, kind: Kind) -> bool:
    """Whether a heading line inside a possibly multi-line value really starts a section."""
    sections, _ = section_headings()
    for index in range(start, last):
        line = lines[index]
        if not line or line.isspace():
            continue
        if line.strip() in sections:
            return True
        colon = line.find(":", 0, MAX_LABEL + 1)
        if colon <= 0 or not line[0].isalpha():
            return False
        found = classify_label(line[:colon])
        if found is None:
            return False
        if found.kind is not Kind.UNKNOWN:
            return found.exact
        return kind is Kind.UNKNOWN and line[colon + 1 : colon + 2] in ("", " ")
    return True


def finish_body(starts: Starts, problems: list[str]) -> Body:
    """The second pass: continuation lines joined (trailing blank lines dropped), each field's
    section, the typed fields."""
    labels, line_nos, keys, values, more, section_starts, dates = starts
    for number, extra in more.items():
        while extra and (not extra[-1] or extra[-1].isspace()):
            extra.pop()
        if extra:
            values[number] = values[number] + "\n" + "\n".join(extra)
    sections_of: list[str] = []
    for (start, name), (end, _) in pairwise([*section_starts, (len(labels), "")]):
        sections_of += [name] * (end - start)
    columns = build_fields(labels, line_nos, keys, sections_of, values, problems)
    created = dates.get(IGNITE_CREATED, (None, 0))[0]
    modified = dates.get(IGNITE_MODIFIED, (None, 0))[0]
    return Body(columns, created, modified)


def build_fields(
    labels: list[str],
    line_nos: list[int],
    keys: list[str],
    sections_of: list[str],
    values: list[str],
    problems: list[str],
) -> FieldColumns:
    """The typed fields, exactly as ``type_field(section, label, raw, key=key, line=line)``
    types them, as columns (the hot part of the reader: hundreds of fields a study):

    * a key without a registry spec is plain text unless its stripped raw value is one of the
      universal literals (``type_value`` without a declared type; the literals are
      :data:`auditor.readers.typing.UNTYPED_LITERALS`);
    * a registered key's typing of a short value is memoised
      (:func:`auditor.readers.typing.registered_typing`).

    Also notes a duplicate label within one section (both fields are kept)."""
    by_key = registry().by_key
    count = len(keys)
    specs = list(map(by_key.get, keys))
    types: list[ValueType] = [ValueType.TEXT] * count
    typed: list[Value] = list(values)
    # Plain text unless registered or a literal: those fields are found by C-level iterators
    # (a Python loop over all the fields cost a third of the reader's time).
    literal = map(UNTYPED_LITERALS.__contains__, map(str.strip, values))
    for i in compress(range(count), literal):
        if specs[i] is None:
            types[i], typed[i] = _untyped_literal(values[i])
    typing_problems: list[tuple[int, str]] = []
    for i in compress(range(count), specs):  # a FieldSpec is true, None false
        spec = specs[i]
        assert spec is not None
        types[i], typed[i], problem = registered_typing(spec, values[i])
        if problem is not None:
            line_no = line_nos[i]
            typing_problems.append((line_no, f"line {line_no}: {labels[i]}: {problem}"))
    duplicates: list[tuple[int, str]] = []
    if len(set(labels)) != count and len(set(zip(sections_of, labels, strict=True))) != count:
        duplicates = _duplicates(labels, line_nos, sections_of)
    # In line order; a field's typing problem before its duplicate-label problem.
    problems.extend(text for _, text in heapq.merge(typing_problems, duplicates, key=itemgetter(0)))
    return FieldColumns(
        tuple(sections_of),
        tuple(labels),
        tuple(keys),
        tuple(values),
        tuple(types),
        tuple(typed),
        tuple(line_nos),
    )


@lru_cache(maxsize=256)
def _untyped_literal(raw: str) -> tuple[ValueType, Value]:
    """How ``type_field`` types a literal (``None``, ``True`` …) of a key without a spec: by
    ``raw`` alone, with no problem possible, so one shared value serves every field."""
    typed = type_value(raw, None)
    return typed.type, typed.value


def _duplicates(labels: list[str], line_nos: list[int], sections_of: list[str]) -> list[tuple[int, str]]:
    """``(line, problem)`` for each label written again in the same section (both fields are
    kept)."""
    first: dict[tuple[str, str], int] = {}
    out = []
    for label, line_no, section in zip(labels, line_nos, sections_of, strict=True):
        earlier = first.setdefault((section, label), line_no)
        if earlier != line_no:
            out.append((line_no, f"line {line_no}: duplicate label {label!r} (first at line {earlier})"))
    return out


__all__ = ["Body", "Starts", "build_fields", "find_field_starts", "parse_body", "show"]
