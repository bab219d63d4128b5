"""Which ClinicalTrials.gov "History of Changes" module a field belongs to (the roll-up).

The mapping is data (``auditor/data/diff_modules.yaml``), looked up in this order: a table of
registered keys with no API path; the module of a registered field's API v2 path; the first
segment of a JSON path key (``contacts_locations_module.…``); the element of a legacy XML path
key (``clinical_study.location[0]…``, and the element under ``clinical_results``); the
section the reader gave the field; else ``Other``. Tested against the registry's own change
lists in ``../shared/ctgov-history-samples`` (``tests/test_diff_modules.py``).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import NamedTuple

import yaml

from auditor.fields import registry, snake

OTHER = "Other"


class ModuleTable(NamedTuple):
    labels: tuple[str, ...]
    api_modules: dict[str, str]  # camelCase module → label
    path_modules: dict[str, str]  # snake_case module (first segment of a JSON path key) → label
    xml_elements: dict[str, str]
    xml_results: dict[str, str]
    keys: dict[str, str]
    sections: dict[str, str]


@functools.cache
def module_table() -> ModuleTable:
    text = resources.files("auditor.data").joinpath("diff_modules.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    api = dict(data["api_modules"])
    return ModuleTable(
        labels=tuple(data["labels"]),
        api_modules=api,
        path_modules={snake(name): label for name, label in api.items()},
        xml_elements=dict(data["xml_elements"]),
        xml_results=dict(data["xml_results"]),
        keys=dict(data["keys"]),
        sections=dict(data["sections"]),
    )


@functools.lru_cache(maxsize=1 << 14)
def module_of(key: str, section: str) -> str:
    """The History-of-Changes module label of the field with this key and reader section."""
    table = module_table()
    if key in table.keys:
        return table.keys[key]
    spec = registry().by_key.get(key)
    if spec is not None and spec.json:
        parts = spec.json.split(".")
        name = parts[1] if len(parts) > 1 else parts[0]
        return table.api_modules.get(name, table.sections.get(section, OTHER))
    head, _, rest = key.partition(".")
    head = head.split("[", 1)[0]
    if head in table.path_modules:
        return table.path_modules[head]
    if head == "clinical_study" and rest:
        element, _, below = rest.partition(".")
        element = element.split("[", 1)[0]
        if element == "clinical_results":
            return table.xml_results.get(
                below.partition(".")[0].split("[", 1)[0], "Outcome Measures (Results)"
            )
        if element in table.xml_elements:
            return table.xml_elements[element]
    return table.sections.get(section, OTHER)
