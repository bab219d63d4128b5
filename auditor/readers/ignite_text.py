"""Read Ignite text pages (study pages and module pages) into records.

Layouts
-------
*Study page* (the seed): ``Viewing Study NCT…`` (a line ``Viewing Study`` followed by at most one
word starts a page), blank lines, ``Ignite Creation Date:`` and ``Ignite Modification Date:``
(to ``Record.ignite_created`` / ``ignite_modified``, never fields; read in the summary block
only; a second one is a problem and the first is kept), the summary block (section ``Header``)
up to the first section heading, then each section heading (a line equal to one of the
registry's sections) followed by its ``Label: Value`` fields.

*Module page*: the module's name, explanation lines and a path line
(``Study -> Protocol Section -> Description Module``), the two Ignite dates, ``NCT ID:``, the
module's fields (all in the module's section, e.g. ``Study Overview``), then relation lines
(``Study: NCT…``, ``Study Brief:``, ``Protocol Section: NCT…``). Relation lines link to other
Ignite pages; they are not study fields and are left out of the record. Section headings are not
recognised in module pages (a module page has none). The module comes from the path line's last
step, else the first line: ``Description Module`` → ``descriptionModule`` (words joined, ``and``
dropped) → its registry section; a module the registry does not know gives ``Misc``.

NCT ID: the ``Viewing Study`` line's, else the first valid ``Study NCT ID`` / ``NCT ID`` field;
none is an :class:`InputError` (``no NCT ID``).

Where a field starts
--------------------
Only a line start begins a field, and known labels are the ones to trust. A line
``Label: value`` (or ``Label:``) that starts with a letter (indented lines are text of a value, as
in the legacy XML's text blocks, and so are bullets) starts a field when the label (the text
before the line's first colon, within its first 200 characters) is

a. a registry label or alias (case- and whitespace-insensitive; but inside a value that may run
   over several lines — a registered multi-line field, a path-labelled or an unknown field — only
   as the registry writes it: ``Study population:`` in a description is text, not the
   ``Study Population`` field), or
b. a path label (``contactsLocationsModule.locations[0].facility``, or a bare
   ``…Module`` / ``…Section`` identifier: the JSON reader's label of an empty module), or
c. label-looking (at most 80 characters, a capital first letter, none of ``.;!"()[]{}<>=*|``,
   a space or the end of the line after the colon), and the line comes where an unknown field
   can be expected: in the summary block, directly after a section heading (blank lines
   between are fine), before any field of a module page, or on the line right after the
   label line of a registered single-line field.

Any other line continues the current value: values keep their colons and label-like text
(``Inclusion Criteria:``, ``Period 1: Day 1-5``). Continuation lines are joined with ``\\n``,
blank lines inside a value are kept, trailing blank lines are dropped. ``raw`` is the text after
``Label:`` with exactly one leading space removed.

A heading line inside the value of a field that may run over several lines (a registered
multi-line field, a path-labelled field, an unknown field) is only taken as a heading when the
next non-blank line is another heading, the end of the page, a registry label as the registry
writes it, a path label, or (after an unknown field) a label-looking line; otherwise it is text
of the value (a ``Results`` sub-heading inside a description).

Problems (``Record.problems``, ``"line N: …"``)
------------------------------------------------
A value that does not fit its type, an unreadable Ignite date, a duplicate label within one
section (both fields are kept), text outside any field (kept in the problem), text before
``Viewing Study``, a ``Viewing Study`` NCT ID that differs from the ``Study NCT ID`` field, and a
cut-off page.

Truncation: the only signal used is a page that does not end with a line break (the seed ends
``Is an FDA AA801 Violation?:`` with none); in a file with several pages only the last can be cut.

Several study pages in one file (several ``Viewing Study`` lines) give one record each, with
source paths ``file#0``, ``file#1``, … (0-based, like the members of a JSON list) and the SHA-256
of the page's own lines (joined with ``\\n``, UTF-8), so that it identifies the record. A page
without an NCT ID raises :class:`InputError` when it is the file's only page; among several pages
it becomes an ``InputError`` item beside the good records (as :func:`auditor.readers.read_bytes`
expects).
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Sequence
from datetime import datetime
from enum import IntEnum
from functools import lru_cache
from itertools import compress, pairwise
from operator import itemgetter

from auditor.errors import InputError
from auditor.fields import label_key, path_key, registry
from auditor.readers.decode import decode_text, sha256
from auditor.readers.typing import UNTYPED_LITERALS, registered_typing
from auditor.records import HEADER_SECTION, FieldColumns, Record, Source, SourceFormat, is_valid_nct_id
from auditor.values import Value, ValueType, parse_timestamp, type_value

VIEWING_STUDY = "Viewing Study"
IGNITE_CREATED = "Ignite Creation Date"
IGNITE_MODIFIED = "Ignite Modification Date"
#: Labels of the link lines at the end of a module page (folded).
RELATION_LABELS = frozenset(
    {
        "study",
        "study brief",
        "protocol section",
        "results section",
        "derived section",
        "document section",
        "annotation section",
    }
)
#: A colon further into a line than this does not end a label (keeps a 10 MB line cheap).
MAX_LABEL = 200
LABEL_LOOKING_MAX = 80
_NOT_IN_LABEL = frozenset('.;!"()[]{}<>=*|')
_MODULE_WORDS = re.compile(r"[A-Za-z0-9]+")


class Kind(IntEnum):
    """What a label tells about the field it starts (and so about its possible continuations)."""

    SINGLE = 1  # registered, one line
    MULTI = 2  # registered, may run over paragraphs
    PATH = 3  # path label of an unregistered JSON/XML leaf
    UNKNOWN = 4  # label-looking, unregistered


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


def is_label_looking(label: str) -> bool:
    """Short, a capital first letter, no sentence punctuation (rule c)."""
    if not label or len(label) > LABEL_LOOKING_MAX or not label[0].isupper():
        return False
    return _NOT_IN_LABEL.isdisjoint(label)


@lru_cache(maxsize=1 << 17)
def classify_label(label: str) -> tuple[Kind, str, bool, bool] | None:
    """``(kind, key, exact, starts_anywhere)`` of a candidate label, or ``None`` when it cannot
    start a field.

    ``exact``: the label is written exactly as the registry (or a path label) writes it;
    ``starts_anywhere``: exact and not an unknown label, so it starts a field wherever it is."""
    found = _classify(label)
    if found is None:
        return None
    kind, key, exact = found
    return kind, key, exact, exact and kind is not Kind.UNKNOWN


def _classify(label: str) -> tuple[Kind, str, bool] | None:
    if not label[:1].isalpha():
        return None
    if label[0].islower() and ("." in label or "[" in label):
        # Registry labels have neither, so this can only be a path label.
        key = _path_label_key(label)
        return None if key is None else (Kind.PATH, key, True)
    spec = registry().spec_for_label(label)
    if spec is not None:
        exact = label == spec.label or label in spec.aliases
        return (Kind.MULTI if spec.multiline else Kind.SINGLE), spec.key, exact
    if label[0].islower() and _is_bare_container(label):
        return Kind.PATH, path_key(label), True
    if is_label_looking(label):
        return Kind.UNKNOWN, label_key(label), False
    return None


def _path_label_key(label: str) -> str | None:
    """``path_key(label)`` when ``label`` is a path label (``PATH_LABEL``), else ``None``.

    The indices make most path labels unique (``…locations[17].facility``) while the names
    between them are few, so the label is cut at each ``[`` and every name part is checked and
    snake-cased once (cached): a regex match and a snake-casing per label cost a sixth of the
    reader's time, a path label being most of a registry study's fields."""
    head, *indexed = label.split("[")
    key = _path_head(head)
    if key is None or (not indexed and "." not in head):
        return None
    parts = [key]
    for part in indexed:
        close = part.find("]")
        index = part[:close]
        if close <= 0 or not index.isdecimal():  # what \d matches in a str pattern
            return None
        tail = _path_tail(part[close + 1 :])
        if tail is None:
            return None
        parts.append(f"[{index}]{tail}")
    return "".join(parts)


_PATH_HEAD = re.compile(r"[a-z][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PATH_TAIL = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@lru_cache(maxsize=4096)
def _path_head(text: str) -> str | None:
    return path_key(text) if _PATH_HEAD.fullmatch(text) else None


@lru_cache(maxsize=4096)
def _path_tail(text: str) -> str | None:
    return path_key(text) if _PATH_TAIL.fullmatch(text) else None


_IDENTIFIER = re.compile(r"[a-z][A-Za-z0-9_]*")


def _is_bare_container(label: str) -> bool:
    """``oversightModule``: the JSON reader's label for an empty module (a path of one step)."""
    return _IDENTIFIER.fullmatch(label) is not None and (
        label.endswith(("Module", "Section")) or label in registry().module_sections
    )


@lru_cache(maxsize=1)
def _sections() -> tuple[frozenset[str], int]:
    sections = registry().sections
    return frozenset(sections), max(len(s) for s in sections)


def split_lines(text: str) -> list[str]:
    """Lines split at ``\\n``, ``\\r\\n`` and lone ``\\r`` only (not at the other characters
    ``str.splitlines`` splits at, which may be part of a value)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_ignite_text(data: bytes, path: str) -> list[Record | InputError]:
    """Every page in one Ignite text file; see the module docstring for the layouts and rules."""
    text, decode_problems = decode_text(data, path)
    digest = sha256(data)
    cut = not text.endswith(("\n", "\r"))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = split_lines(text)
    starts = _page_starts(text, lines)
    del text  # the lines hold it now: a 200 MB line is not held three times while values are cut
    if not starts:
        record = _read_module_page(lines, path, digest, decode_problems, cut)
        return [record]
    out: list[Record | InputError] = []
    bounds = [*starts, len(lines)]
    many = len(starts) > 1
    for number, (first, last) in enumerate(pairwise(bounds)):
        problems = list(decode_problems)
        if number == 0 and first > 0:
            before = [i for i in range(first) if lines[i].strip()]
            if before:
                where = "line 1" if first == 1 else f"lines 1-{first}"
                problems.append(
                    f"{where}: {len(before)} line(s) of text before '{VIEWING_STUDY}' "
                    f"left out of the record (first: {_show(lines[before[0]])})"
                )
        source_path, page_digest = path, digest
        if many:
            source_path = f"{path}#{number}"
            page_digest = hashlib.sha256("\n".join(lines[first:last]).encode()).hexdigest()
        page_cut = cut and last == len(lines)
        try:
            out.append(_read_study_page(lines, first, last, source_path, page_digest, problems, page_cut))
        except InputError as exc:
            if not many:
                raise
            out.append(exc)
    return out


def _page_starts(text: str, lines: list[str]) -> list[int]:
    """Indices of the ``Viewing Study`` lines of ``lines`` (``split_lines(text)``, ``text``
    with ``\\n`` line breaks only), found by ``str.find`` (a regex anchored at line starts, or
    a loop over the lines, cost a sixth of the reader's time)."""
    starts = []
    index = position = 0
    start = 0 if text.startswith(VIEWING_STUDY) else _next_viewing(text, 0)
    while start >= 0:
        index += text.count("\n", position, start)
        position = start
        if _is_viewing_line(lines[index]):
            starts.append(index)
        start = _next_viewing(text, start)
    return starts


def _next_viewing(text: str, begin: int) -> int:
    """Offset of the next line at or after ``begin`` that starts with ``Viewing Study``, or -1."""
    found = text.find("\n" + VIEWING_STUDY, begin)
    return found + 1 if found >= 0 else -1


def _is_viewing_line(line: str) -> bool:
    if not line.startswith(VIEWING_STUDY):
        return False
    rest = line[len(VIEWING_STUDY) :]
    return rest == "" or (rest[0] in " \t" and len(rest.split()) <= 1)


def _show(line: str, width: int = 60) -> str:
    return repr(line if len(line) <= width else line[:width] + "…")


def _parse_body(
    lines: Sequence[str],
    first: int,
    last: int,
    section: str,
    *,
    study: bool,
    problems: list[str],
) -> tuple[FieldColumns, datetime | None, datetime | None]:
    """Fields of ``lines[first:last]`` (0-based; problems name 1-based lines).

    ``study`` pages have a summary block and section headings; module pages have relation lines.
    Two passes: the first finds where fields start (the hot loop, kept to a few string
    operations a line), the second builds the typed fields.
    """
    sections, longest = _sections()
    heading_max = longest + 8
    classify = classify_label
    unknown, single = Kind.UNKNOWN, Kind.SINGLE
    label_end = MAX_LABEL + 1
    # Where fields start, in parallel lists (no tuple per field: fewer objects for the garbage
    # collector to track): label, 1-based line, key, first line of the value; and where each
    # section's fields start.
    labels: list[str] = []
    line_nos: list[int] = []
    keys: list[str] = []
    values: list[str] = []
    section_starts: list[tuple[int, str]] = [(0, section)]
    # Continuation lines, by the index of the field they continue.
    more: dict[int, list[str]] = {}
    dates: dict[str, tuple[datetime | None, int]] = {}
    in_header = study
    special_zone = True  # where the Ignite dates (and, in module pages, relations) are read
    after_heading = False
    kind: Kind | None = None
    cont: list[str] | None = None
    prev_is_start = False

    add_label, add_line, add_key, add_value = labels.append, line_nos.append, keys.append, values.append
    for number, line in enumerate(lines[first:last], first + 1):  # number: the 1-based line
        colon = line.find(":", 0, label_end)
        if colon > 0 and line[0].isalpha():  # (so not a blank line)
            candidate = line[:colon]
            if special_zone and colon <= 40:
                special = _special(candidate)
                if special is not None:
                    value = line[colon + 1 :].strip()
                    if special in (IGNITE_CREATED, IGNITE_MODIFIED):
                        _take_date(special, value, number, dates, problems)
                        kind = cont = None
                        prev_is_start = False
                        continue
                    if not study and (value == "" or is_valid_nct_id(value)):
                        kind = cont = None  # a relation line ends the value before it
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
                kind = found[0]
                cont = None
                after = colon + 1
                add_label(candidate)
                add_line(number)
                add_key(found[1])
                add_value(line[after + 1 :] if line.startswith(" ", after) else line[after:])
                prev_is_start = True
                after_heading = False
                continue
        if not line or line.isspace():
            if kind is not None:
                if cont is None:
                    cont = more[len(labels) - 1] = [line]
                else:
                    cont.append(line)
            prev_is_start = False
            continue
        if study and len(line) <= heading_max:
            heading = line.strip()
            if heading in sections and (
                kind is None or kind is single or _heading_confirmed(lines, number, last, kind)
            ):
                kind = cont = None
                section = heading
                section_starts.append((len(labels), heading))
                in_header = special_zone = False
                after_heading = True
                prev_is_start = False
                continue
        prev_is_start = after_heading = False
        if kind is None:
            problems.append(f"line {number}: text outside any field: {_show(line)}")
        elif cont is None:
            cont = more[len(labels) - 1] = [line]
        else:
            cont.append(line)

    for number, extra in more.items():
        while extra and (not extra[-1] or extra[-1].isspace()):
            extra.pop()
        if extra:
            values[number] = values[number] + "\n" + "\n".join(extra)
    sections_of: list[str] = []
    for (start, name), (end, _) in pairwise([*section_starts, (len(labels), "")]):
        sections_of += [name] * (end - start)
    columns = _build_fields(labels, line_nos, keys, sections_of, values, problems)
    created = dates.get(IGNITE_CREATED, (None, 0))[0]
    modified = dates.get(IGNITE_MODIFIED, (None, 0))[0]
    return columns, created, modified


def _build_fields(
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


_SPECIAL: dict[str, str] = {
    IGNITE_CREATED.casefold(): IGNITE_CREATED,
    IGNITE_MODIFIED.casefold(): IGNITE_MODIFIED,
    **{label: label for label in RELATION_LABELS},
}


@lru_cache(maxsize=4096)
def _special(label: str) -> str | None:
    """``Ignite Creation Date``, ``Ignite Modification Date`` or a relation label, folded."""
    return _SPECIAL.get(_fold(label))


def _take_date(
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


def _heading_confirmed(lines: Sequence[str], start: int, last: int, kind: Kind) -> bool:
    """Whether a heading line inside a possibly multi-line value really starts a section."""
    sections, _ = _sections()
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
        if found[0] is not Kind.UNKNOWN:
            return found[2]
        return kind is Kind.UNKNOWN and line[colon + 1 : colon + 2] in ("", " ")
    return True


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
    return f"line {last}: page cut off (no line break after the last line {_show(lines[last - 1])})"


def _read_study_page(
    lines: Sequence[str],
    first: int,
    last: int,
    path: str,
    digest: str,
    problems: list[str],
    cut: bool,
) -> Record:
    viewing = lines[first][len(VIEWING_STUDY) :].strip()
    header_nct = viewing if is_valid_nct_id(viewing) else None
    if header_nct is None:
        problems.append(f"line {first + 1}: '{VIEWING_STUDY}' line has no valid NCT ID: {_show(viewing)}")
    columns, created, modified = _parse_body(
        lines, first + 1, last, HEADER_SECTION, study=True, problems=problems
    )
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
    return Record(
        nct_id=nct_id,
        source=Source(path, SourceFormat.IGNITE_TEXT, digest),
        columns=columns,
        ignite_created=created,
        ignite_modified=modified,
        truncated=cut,
        problems=tuple(problems),
    )


def module_section(name: str) -> str:
    """Section of a module page's fields from its name (``Description Module`` →
    ``descriptionModule`` → ``Study Overview``); ``Misc`` for a module the registry does not know."""
    reg = registry()
    wanted = "".join(w.lower() for w in _MODULE_WORDS.findall(name) if w.lower() != "and")
    for module in reg.module_sections:
        if module.lower() == wanted:
            return reg.section_of_module(module)
    return reg.section_of_module(name)


def _read_module_page(
    lines: Sequence[str], path: str, digest: str, decode_problems: list[str], cut: bool
) -> Record:
    problems = list(decode_problems)
    body = 0
    for index, line in enumerate(lines):
        colon = line.find(":", 0, MAX_LABEL + 1)
        if colon > 0 and _fold(line[:colon]) in _MODULE_BODY_LABELS:
            body = index
            break
    name = ""
    for line in lines[:body]:
        if "->" in line:
            name = line.rsplit("->", 1)[1].strip()
        elif not name and line.strip():
            name = line.strip()
    columns, created, modified = _parse_body(
        lines, body, len(lines), module_section(name), study=False, problems=problems
    )
    nct_fields = [
        (columns.raw[i].strip(), columns.line[i], columns.label[i]) for i in _positions(columns.key, "nct_id")
    ]
    valid = [value for value, _, _ in nct_fields if is_valid_nct_id(value)]
    if not valid:
        raise InputError("no NCT ID", path=path, line=body + 1 if body else None)
    for value, line_no, label in nct_fields:
        if value != valid[0]:
            problems.append(f"line {line_no}: {label} {value!r} differs from {valid[0]!r}")
    if cut:
        problems.append(_cut_problem(lines, len(lines)))
    return Record(
        nct_id=valid[0],
        source=Source(path, SourceFormat.IGNITE_MODULE, digest),
        columns=columns,
        ignite_created=created,
        ignite_modified=modified,
        truncated=cut,
        problems=tuple(problems),
    )


_MODULE_BODY_LABELS = frozenset(
    {IGNITE_CREATED.casefold(), IGNITE_MODIFIED.casefold(), "nct id", "study nct id"}
)


def merge_module_pages(records: list[Record]) -> list[Record]:
    """Merge the module pages of one run into the study pages of the same snapshot.

    Rule (deterministic, independent of anything but the input order):

    * each module page goes to the study page with its NCT ID whose Ignite creation date is
      closest to its own (ties and unknown dates: the earliest study page in input order);
    * its fields are appended to that study page's fields, except a field whose key the merged
      record already has with the same raw value (the module page repeats it);
    * module pages with no study page are merged with each other, one record per NCT ID, in
      the order of their first page (source and format of that first page, earliest creation
      and latest modification date);
    * problems of a merged page are kept, prefixed with the page's path; truncated if any is.

    Study pages come out in input order, then the records of orphan module pages.
    """
    studies = [r for r in records if r.source.format is not SourceFormat.IGNITE_MODULE]
    by_nct: dict[str, list[int]] = {}
    for i, study in enumerate(studies):
        by_nct.setdefault(study.nct_id, []).append(i)
    extra: dict[int, list[Record]] = {}
    orphans: dict[str, list[Record]] = {}
    for record in records:
        if record.source.format is not SourceFormat.IGNITE_MODULE:
            continue
        candidates = by_nct.get(record.nct_id)
        if not candidates:
            orphans.setdefault(record.nct_id, []).append(record)
            continue
        best = min(candidates, key=lambda i: (_distance(studies[i].ignite_created, record.ignite_created), i))
        extra.setdefault(best, []).append(record)
    out = [_merge(study, extra.get(i, [])) for i, study in enumerate(studies)]
    for pages in orphans.values():
        first, rest = pages[0], pages[1:]
        created = [p.ignite_created for p in pages if p.ignite_created is not None]
        modified = [p.ignite_modified for p in pages if p.ignite_modified is not None]
        merged = _merge(first, rest)
        out.append(
            Record(
                nct_id=merged.nct_id,
                source=merged.source,
                fields=merged.fields,
                ignite_created=min(created) if created else None,
                ignite_modified=max(modified) if modified else None,
                truncated=merged.truncated,
                problems=merged.problems,
            )
        )
    return out


def _distance(a: datetime | None, b: datetime | None) -> float:
    if a is None or b is None:
        return float("inf")
    return abs((a - b).total_seconds())


def _merge(base: Record, pages: list[Record]) -> Record:
    if not pages:
        return base
    fields = list(base.fields)
    have = {(f.key, f.raw) for f in fields}
    problems = list(base.problems)
    for page in pages:
        for f in page.fields:
            if (f.key, f.raw) not in have:
                have.add((f.key, f.raw))
                fields.append(f)
        problems.extend(f"{page.source.path}: {p}" for p in page.problems)
    return Record(
        nct_id=base.nct_id,
        source=base.source,
        fields=tuple(fields),
        ignite_created=base.ignite_created,
        ignite_modified=base.ignite_modified,
        truncated=base.truncated or any(p.truncated for p in pages),
        problems=tuple(problems),
    )
