"""List fields: outcomes, locations, arms, interventions, conditions, keywords, phases, countries.

The readers keep every item of a list as record fields with an index in the key
(``outcomes_module.primary_outcomes[0].measure`` in API v2 JSON and the Ignite pages written
from it, ``clinical_study.primary_outcome[0].measure`` in legacy XML). The list registry
(``auditor/data/list_fields.yaml``, data) names the lists the rules may read and where their
items are in each format; :func:`list_values` gathers one record's items.

**How a list reaches the records table** (:mod:`auditor.table`): per list ``L``,

* ``L__count`` — the number of items (nullable integer). It is ``<NA>`` when the snapshot
  cannot say: an Ignite page that shows none of the list's items may simply not include the
  module, so "no primary outcome" is only ever concluded from JSON or XML, where an absent list
  is an empty one.
* one text column per sub-field, ``L.<sub>`` (``primary_outcomes.time_frame``), or ``L`` itself
  for a list of plain values (``conditions``), holding the items' values as a JSON array
  (``["Day 1 to Day 28", null]``; ``null`` where an item lacks the sub-field). Text, not Python
  lists: a text column survives Parquet (the cache), Dask partitions and ``pd.concat`` as it
  is, costs one string per row, and the count — what most rules read — needs no decoding.

Values are the text as written (enum sub-fields normalised as the scalar registry normalises
enums: ``Recruiting`` → ``RECRUITING``); an empty value is ``null``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from auditor.records import Record, SourceFormat
from auditor.values import normalise_enum

#: The suffix of a list's item-count column.
COUNT_SUFFIX = "__count"
ITEM_TYPES = ("text", "enum")
_IGNITE_FORMATS = frozenset({SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE})


@dataclass(frozen=True, slots=True)
class ItemField:
    """One sub-field of a list's items and its path below the item in each format."""

    name: str
    type: str
    json: str
    xml: str


@dataclass(frozen=True, slots=True)
class ListSpec:
    """One registered list (see the comments at the top of ``list_fields.yaml``)."""

    key: str
    label: str
    items: tuple[ItemField, ...] = ()
    identity: tuple[str, ...] = ()
    type: str = "text"
    json: str | None = None
    xml: str | None = None
    xml_single: str | None = None
    xml_values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    json_from: tuple[str, str] | None = None
    aliases: tuple[tuple[str, str], ...] = ()

    @property
    def count_column(self) -> str:
        return self.key + COUNT_SUFFIX

    @property
    def value_columns(self) -> tuple[str, ...]:
        """The text columns holding the items: ``L.<sub>`` per sub-field, or ``L`` itself."""
        if not self.items:
            return (self.key,)
        return tuple(f"{self.key}.{item.name}" for item in self.items)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.count_column, *self.value_columns)

    def item_type(self, name: str) -> str | None:
        """``text`` / ``enum`` for a sub-field (the list's own ``type`` for ``value``, the name a
        condition over a list of plain values uses), ``None`` for anything else."""
        if not self.items:
            return self.type if name == "value" else None
        return next((item.type for item in self.items if item.name == name), None)

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.items) if self.items else ("value",)

    def item_column(self, name: str) -> str:
        """The table column of a sub-field (``value`` for a list of plain values)."""
        return self.key if not self.items else f"{self.key}.{name}"


@cache
def list_registry() -> dict[str, ListSpec]:
    """Load ``list_fields.yaml`` once per process: list key → spec, in file order."""
    text = resources.files("auditor.data").joinpath("list_fields.yaml").read_text(encoding="utf-8")
    out: dict[str, ListSpec] = {}
    for entry in yaml.safe_load(text)["lists"]:
        items = tuple(
            ItemField(name, spec.get("type", "text"), spec["json"], spec["xml"])
            for name, spec in (entry.get("items") or {}).items()
        )
        derived = entry.get("json_from")
        out[entry["key"]] = ListSpec(
            key=entry["key"],
            label=entry["label"],
            items=items,
            identity=tuple(entry.get("identity", ())),
            type=entry.get("type", "text"),
            json=entry.get("json"),
            xml=entry.get("xml"),
            xml_single=entry.get("xml_single"),
            xml_values=tuple((k, tuple(v)) for k, v in (entry.get("xml_values") or {}).items()),
            json_from=_source(derived),
            aliases=tuple(sorted((entry.get("aliases") or {}).items())),
        )
    return out


def _source(derived: str | None) -> tuple[str, str] | None:
    """``locations.country`` → ``("locations", "country")``."""
    if not derived:
        return None
    list_key, _, item = derived.partition(".")
    return list_key, item


def list_of_column(name: str) -> ListSpec | None:
    """The list a table column belongs to (``primary_outcomes.time_frame``, ``phases``,
    ``phases__count``), or ``None``. ``old.`` is not stripped here."""
    registry = list_registry()
    head = name.removesuffix(COUNT_SUFFIX).split(".", 1)[0]
    return registry.get(head)


def encode(values: Sequence[str | None]) -> str:
    """A list of item values as the table holds it (a JSON array)."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def decode(text: Any) -> list[Any]:
    """The item values of one table cell; an absent cell (``<NA>``) is an empty list."""
    if not isinstance(text, str):
        return []
    values: list[Any] = json.loads(text)
    return values


# --- one record's items ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where the wanted lists' items are, by key prefix, for one family of formats."""

    by_prefix: dict[str, tuple[ListSpec, dict[str, ItemField] | None]]
    singles: tuple[tuple[str, ListSpec], ...]
    aliases: dict[str, dict[str, str]]


@cache
def _plan(keys: tuple[str, ...], xml: bool) -> _Plan:
    """Where the items of ``keys`` — and of the lists they are derived from — are, by prefix."""
    registry = list_registry()
    sources = [registry[k].json_from for k in keys]
    wanted = list(keys) + [source[0] for source in sources if source is not None and not xml]
    by_prefix: dict[str, tuple[ListSpec, dict[str, ItemField] | None]] = {}
    singles: list[tuple[str, ListSpec]] = []
    for key in dict.fromkeys(wanted):
        spec = registry[key]
        prefix = spec.xml if xml else spec.json
        if xml and spec.xml_single:
            singles.append((spec.xml_single, spec))
        if prefix is None:
            continue
        paths = {(item.xml if xml else item.json): item for item in spec.items} if spec.items else None
        by_prefix[prefix] = (spec, paths)
    return _Plan(by_prefix, tuple(singles), {key: dict(registry[key].aliases) for key in wanted})


def list_values(record: Record, specs: Iterable[ListSpec]) -> dict[str, Any]:
    """The table cells of ``specs`` for one record: ``{column: value}`` with the count (an int,
    or ``None`` when the snapshot cannot say) and each value column (a JSON array, or ``None``
    with an unknown count). One pass over the record's keys for all the lists."""
    specs = tuple(specs)
    fmt = record.source.format
    xml = fmt is SourceFormat.CTGOV_XML
    plan = _plan(tuple(spec.key for spec in specs), xml)
    items: dict[str, dict[int, dict[str, str | None]]] = {key: {} for key in plan.aliases}
    columns = record.columns
    by_prefix = plan.by_prefix
    for key, raw in zip(columns.key, columns.raw, strict=True):
        if "[" not in key:
            continue
        bracket = key.index("[")
        found = by_prefix.get(key[:bracket])
        if found is None:
            continue
        close = key.find("]", bracket)
        if close < 0 or not key[bracket + 1 : close].isdigit():
            continue
        spec, paths = found
        rest = key[close + 1 :]
        if paths is None:
            if rest:
                continue
            name, kind = "value", spec.type
        else:
            item = paths.get(rest[1:]) if rest.startswith(".") else None
            if item is None:
                continue
            name, kind = item.name, item.type
        text = raw.strip()
        value = (normalise_enum(text) if kind == "enum" else text) or None
        if value is not None and paths is None and spec.aliases:
            value = plan.aliases[spec.key].get(value, value)
        items[spec.key].setdefault(int(key[bracket + 1 : close]), {})[name] = value
    for single_key, spec in plan.singles:
        found_field = record.get(single_key)
        if found_field is not None and found_field.raw.strip():
            mapped = dict(spec.xml_values).get(found_field.raw.strip())
            code = normalise_enum(found_field.raw)
            codes = mapped if mapped is not None else (plan.aliases[spec.key].get(code, code),)
            items[spec.key] = {i: {"value": c} for i, c in enumerate(codes)}
    out: dict[str, Any] = {}
    for spec in specs:
        rows = [items[spec.key][i] for i in sorted(items[spec.key])]
        if spec.json_from is not None and not xml:
            source, part = spec.json_from
            found_items = items[source]
            distinct = dict.fromkeys(v for i in sorted(found_items) if (v := found_items[i].get(part)))
            rows = [{"value": value} for value in distinct]
        known = bool(rows) or fmt not in _IGNITE_FORMATS
        out[spec.count_column] = len(rows) if known else None
        for name, column in zip(spec.item_names, spec.value_columns, strict=True):
            out[column] = encode([row.get(name) for row in rows]) if known else None
    return out
