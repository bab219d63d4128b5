"""The shipped catalogue's patterns compile in RE2: checked here once rather than at every start
(``auditor.rules.nodes.shipped_catalogue``), read straight from the YAML files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from auditor.rules import default_rules_dir, load_rules
from auditor.rules.patterns import PatternError, check_pattern


def patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "matches" and isinstance(value, dict) and "pattern" in value:
                yield str(value["pattern"])
            yield from patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from patterns(item)


SHIPPED = sorted(
    {
        p
        for file in default_rules_dir().glob("*.yaml")
        for p in patterns(yaml.safe_load(file.read_text("utf-8")))
    }
)


def test_the_catalogue_has_patterns() -> None:
    assert len(SHIPPED) >= 3


@pytest.mark.parametrize("pattern", SHIPPED)
def test_every_shipped_pattern_compiles_in_re2(pattern: str) -> None:
    assert check_pattern(pattern) == pattern


def test_a_rules_file_pattern_is_still_compiled(tmp_path: Any) -> None:
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "rules:\n  - id: bad-pattern\n    title: t\n    severity: info\n    rationale: r\n    source: s\n"
        "    when: {matches: {field: brief_title, pattern: 'a(?=b)'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="RE2"):
        load_rules([rule])
    with pytest.raises(PatternError):
        check_pattern("a(?=b)")
