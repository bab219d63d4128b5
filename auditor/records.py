"""The record model every reader produces and every later step consumes. No I/O here.

A :class:`Record` is one snapshot of one study: its NCT ID, the Ignite timestamps, where it
came from, and the ordered fields exactly as found (duplicates kept). Fields carry both the raw
text and a typed value so that diffs and rules can be meaningful while nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from auditor.values import Missing, PartialDate, Value, ValueType, value_to_json

NCT_ID = re.compile(r"NCT\d{8}")

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
        out: dict[str, Any] = {
            "section": self.section,
            "label": self.label,
            "key": self.key,
            "raw": self.raw,
            "type": str(self.type),
            "value": value_to_json(self.value),
        }
        if isinstance(self.value, PartialDate):
            out["precision"] = str(self.value.precision)
        if isinstance(self.value, Missing):
            out["missing"] = self.value.kind
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True, slots=True)
class Record:
    """One snapshot of one study record.

    ``problems`` are things the reader noticed but could recover from (a duplicate label, a
    value that did not fit its type, a cut-off file); each is ``"line N: message"`` or a message.
    """

    nct_id: str
    source: Source
    fields: tuple[Field, ...]
    ignite_created: datetime | None = None
    ignite_modified: datetime | None = None
    truncated: bool = False
    problems: tuple[str, ...] = ()
    _by_key: dict[str, Field] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The first field with a key outside the header wins: the header repeats a few body
        # fields (Status, Brief Title) as a summary, and the body is the authoritative copy.
        index: dict[str, Field] = {}
        for f in self.fields:
            current = index.get(f.key)
            if current is None or (current.section == HEADER_SECTION and f.section != HEADER_SECTION):
                index[f.key] = f
        object.__setattr__(self, "_by_key", index)

    def get(self, key: str) -> Field | None:
        """The authoritative field for ``key``, or ``None`` when the record has none."""
        return self._by_key.get(key)

    def value(self, key: str) -> Value | None:
        f = self._by_key.get(key)
        return None if f is None else f.value

    def keys(self) -> Iterator[str]:
        return iter(self._by_key)

    def to_dict(self) -> dict[str, Any]:
        """The documented, stable JSON shape of ``audit parse``."""
        return {
            "nct_id": self.nct_id,
            "source": self.source.to_dict(),
            "ignite_created": _stamp(self.ignite_created),
            "ignite_modified": _stamp(self.ignite_modified),
            "truncated": self.truncated,
            "problems": list(self.problems),
            "fields": [f.to_dict() for f in self.fields],
        }


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="minutes")
