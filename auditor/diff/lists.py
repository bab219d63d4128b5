"""List items as people know them: named by identity, not by index.

The naming table is data (``auditor/data/diff_lists.yaml``): a site is "facility, city", an
outcome its title, an arm its label, a reference its PMID. :func:`item_names` names every
item of every known list in a record once; :func:`item_signature` is what an item holds,
so a removed item and an added one with the same signature are the same item moved.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from typing import NamedTuple

import yaml

from auditor.diff.keys import list_slot
from auditor.diff.model import Change
from auditor.records import Record


class ListSpec(NamedTuple):
    noun: str
    plural: str
    name: tuple[str, ...]
    fallback: tuple[str, ...]
    unordered: bool


@functools.cache
def list_specs() -> dict[str, ListSpec]:
    text = resources.files("auditor.data").joinpath("diff_lists.yaml").read_text(encoding="utf-8")
    return {
        str(key): ListSpec(
            str(spec["noun"]),
            str(spec["plural"]),
            tuple(str(n) for n in spec["name"]),
            tuple(str(n) for n in spec.get("fallback", ())),
            bool(spec.get("unordered", False)),
        )
        for key, spec in yaml.safe_load(text).items()
    }


def list_spec(list_key: str) -> ListSpec:
    """The list's spec; an unknown list's items are "items" named by nothing."""
    spec = list_specs().get(list_key)
    if spec is not None:
        return spec
    return ListSpec("item", "items", (), (), False)


ItemId = tuple[str, int]  # list key, index


def item_names(record: Record) -> dict[ItemId, str]:
    """The name of every item of a known list in ``record`` (none for an unnamed item)."""
    specs = list_specs()
    parts: dict[ItemId, dict[str, str]] = {}
    for f in record.fields:
        slot = list_slot(f.key) if "[" in f.key else None
        if slot is None or slot.list_key not in specs:
            continue
        parts.setdefault((slot.list_key, slot.item), {}).setdefault(slot.rest, f.raw)
    out: dict[ItemId, str] = {}
    for (list_key, index), values in parts.items():
        name = name_of(specs[list_key], values)
        if name:
            out[(list_key, index)] = name
    return out


def name_of(spec: ListSpec, values: dict[str, str]) -> str:
    """The item's name from its fields by rest of key (see the module docstring)."""
    for rests in (spec.name, spec.fallback):
        found = [" ".join(values[r].split()) for r in rests if values.get(r, "").strip()]
        if found:
            name = ", ".join(found)
            return name if len(name) <= 90 else name[:89] + "…"
    return ""


Signature = tuple[tuple[str, int, str], ...]


def item_signature(changes: Iterable[Change]) -> Signature:
    """What a whole item added or removed holds: its fields' (rest of key, occurrence, raw)."""
    out: list[tuple[str, int, str]] = []
    for c in changes:
        slot = list_slot(c.key)
        raw = c.new_raw if c.new is not None else c.old_raw
        if slot is not None and raw is not None:
            out.append((slot.rest, c.occurrence, raw))
    return tuple(sorted(out))


def item_values(changes: Iterable[Change]) -> dict[str, str]:
    """An added or removed item's values by rest of key."""
    out: dict[str, str] = {}
    for c in changes:
        slot = list_slot(c.key)
        raw = c.new_raw if c.new is not None else c.old_raw
        if slot is not None and raw is not None:
            out.setdefault(slot.rest, raw)
    return out
