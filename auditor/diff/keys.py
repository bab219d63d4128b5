"""Field identities and list-item keys: how a field is named on both sides of a diff.

A field's identity is ``(key, occurrence, header)``: its canonical key, its index among the
fields of the record with that key (a record may repeat a key; order is kept), and whether it
sits in the Ignite study page's summary block (:data:`~auditor.records.HEADER_SECTION`), which
repeats body fields and so has identities of its own.

A path key with an index (``contacts_locations_module.locations[3].facility``) belongs to an
item of a list: the prefix up to the *first* ``[n]`` names the list, ``n`` the item.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from auditor.fields import registry
from auditor.records import HEADER_SECTION, Field, Record

Identity = tuple[str, int, bool]  # key, occurrence, header
ListId = tuple[str, bool]  # list key, header


class ListSlot(NamedTuple):
    """Where a path key sits in a list: ``list_key[index]rest``."""

    list_key: str
    item: int
    rest: str


def identity_text(key: str, occurrence: int, header: bool) -> str:
    text = key if occurrence == 0 else f"{key}#{occurrence}"
    return f"{HEADER_SECTION}:{text}" if header else text


def identities(record: Record, *, header: bool = True) -> dict[Identity, Field]:
    """Every field of ``record`` by identity, in record order (header fields only if asked)."""
    counts: dict[tuple[str, bool], int] = {}
    out: dict[Identity, Field] = {}
    for f in record.fields:
        in_header = f.section == HEADER_SECTION
        if in_header and not header:
            continue
        n = counts.get((f.key, in_header), 0)
        counts[(f.key, in_header)] = n + 1
        out[(f.key, n, in_header)] = f
    return out


def has_header(record: Record) -> bool:
    return any(f.section == HEADER_SECTION for f in record.fields)


def is_path_key(key: str) -> bool:
    """An unregistered JSON/XML leaf, whose key spells its path in one format's scheme."""
    return ("." in key or "[" in key) and key not in registry().by_key


_LIST_ITEM = re.compile(r"([^\[]*)\[(\d+)\](.*)", re.DOTALL)


@functools.lru_cache(maxsize=1 << 16)
def list_slot(key: str) -> ListSlot | None:
    """Where a path key sits in its outermost list, or ``None`` for a key outside lists."""
    if "[" not in key or not is_path_key(key):
        return None
    m = _LIST_ITEM.fullmatch(key)
    return None if m is None else ListSlot(m.group(1), int(m.group(2)), m.group(3))


def item_key(list_key: str, index: int, rest: str) -> str:
    return f"{list_key}[{index}]{rest}"
