"""The field registry: label or source path → canonical key and type.

The registry itself is data (``auditor/data/fields.yaml``); this module loads it once and
answers lookups. Every reader types its fields through :mod:`auditor.readers.typing`, which
asks here, so a label, a JSON path and an XML path that mean the same thing get the same key
and the same typing.

Fields the registry does not know are never dropped:

* an unknown ``Label:`` in an Ignite page becomes key ``slug(label)``, typed by the universal
  literals only (``True``/``False``, ``None``/``N/A``/empty) — see :func:`label_key`;
* an unregistered JSON or XML leaf gets a *path label*: its path below the section, such as
  ``contactsLocationsModule.locations[0].facility`` (JSON) or
  ``clinical_study.location[0].facility.name`` (XML). The Ignite writer writes that label and the
  Ignite reader recognises it by its shape, so JSON → record → text → record keeps every leaf
  with the same key (``contacts_locations_module.locations[0].facility``).

Two more tables of ``fields.yaml``: ``ignite_modules`` (every API v2 module, its fields and
nested lists: the labels of Ignite's module pages, :mod:`auditor.readers.ignite_labels`) and
``study_fields_pieces`` (classic v1 StudyFields piece → API v2 path,
:mod:`auditor.readers.ctgov_classic`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from auditor.values import ValueType

#: A path label: identifiers joined by dots, with ``[n]`` indices; at least one dot or index.
PATH_LABEL = re.compile(r"[a-z][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One registry entry; see the comments at the top of ``fields.yaml``."""

    key: str
    label: str
    section: str
    type: ValueType
    aliases: tuple[str, ...] = ()
    json: str | None = None
    xml: tuple[str, ...] = ()
    enum: frozenset[str] = frozenset()
    enum_aliases: tuple[tuple[str, str], ...] = ()
    missing: frozenset[str] = frozenset()
    multiline: bool = False
    header: bool = False


@dataclass(frozen=True, slots=True)
class IgniteModule:
    """An API v2 module (or section) as Ignite publishes it, one page each (``ignite_modules``
    in ``fields.yaml``): its JSON path and the names of its scalar ``fields`` and of its
    ``nested`` objects and lists."""

    name: str
    path: str
    fields: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registry:
    specs: tuple[FieldSpec, ...]
    sections: tuple[str, ...]
    module_sections: dict[str, str]
    by_key: dict[str, FieldSpec]
    by_label: dict[str, FieldSpec]
    by_json: dict[str, FieldSpec]
    ignite_modules: dict[str, IgniteModule]
    #: Classic API v1 StudyFields piece name → API v2 path (``[]`` ends a list).
    study_fields_pieces: dict[str, str]

    def spec_for_label(self, label: str) -> FieldSpec | None:
        return self.by_label.get(_fold(label))

    def is_known_label(self, label: str) -> bool:
        return _fold(label) in self.by_label or PATH_LABEL.fullmatch(label) is not None

    def section_of_module(self, module: str) -> str:
        return self.module_sections.get(module, "Misc")


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


@cache
def registry() -> Registry:
    """Load ``fields.yaml`` once per process."""
    text = resources.files("auditor.data").joinpath("fields.yaml").read_text(encoding="utf-8")
    # our own data file: libyaml's safe loader where PyYAML has it (30 ms less per command)
    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = safe_loader(text).get_single_data()
    specs = []
    for entry in data["fields"]:
        specs.append(
            FieldSpec(
                key=entry["key"],
                label=entry["label"],
                section=entry["section"],
                type=ValueType(entry["type"]),
                aliases=tuple(entry.get("aliases", ())),
                json=entry.get("json"),
                xml=tuple(entry["xml"].split("|")) if entry.get("xml") else (),
                enum=frozenset(entry.get("enum", ())),
                enum_aliases=tuple(sorted((entry.get("enum_aliases") or {}).items())),
                missing=frozenset(entry.get("missing", ())),
                multiline=bool(entry.get("multiline", False)),
                header=bool(entry.get("header", False)),
            )
        )
    by_label: dict[str, FieldSpec] = {}
    for spec in specs:
        for label in (spec.label, *spec.aliases):
            if _fold(label) in by_label:
                raise ValueError(f"fields.yaml: label {label!r} registered twice")
            by_label[_fold(label)] = spec
    return Registry(
        specs=tuple(specs),
        sections=tuple(data["sections"]),
        module_sections=dict(data["module_sections"]),
        by_key={s.key: s for s in specs},
        by_label=by_label,
        by_json={s.json: s for s in specs if s.json},
        ignite_modules={
            name: IgniteModule(
                name, entry["path"], tuple(entry.get("fields", ())), tuple(entry.get("nested", ()))
            )
            for name, entry in (data.get("ignite_modules") or {}).items()
        },
        study_fields_pieces=dict(data.get("study_fields_pieces") or {}),
    )


def snake(identifier: str) -> str:
    """``statusVerifiedDate`` → ``status_verified_date``."""
    return _CAMEL.sub(r"_\1", identifier).lower()


def path_key(path_label: str) -> str:
    """Key of a path label: each identifier snake_cased, dots and indices kept."""
    return ".".join(snake(part) for part in path_label.split("."))


def label_key(label: str) -> str:
    """Canonical key for a label: the registry's, a path label's, or ``slug(label)``."""
    spec = registry().spec_for_label(label)
    if spec is not None:
        return spec.key
    if PATH_LABEL.fullmatch(label):
        return path_key(label)
    return _NON_WORD.sub("_", label.casefold()).strip("_") or "unlabelled"
