"""Legacy XML list fields named as API v2 names them, so XML-vs-JSON diffs compare list content.

The table is data (``auditor/data/diff_crossformat.yaml``): an XML list key and its items'
fields → the JSON list key and fields. :func:`translate` renames the fields of one side's
identities; a field with no counterpart keeps its XML key (and, present on one side only, is
left out of the diff with a note, as before).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import NamedTuple

import yaml

from auditor.diff.keys import Identity, item_key, list_slot
from auditor.records import Field, SourceFormat


class ListMap(NamedTuple):
    to: str
    fields: dict[str, str]


@functools.cache
def crossformat_table() -> dict[str, ListMap]:
    text = resources.files("auditor.data").joinpath("diff_crossformat.yaml").read_text(encoding="utf-8")
    return {
        str(key): ListMap(str(entry["to"]), {str(k): str(v) for k, v in entry["fields"].items()})
        for key, entry in yaml.safe_load(text).items()
    }


def translate(fields: dict[Identity, Field]) -> dict[Identity, Field]:
    """The identities of an XML record's list fields under their API v2 keys (order kept)."""
    table = crossformat_table()
    out: dict[Identity, Field] = {}
    for ident, f in fields.items():
        slot = list_slot(ident[0])
        mapping = None if slot is None else table.get(slot.list_key)
        rest = None if mapping is None or slot is None else mapping.fields.get(slot.rest)
        if mapping is None or slot is None or rest is None:
            out[ident] = f
            continue
        new = (item_key(mapping.to, slot.item, rest), ident[1], ident[2])
        out[new if new not in out else ident] = f
    return out


def untranslatable(fields: dict[Identity, Field]) -> list[Identity]:
    """API v2 fields of a list the table maps whose item field has no XML counterpart
    (a site's ``geo_point``): they cannot be compared with a legacy XML record."""
    targets = {m.to: set(m.fields.values()) for m in crossformat_table().values()}
    out: list[Identity] = []
    for ident in fields:
        slot = list_slot(ident[0])
        if slot is not None and slot.list_key in targets and slot.rest not in targets[slot.list_key]:
            out.append(ident)
    return out


def is_xml(fmt: SourceFormat) -> bool:
    return fmt is SourceFormat.CTGOV_XML
