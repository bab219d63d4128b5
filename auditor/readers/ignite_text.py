"""Read Ignite text pages (study pages and module pages) into records.

The reader in four parts: :mod:`.ignite_labels` (what a label is), :mod:`.ignite_body` (where
fields start, the typed fields), :mod:`.ignite_pages` (a study page, a module page) and
:mod:`.ignite_merge` (module pages into their study page); this module splits a file into pages
and holds the rules they share, below.

Layouts
-------
*Study page* (the seed): ``Viewing Study NCT…`` (a line ``Viewing Study`` followed by at most one
word starts a page), blank lines, ``Ignite Creation Date:`` and ``Ignite Modification Date:``
(to ``Record.ignite_created`` / ``ignite_modified``, never fields; read in the summary block
only; a second one is a problem and the first is kept), the summary block (section ``Header``)
up to the first section heading, then each section heading (a line equal to one of the
registry's sections) followed by its ``Label: Value`` fields.

*Module page* (one per API v2 module, as the Ignite site prints them): the module's name,
explanation lines and path lines (``Study -> Results Section -> Participant Flow Module``), the
two Ignite dates, ``NCT ID:``, the module's fields, relation lines (``Study: NCT…``,
``Study Brief:``, ``Results Section: NCT…``) and, on some pages, nested lists printed as tables
after ``Event Groups(If Any):``. Section headings are not recognised in module pages (a module
page has none). The module is the first of the title line and the steps of the path lines
(last step first) that names one of ``fields.yaml``'s ``ignite_modules`` (words joined, ``and``
dropped: ``Arms and Interventions Module`` → ``armsInterventionsModule``); a page of an unknown
module is read with the study page's labels, in section ``Misc``.

A module page reads its labels with its module's vocabulary first
(:func:`auditor.readers.ignite_labels.module_classifier`): each field of the module under its
API name in words (``Pre Assignment Details``), each nested list under its words followed by
``(If Any)`` (its table, up to the next label, is the value: one text field). These labels start
a field at any line start, even with an empty value (``Recruitment Details:`` right after
``Pre Assignment Details:``). Their key is the one the JSON reader gives the same leaf: the
registry key when the leaf's JSON path is registered (``Healthy Volunteers`` →
``healthy_volunteers``), else its path key (``participant_flow_module.pre_assignment_details``);
an unknown label-looking label belongs to the module too (``<module>.<name in snake_case>``).
Registered fields go to their registry section (``NCT ID`` to Study Overview), the others to the
module's section. Relation lines with an NCT ID or no value link to other pages and are left
out; ``Study Brief: <title>`` carries the study's brief title and is read as ``brief_title``
(merged away when the study page has the same title).

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
from itertools import pairwise

from auditor.errors import InputError
from auditor.readers.decode import decode_text, sha256
from auditor.readers.ignite_labels import MAX_LABEL, Kind, classify_label
from auditor.readers.ignite_merge import merge_module_pages
from auditor.readers.ignite_pages import (
    VIEWING_STUDY,
    is_viewing_line,
    module_section,
    page_starts,
    read_module_page,
    read_study_page,
    text_before_problem,
)
from auditor.records import Record


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
    starts = page_starts(text, lines)
    del text  # the lines hold it now: a 200 MB line is not held three times while values are cut
    if not starts:
        return [read_module_page(lines, path, digest, decode_problems, cut)]
    out: list[Record | InputError] = []
    bounds = [*starts, len(lines)]
    many = len(starts) > 1
    for number, (first, last) in enumerate(pairwise(bounds)):
        problems = list(decode_problems)
        before = text_before_problem(lines, first) if number == 0 else None
        if before is not None:
            problems.append(before)
        source_path, page_digest = path, digest
        if many:
            source_path = f"{path}#{number}"
            page_digest = hashlib.sha256("\n".join(lines[first:last]).encode()).hexdigest()
        page_cut = cut and last == len(lines)
        try:
            out.append(read_study_page(lines, first, last, source_path, page_digest, problems, page_cut))
        except InputError as exc:
            if not many:
                raise
            out.append(exc)
    return out


__all__ = [
    "MAX_LABEL",
    "VIEWING_STUDY",
    "Kind",
    "classify_label",
    "is_viewing_line",
    "merge_module_pages",
    "module_section",
    "read_ignite_text",
    "split_lines",
]
