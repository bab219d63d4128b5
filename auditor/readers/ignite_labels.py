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

from auditor.fields import IgniteModule, label_key, path_key, registry, snake

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
#: What Ignite appends to the label of a nested object or list printed as a table.
IF_ANY = "(If Any)"
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


# --- module pages -----------------------------------------------------------------------------

_WORDS = re.compile(r"[A-Za-z0-9]+")


def ignite_words(name: str) -> str:
    """An API v2 name as Ignite prints it: ``preAssignmentDetails`` → ``Pre Assignment Details``."""
    words = snake(name).split("_")
    return " ".join(word[:1].upper() + word[1:] for word in words if word)


def _squeeze(text: str) -> str:
    """``Arms and Interventions Module`` → ``armsinterventionsmodule`` (words joined, ``and`` dropped)."""
    return "".join(w.lower() for w in _WORDS.findall(text) if w.lower() != "and")


@lru_cache(maxsize=1)
def _modules_by_name() -> dict[str, IgniteModule]:
    return {_squeeze(name): module for name, module in registry().ignite_modules.items()}


def find_module(name: str) -> IgniteModule | None:
    """The module (or section) a page title names: ``Participant Flow Module`` →
    ``participantFlowModule``; ``None`` when the registry knows no such module."""
    return _modules_by_name().get(_squeeze(name))


#: The relation line that carries a value: the brief title of the study the page belongs to.
STUDY_BRIEF = "Study Brief"


@lru_cache(maxsize=64)
def module_classifier(module: str) -> Classifier:
    """How a page of ``module`` reads its labels: its own fields first (:func:`module_labels`),
    ``Study Brief`` as the brief title, another relation line whose value is not an NCT ID (the
    reader drops those that are) as a field of the module, then as a study page does, except
    that an unknown label belongs to the module (key ``<module>.<name>``, as the JSON reader
    keys an unregistered leaf of that module)."""
    scoped = module_labels(module)
    prefix = path_key(module)
    brief = registry().by_json.get("protocolSection.identificationModule.briefTitle")

    @lru_cache(maxsize=4096)
    def classify(label: str) -> Classified | None:
        folded = fold(label)
        hit = scoped.get(folded)
        if hit is not None:
            kind, key, written, anywhere = hit
            exact = label == written
            return Classified(kind, key, exact, exact and anywhere)
        if brief is not None and folded == STUDY_BRIEF.casefold():
            return Classified(Kind.SINGLE, brief.key, label == STUDY_BRIEF, label == STUDY_BRIEF)
        if folded in RELATION_LABELS:  # a link line whose value is not an NCT ID: kept, never outside
            return Classified(Kind.SINGLE, f"{prefix}.{snake(_camel(label))}", True, True)
        found = classify_label(label)
        if found is not None and found.kind is Kind.UNKNOWN:
            return found._replace(key=f"{prefix}.{snake(_camel(label))}")
        return found

    return classify


def _camel(label: str) -> str:
    words = _WORDS.findall(label)
    return "".join(w.lower() if i == 0 else w[:1].upper() + w[1:].lower() for i, w in enumerate(words))


@lru_cache(maxsize=64)
def module_labels(module: str) -> dict[str, tuple[Kind, str, str, bool]]:
    """``{folded label: (kind, key, label as Ignite writes it, starts anywhere)}`` of one module
    page's own fields: each field of the module under its words, each nested object or list
    under its words followed by ``(If Any)`` (and under its bare words, which start a field only
    where an unknown label could: ``Groups:`` may well begin a line of text). A registered field
    has its registry key and kind; any other has the key the JSON reader gives the same leaf
    (``participant_flow_module.pre_assignment_details``) and may run over paragraphs."""
    reg = registry()
    found = reg.ignite_modules.get(module)
    if found is None:
        return {}
    out: dict[str, tuple[Kind, str, str, bool]] = {}
    for name in found.fields:
        spec = reg.by_json.get(f"{found.path}.{name}")
        words = ignite_words(name)
        if spec is None:
            out[fold(words)] = (Kind.MULTI, path_key(f"{module}.{name}"), words, True)
        else:
            out[fold(words)] = (Kind.MULTI if spec.multiline else Kind.SINGLE, spec.key, words, True)
    for name in found.nested:
        words = ignite_words(name)
        key = path_key(f"{module}.{name}")
        out.setdefault(fold(words), (Kind.MULTI, key, words, False))
        out[fold(words + IF_ANY)] = (Kind.MULTI, key, words + IF_ANY, True)
    return out


__all__ = [
    "IF_ANY",
    "IGNITE_CREATED",
    "IGNITE_MODIFIED",
    "MAX_LABEL",
    "RELATION_LABELS",
    "STUDY_BRIEF",
    "Classified",
    "Classifier",
    "Kind",
    "classify_label",
    "find_module",
    "fold",
    "ignite_words",
    "is_label_looking",
    "module_classifier",
    "module_labels",
    "path_label_key",
    "section_headings",
    "special_label",
]
