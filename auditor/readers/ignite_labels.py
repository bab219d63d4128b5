"""Which text before a colon is a label, and what it tells about the field it starts.

The Ignite reader's vocabulary (the rules are in :mod:`auditor.readers.ignite_text`):

* registry labels and aliases (``fields.yaml``) — :class:`Kind` ``SINGLE`` or ``MULTI``;
* path labels of JSON/XML leaves the registry does not name
  (``contactsLocationsModule.locations[0].facility``) — ``PATH``;
* label-looking text (a capital first letter, short, no sentence punctuation) — ``UNKNOWN``;
* on a module page, the labels of that module's fields (:func:`module_classifier`): Ignite prints
  an API v2 field under its name split into words (``preAssignmentDetails`` →
  ``Pre Assignment Details``), a nested object or list under its name followed by ``(If Any)``;
* the lines that are not fields: the two Ignite dates and the relation lines of module pages
  (:func:`special_label`).

Every answer is cached: labels repeat across pages, and the reader asks once per label line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import IntEnum
from functools import lru_cache
from typing import NamedTuple

from auditor.fields import label_key, path_key, registry

IGNITE_CREATED = "Ignite Creation Date"
IGNITE_MODIFIED = "Ignite Modification Date"
#: Labels of the link lines of a module page (folded): links to other Ignite pages.
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


class Kind(IntEnum):
    """What a label tells about the field it starts (and so about its possible continuations)."""

    SINGLE = 1  # registered, one line
    MULTI = 2  # registered (or a module page's own field), may run over paragraphs
    PATH = 3  # path label of an unregistered JSON/XML leaf
    UNKNOWN = 4  # label-looking, unregistered


class Classified(NamedTuple):
    """What a candidate label is: ``exact`` when written exactly as the registry (or a path
    label, or the module page) writes it; ``starts_anywhere`` when exact and not unknown, so it
    starts a field at any line start."""

    kind: Kind
    key: str
    exact: bool
    starts_anywhere: bool


#: ``classify(label) -> Classified | None``: how one kind of page reads its labels.
Classifier = Callable[[str], Classified | None]


def fold(label: str) -> str:
    return " ".join(label.split()).casefold()


def is_label_looking(label: str) -> bool:
    """Short, a capital first letter, no sentence punctuation (rule c)."""
    if not label or len(label) > LABEL_LOOKING_MAX or not label[0].isupper():
        return False
    return _NOT_IN_LABEL.isdisjoint(label)


@lru_cache(maxsize=1 << 17)
def classify_label(label: str) -> Classified | None:
    """How a study page reads ``label``, or ``None`` when it cannot start a field."""
    found = _classify(label)
    if found is None:
        return None
    kind, key, exact = found
    return Classified(kind, key, exact, exact and kind is not Kind.UNKNOWN)


def _classify(label: str) -> tuple[Kind, str, bool] | None:
    if not label[:1].isalpha():
        return None
    if label[0].islower() and ("." in label or "[" in label):
        # Registry labels have neither, so this can only be a path label.
        key = path_label_key(label)
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


def path_label_key(label: str) -> str | None:
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
def section_headings() -> tuple[frozenset[str], int]:
    """The registry's section headings and the length of the longest."""
    sections = registry().sections
    return frozenset(sections), max(len(s) for s in sections)


_SPECIAL: dict[str, str] = {
    IGNITE_CREATED.casefold(): IGNITE_CREATED,
    IGNITE_MODIFIED.casefold(): IGNITE_MODIFIED,
    **{label: label for label in RELATION_LABELS},
}


@lru_cache(maxsize=4096)
def special_label(label: str) -> str | None:
    """``Ignite Creation Date``, ``Ignite Modification Date`` or a relation label, folded."""
    return _SPECIAL.get(fold(label))


__all__ = [
    "IGNITE_CREATED",
    "IGNITE_MODIFIED",
    "MAX_LABEL",
    "RELATION_LABELS",
    "Classified",
    "Classifier",
    "Kind",
    "classify_label",
    "fold",
    "is_label_looking",
    "path_label_key",
    "section_headings",
    "special_label",
]
