"""The items of list fields for the projection: only the fields :func:`~auditor.list_fields.list_values`
reads, under the keys and with the raw text the full readers give them.

A list's items are record fields with an index in their key
(``outcomes_module.primary_outcomes[0].time_frame``). The full readers key every leaf of a
study; here only the items' registered sub-fields (``list_fields.yaml``) are keyed, by the full
readers' own rules, so that :func:`auditor.table.records_table` gives byte-identical list columns:

* API v2 JSON (:mod:`auditor.readers.ctgov_json`): a module's key is ``snake(module)`` whatever
  its section, then ``snake(name)`` per object key and ``[index]`` per list item; a leaf's raw
  text is :func:`~auditor.readers.typing.scalar_raw` of it, ``""`` for an empty list or object.
  An item key the list reads is one whose value is a scalar or empty (deeper values get longer
  keys, which the list does not read).
* legacy XML (:mod:`auditor.readers.ctgov_xml`): ``[index]`` on every element the schema lets
  repeat and on any element repeated in its parent; a leaf's raw text is its stripped text; an
  element with children is a leaf only when it has text of its own, and an empty element with
  attributes is none.

What is not the plain case makes :func:`json_list_fields` / :func:`xml_list_fields` answer
``False`` and the caller reads the input in full: a key that could build the same record key
another way (a JSON module or list name with ``.`` or ``[``, two objects whose keys both snake
to a wanted list, an XML tag with an upper-case letter or a ``.``), a repeated container or
single element (indexed, so keyed otherwise).
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from auditor.fields import registry, snake
from auditor.list_fields import ListSpec, list_registry
from auditor.readers.ctgov_json import MISC_SECTION
from auditor.readers.ctgov_xml import REPEATABLE, ROOT, SECTIONS
from auditor.readers.typing import ColumnBuilder, scalar_raw

#: An XML item's wanted sub-elements as a tree: tag → its own wanted children, ``None`` for a leaf.
XmlTree = Mapping[str, "XmlTree | None"]


@dataclass(frozen=True, slots=True)
class JsonList:
    """Where one list's items are in an API v2 study (snake-cased keys) and which item keys it
    reads: ``None`` for a list of plain values."""

    module: str
    name: str
    items: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class XmlList:
    """Where one list's items are in a legacy XML study.

    ``key``: the items' key prefix (``clinical_study.location_countries.country``);
    ``container``: the unique elements from the root to the items' parent; ``tag``: the items'
    tag; ``indexed``: ``False`` for the one element a list is read from (``xml_single``);
    ``items``: the wanted sub-elements (``None`` for a list of plain values)."""

    key: str
    container: tuple[str, ...]
    tag: str
    indexed: bool
    items: XmlTree | None


@dataclass(frozen=True, slots=True)
class ListPlan:
    """The lists to project: JSON ones by module key then list key, and the XML ones."""

    json: Mapping[str, Mapping[str, JsonList]]
    xml: tuple[XmlList, ...]


def list_plan(keys: Iterable[str]) -> ListPlan | None:
    """The lists among ``keys`` and where their items are (with, for JSON, the lists they are
    derived from), or ``None`` when a registered path is not one this module can follow."""
    lists = list_registry()
    asked = set(keys)
    wanted = [spec for key, spec in lists.items() if key in asked]
    sources = [lists[spec.json_from[0]] for spec in wanted if spec.json_from is not None]
    json_lists: dict[str, dict[str, JsonList]] = {}
    for spec in dict.fromkeys([*wanted, *sources]):
        if spec.json is not None:
            found = _json_list(spec)
            if found is None:
                return None
            json_lists.setdefault(found.module, {})[found.name] = found
    xml_lists: list[XmlList] = []
    for spec in wanted:
        for path, indexed in ((spec.xml, True), (spec.xml_single, False)):
            if path is not None:
                xml_found = _xml_list(spec, path, indexed=indexed)
                if xml_found is None:
                    return None
                xml_lists.append(xml_found)
    return ListPlan(json_lists, tuple(xml_lists))


def _json_list(spec: ListSpec) -> JsonList | None:
    module, _, name = (spec.json or "").partition(".")
    items = frozenset(item.json for item in spec.items) if spec.items else None
    plain = [module, name, *(items or ())]
    if any(not part or "." in part or "[" in part for part in plain):
        return None
    return JsonList(module, name, items)


def _xml_list(spec: ListSpec, path: str, *, indexed: bool) -> XmlList | None:
    root, *container, tag = path.split(".")
    if root != ROOT or any(_indexed_by_schema(p, c) for p, c in itertools.pairwise([root, *container])):
        return None
    if _indexed_by_schema(([root, *container])[-1], tag) != indexed:
        return None
    if not indexed and "/".join([*container, tag]) in _registered_xml_paths():
        return None  # keyed by the field registry, not by its path
    tree: dict[str, Any] = {}
    for item in spec.items:
        node, parent = tree, tag
        *inner, leaf = item.xml.split(".")
        for part in inner:
            if _indexed_by_schema(parent, part) or node.get(part, {}) is None:
                return None
            node, parent = node.setdefault(part, {}), part
        if _indexed_by_schema(parent, leaf) or leaf in node:
            return None
        node[leaf] = None
    return XmlList(path, tuple(container), tag, indexed, tree if spec.items else None)


def _indexed_by_schema(parent: str, child: str) -> bool:
    """Whether the XML reader always indexes ``child`` below ``parent`` (ctgov_xml ``_Walker``)."""
    return parent.endswith("_list") or f"{parent}/{child}" in REPEATABLE


@lru_cache(maxsize=1)
def _registered_xml_paths() -> frozenset[str]:
    return frozenset(path for spec in registry().specs for path in spec.xml)


@lru_cache(maxsize=4096)
def _snake(name: str) -> str:
    return snake(name)


# --- API v2 JSON ------------------------------------------------------------------------------


def json_list_fields(study: dict[str, Any], plan: ListPlan, fields: ColumnBuilder) -> bool:
    """Add the wanted lists' item fields of one v2-shaped study; ``False``: read it in full."""
    modules = plan.json
    if not modules:
        return True
    found: dict[JsonList, tuple[str, str, Any]] = {}
    for top, section in study.items():
        if not top.endswith("Section") or not isinstance(section, dict):
            continue  # keyed "study.…" by the full reader: never a list's items
        for module, content in section.items():
            if "." in module or "[" in module:
                return False
            wanted = modules.get(_snake(module))
            if wanted is None or not isinstance(content, dict):
                continue
            for name, value in content.items():
                if "." in name or "[" in name:
                    return False
                target = wanted.get(_snake(name))
                if target is None:
                    continue
                if target in found:
                    return False  # two objects give the same keys: the full reader merges them
                found[target] = (module, name, value)
    sections = registry().module_sections
    for target, (module, name, value) in found.items():
        if isinstance(value, list):
            section = sections.get(module, MISC_SECTION)
            _json_items(value, target, f"{module}.{name}", section, fields)
    return True


def _json_items(items: list[Any], target: JsonList, label: str, section: str, fields: ColumnBuilder) -> None:
    prefix = f"{target.module}.{target.name}"
    wanted = target.items
    for index, item in enumerate(items):
        if wanted is None:
            raw = _json_leaf(item)
            if raw is not None:
                fields.add_untyped(section, f"{label}[{index}]", f"{prefix}[{index}]", raw)
            continue
        if not isinstance(item, dict):
            continue  # a scalar or list item has no key the list reads
        for name, value in item.items():
            sub = _snake(name)
            if sub not in wanted:
                continue
            raw = _json_leaf(value)
            if raw is not None:
                fields.add_untyped(section, f"{label}[{index}].{name}", f"{prefix}[{index}].{sub}", raw)


def _json_leaf(value: Any) -> str | None:
    """The raw text the JSON reader keys at this value's own path; ``None`` for a non-empty
    list or object (its leaves have longer keys)."""
    if isinstance(value, dict | list):
        return None if value else ""
    return scalar_raw(value)


# --- legacy XML -------------------------------------------------------------------------------


def xml_list_fields(root: ET.Element, plan: ListPlan, fields: ColumnBuilder) -> bool:
    """Add the wanted lists' item fields of one ``<clinical_study>``; ``False``: read it in full."""
    if not plan.xml:
        return True
    top = _children(root)
    if top is None:
        return False
    for target in plan.xml:
        kids: dict[str, list[ET.Element]] | None = top
        section = SECTIONS.get((*target.container, target.tag)[0], MISC_SECTION)
        for tag in target.container:
            assert kids is not None
            found = kids.get(tag, [])
            if len(found) > 1:
                return False  # indexed container: keyed otherwise
            kids = _children(found[0]) if found else {}
            if kids is None:
                return False
        assert kids is not None
        items = kids.get(target.tag, [])
        if not target.indexed:
            if len(items) > 1:
                return False
            raw = _xml_leaf(items[0]) if items else None
            if raw is not None:
                fields.add_untyped(section, target.key, target.key, raw)
            continue
        for index, item in enumerate(items):
            key = f"{target.key}[{index}]"
            if target.items is None:
                raw = _xml_leaf(item)
                if raw is not None:
                    fields.add_untyped(section, key, key, raw)
            elif not _xml_item(item, target.items, key, section, fields):
                return False
    return True


def _xml_item(element: ET.Element, tree: XmlTree, key: str, section: str, fields: ColumnBuilder) -> bool:
    """Add the fields of ``tree`` below ``element`` (keyed from ``key``); ``False``: not plain."""
    kids = _children(element)
    if kids is None:
        return False
    for tag, subtree in tree.items():
        found = kids.get(tag, [])
        if len(found) != 1:
            continue  # absent, or repeated and so indexed: no key the list reads
        child_key = f"{key}.{tag}"
        if subtree is None:
            raw = _xml_leaf(found[0])
            if raw is not None:
                fields.add_untyped(section, child_key, child_key, raw)
        elif not _xml_item(found[0], subtree, child_key, section, fields):
            return False
    return True


def _children(element: ET.Element) -> dict[str, list[ET.Element]] | None:
    """``element``'s children by tag, or ``None`` when a tag is not plain lower case: the full
    reader snake-cases keys with capitals (``<Measure>`` is keyed ``measure``) and splits them
    at dots, so such a tag could give a wanted key another way."""
    out: dict[str, list[ET.Element]] = {}
    for child in element:
        tag = child.tag
        if not tag.islower() or "." in tag:
            return None
        found = out.get(tag)
        if found is None:
            out[tag] = [child]
        else:
            found.append(child)
    return out


def _xml_leaf(element: ET.Element) -> str | None:
    """The raw text the XML reader keys at this element's own path, or ``None`` when it keys
    none there (an element with children and no text, an empty one with attributes)."""
    text = element.text
    text = text.strip() if text else ""
    if len(element):
        return text or None
    if text or not element.attrib:
        return text
    return None


__all__ = ["JsonList", "ListPlan", "XmlList", "json_list_fields", "list_plan", "xml_list_fields"]
