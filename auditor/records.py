"""The record model every reader produces and every later step consumes. No I/O here.

A :class:`Record` is one snapshot of one study: its NCT ID, the Ignite timestamps, where it
came from, and the ordered fields exactly as found (duplicates kept). Fields carry both the raw
text and a typed value so that diffs and rules can be meaningful while nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

from auditor.slots import slot_setters
from auditor.values import Missing, PartialDate, Value, ValueType, value_to_json

#: ASCII digits only: ``\d`` would take Arabic-Indic or fullwidth digits, and one study would
#: become several histories under non-ASCII folder names.
NCT_ID = re.compile(r"NCT[0-9]{8}")

#: Section of the fields above the first heading of an Ignite study page (its summary block).
HEADER_SECTION = "Header"


class SourceFormat(StrEnum):
    IGNITE_TEXT = "ignite-text"
    IGNITE_MODULE = "ignite-module"
    CTGOV_JSON = "ctgov-json"
    CTGOV_XML = "ctgov-xml"


def is_valid_nct_id(text: str) -> bool:
    """``NCT`` and exactly eight digits: the only form allowed to become a path."""
    return NCT_ID.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was read from. ``path`` may name a member inside an archive
    (``set.tar.gz!study.json``) or an index inside a JSON array (``studies.json#12``)."""

    path: str
    format: SourceFormat
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "format": str(self.format), "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Field:
    """One ``Label: Value`` of a snapshot.

    ``key`` is the canonical snake_case key shared by every format (``status_verified_date``);
    ``label`` is as written. ``line`` is the 1-based line in the source where there is one.
    """

    section: str
    label: str
    key: str
    raw: str
    type: ValueType
    value: Value
    line: int | None = None

    @property
    def precision(self) -> str | None:
        return str(self.value.precision) if isinstance(self.value, PartialDate) else None

    @property
    def is_missing(self) -> bool:
        return isinstance(self.value, Missing)

    def to_dict(self) -> dict[str, Any]:
        return _field_dict(self.section, self.label, self.key, self.raw, self.type, self.value, self.line)


def _field_dict(
    section: str, label: str, key: str, raw: str, type_: ValueType, value: Value, line: int | None
) -> dict[str, Any]:
    """A field in ``audit parse``'s JSON shape (from a Field or straight from a record's columns)."""
    out: dict[str, Any] = {
        "section": section,
        "label": label,
        "key": key,
        "raw": raw,
        "type": str(type_),
        "value": value_to_json(value),
    }
    if isinstance(value, PartialDate):
        out["precision"] = str(value.precision)
    if isinstance(value, Missing):
        out["missing"] = value.kind
    if line is not None:
        out["line"] = line
    return out


@dataclass(frozen=True, slots=True)
class FieldColumns:
    """The fields of one record as seven parallel tuples, one per :class:`Field` attribute.

    This is how a record holds its fields. A study has about 400 of them and a nightly run reads
    hundreds of thousands of studies: one object per field made the garbage collector walk
    every field of every record still alive again and again (it cost the Ignite text reader as
    much as the reading itself), while a tuple of strings is untracked after its first
    collection. :class:`Field` objects are made from the columns when they are asked for.
    """

    section: tuple[str, ...]
    label: tuple[str, ...]
    key: tuple[str, ...]
    raw: tuple[str, ...]
    type: tuple[ValueType, ...]
    value: tuple[Value, ...]
    line: tuple[int | None, ...]

    def __post_init__(self) -> None:
        if not (
            len(self.section)
            == len(self.label)
            == len(self.key)
            == len(self.raw)
            == len(self.type)
            == len(self.value)
            == len(self.line)
        ):
            raise ValueError("field columns of different lengths")

    @classmethod
    def of(cls, fields: Iterable[Field]) -> FieldColumns:
        fields = tuple(fields)
        if not fields:
            return _NO_COLUMNS
        section, label, key, raw, type_, value, line = zip(*map(_FIELD_ROW, fields), strict=True)
        return cls(section, label, key, raw, type_, value, line)

    def _all(self) -> tuple[tuple[Any, ...], ...]:
        """The seven columns in ``Field(...)``'s argument order."""
        return (self.section, self.label, self.key, self.raw, self.type, self.value, self.line)

    def __len__(self) -> int:
        return len(self.key)

    def field(self, index: int) -> Field:
        return _new_field(
            self.section[index],
            self.label[index],
            self.key[index],
            self.raw[index],
            self.type[index],
            self.value[index],
            self.line[index],
        )

    def fields(self) -> tuple[Field, ...]:
        return tuple(map(_new_field, *self._all()))


_FIELD_ATTRIBUTES = ("section", "label", "key", "raw", "type", "value", "line")
_FIELD_ROW = attrgetter(*_FIELD_ATTRIBUTES)


def _field_maker() -> Callable[..., Field]:
    """``Field(...)``'s equal, about twice as fast (:mod:`auditor.slots`)."""
    setters = slot_setters(Field, _FIELD_ATTRIBUTES)
    if setters is None:
        return Field  # pragma: no cover - Field changed; stay correct
    s0, s1, s2, s3, s4, s5, s6 = setters
    new = object.__new__

    def make(
        section: str, label: str, key: str, raw: str, type_: ValueType, value: Value, line: int | None
    ) -> Field:
        made = new(Field)
        s0(made, section)
        s1(made, label)
        s2(made, key)
        s3(made, raw)
        s4(made, type_)
        s5(made, value)
        s6(made, line)
        return made

    return make


_new_field = _field_maker()
_NO_COLUMNS = FieldColumns((), (), (), (), (), (), ())


@dataclass(frozen=True, slots=True, init=False)
class Record:
    """One snapshot of one study record.

    ``fields`` are built from ``columns`` (see :class:`FieldColumns`) the first time they are
    asked for; ``get``/``value``/``keys`` answer from the columns. Give the constructor
    ``fields`` or ``columns`` (``fields`` win when both are given, as ``dataclasses.replace``
    gives both).

    ``problems`` are things the reader noticed but could recover from (a duplicate label, a
    value that did not fit its type, a cut-off file); each is ``"line N: message"`` or a message.
    """

    nct_id: str
    source: Source
    columns: FieldColumns
    ignite_created: datetime | None
    ignite_modified: datetime | None
    truncated: bool
    problems: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _fields: tuple[Field, ...] | None = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        nct_id: str,
        source: Source,
        fields: Iterable[Field] | None = None,
        ignite_created: datetime | None = None,
        ignite_modified: datetime | None = None,
        truncated: bool = False,
        problems: tuple[str, ...] = (),
        *,
        columns: FieldColumns | None = None,
    ) -> None:
        made: tuple[Field, ...] | None = None
        if fields is not None:  # wins over columns, so that dataclasses.replace(fields=...) works
            made = tuple(fields)
            columns = FieldColumns.of(made)
        elif columns is None:
            columns = _NO_COLUMNS
        setattr_ = object.__setattr__
        setattr_(self, "nct_id", nct_id)
        setattr_(self, "source", source)
        setattr_(self, "columns", columns)
        setattr_(self, "ignite_created", ignite_created)
        setattr_(self, "ignite_modified", ignite_modified)
        setattr_(self, "truncated", truncated)
        setattr_(self, "problems", tuple(problems))
        setattr_(self, "_index", _key_index(columns.key, columns.section))
        setattr_(self, "_fields", made)

    @property
    def fields(self) -> tuple[Field, ...]:
        """Every field in source order, duplicates kept."""
        made = self._fields
        if made is None:
            made = self.columns.fields()
            object.__setattr__(self, "_fields", made)
        return made

    def get(self, key: str) -> Field | None:
        """The authoritative field for ``key``, or ``None`` when the record has none."""
        index = self._index.get(key)
        if index is None:
            return None
        made = self._fields
        return made[index] if made is not None else self.columns.field(index)

    def value(self, key: str) -> Value | None:
        index = self._index.get(key)
        return None if index is None else self.columns.value[index]

    def keys(self) -> Iterator[str]:
        return iter(self._index)

    def to_dict(self) -> dict[str, Any]:
        """The documented, stable JSON shape of ``audit parse``."""
        return {
            "nct_id": self.nct_id,
            "source": self.source.to_dict(),
            "ignite_created": _stamp(self.ignite_created),
            "ignite_modified": _stamp(self.ignite_modified),
            "truncated": self.truncated,
            "problems": list(self.problems),
            "fields": list(map(_field_dict, *self.columns._all())),
        }


def _key_index(keys: tuple[str, ...], sections: tuple[str, ...]) -> dict[str, int]:
    """Key → position of its authoritative field, in the order keys first appear.

    The first field with a key wins, except that a field outside the header beats one inside
    it: the header repeats a few body fields (Status, Brief Title) as a summary, and the body is
    the authoritative copy. Built with dict operations over whole columns (a loop over the
    fields cost as much as a tenth of the text reader's time)."""
    index = dict(zip(keys, range(len(keys)), strict=True))
    if len(index) != len(keys):  # a repeated key: its first position, in first-seen order
        index = dict.fromkeys(keys, 0)
        index.update(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    in_header = sections.count(HEADER_SECTION)
    if not in_header:
        return index
    if sections[:in_header].count(HEADER_SECTION) == in_header:  # a page's summary block
        header_keys: Iterable[str] = keys[:in_header]
    else:
        header_keys = [key for key, section in zip(keys, sections, strict=True) if section == HEADER_SECTION]
    for key in header_keys:
        position = index[key]
        if sections[position] != HEADER_SECTION:
            continue
        later = position + 1
        while True:
            try:
                later = keys.index(key, later)
            except ValueError:
                break
            if sections[later] != HEADER_SECTION:
                index[key] = later
                break
            later += 1
    return index


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="minutes")
