"""Builds records for the rule tests in ``tests/rules/*.yaml`` (sqlfluff-style rule cases).

A case gives a record either as ``fields`` (registry key → raw text, typed exactly as a reader
would type it, through :func:`auditor.fields.type_field`) or as ``corpus`` (a real snapshot:
a path under the corpus and an NCT ID) or ``seed: true``. Pair cases give ``old`` and ``new``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from auditor.fields import registry
from auditor.readers.typing import type_field
from auditor.records import Record, Source, SourceFormat
from auditor.values import parse_timestamp

RULE_CASES = Path(__file__).parent / "rules"


def build_record(spec: dict[str, Any], *, path: str = "case.txt") -> Record:
    reg = registry().by_key
    fields = []
    for key, raw in (spec.get("fields") or {}).items():
        entry = reg[key]
        field, _ = type_field(entry.section, entry.label, "" if raw is None else str(raw), key=key)
        fields.append(field)
    return Record(
        nct_id=spec.get("nct_id", "NCT03765957"),
        source=Source(spec.get("path", path), SourceFormat.IGNITE_TEXT, "0" * 64),
        fields=tuple(fields),
        ignite_created=_stamp(spec.get("ignite_created")),
        ignite_modified=_stamp(spec.get("ignite_modified")),
        truncated=bool(spec.get("truncated", False)),
    )


def _stamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    stamp = parse_timestamp(text)
    assert stamp is not None, f"bad timestamp in a rule case: {text!r}"
    return stamp


@cache
def corpus_records(path: str) -> dict[str, Record]:
    from auditor.readers import read_path

    return {record.nct_id: record for record in read_path(path)}
