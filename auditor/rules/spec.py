"""Rule files (YAML) → validated rule specs, every error with its file, line and path.

.. code-block:: yaml

    rules:
      - id: unknown-status-stale          # kebab-case, unique across all files
        title: Status UNKNOWN and not verified for years
        severity: warning                  # error | warning | info
        scope: record                      # record (default) | pair | history
        rationale: One line saying why this matters.
        source: https://clinicaltrials.gov/...   # where the rule comes from
        tags: [status, staleness]          # optional, for --select / --ignore
        params: {years: 2}                 # defaults; "$years" uses one; --param RULE.years=3
        when:                              # the condition that means "this record has the problem"
          all:
            - eq: {field: overall_status, value: UNKNOWN}
            - older_than: {field: status_verified_date, years: $years}
        message: "status {overall_status}, verified {status_verified_date}"   # optional
        fields: [overall_status, status_verified_date]                         # optional
        example: a short text shown by `audit rules explain`                  # optional

The keys and their checks are :data:`auditor.rules.schema.RULE_SCHEMA`; the vocabulary of
``when`` is :data:`auditor.rules.operators.OPERATORS` (:mod:`auditor.rules.conditions` checks a
condition); nothing is evaluated. The whole file is checked before any rule runs: unknown keys,
wrong types, unknown fields, lists, operators or parameters, bad regular expressions, values
that are not dates or known enum values are all errors of the form ``rules/status.yaml:14:
rules[3].when.older_than.years: expected a whole number``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import RuleError
from auditor.findings import Severity
from auditor.inputs import read_file
from auditor.rules.conditions import ArgumentError, ConditionSpec, referenced_fields, resolve_args
from auditor.rules.nodes import RuleErrors, compose
from auditor.rules.schema import FILE_KEYS, PLACEHOLDER, check_rule

__all__ = [
    "PLACEHOLDER",
    "ArgumentError",
    "ConditionSpec",
    "RuleErrors",
    "RuleSpec",
    "load_rule_file",
    "parse_rule_text",
    "resolve_args",
]


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule, not yet bound to parameters or ``as_of`` (see :mod:`.compile`)."""

    id: str
    title: str
    severity: Severity
    scope: str
    rationale: str
    source: str
    when: ConditionSpec
    file: str
    line: int
    params: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    message: str | None = None
    fields: tuple[str, ...] = ()
    example: str | None = None

    @property
    def location(self) -> str:
        """``file:line`` of the rule's ``id``: the ``rule_source`` of its findings."""
        return f"{self.file}:{self.line}"

    def referenced_fields(self) -> tuple[str, ...]:
        """The columns the condition reads, in order of first use (``old.`` kept)."""
        seen: dict[str, None] = {}
        referenced_fields(self.when, seen)
        return tuple(seen)


#: The largest rule file read (a 100,000-value ``isin`` list is about 1.5 MB).
MAX_RULE_FILE_BYTES = 16 * 1024 * 1024


def load_rule_file(path: Path, name: str | None = None) -> list[RuleSpec]:
    """Parse and validate one rule file; raise :class:`RuleErrors` listing every problem.

    ``name`` is how errors and findings name the file (default: the path as given)."""
    name = str(path) if name is None else name
    try:
        text = read_file(path, what="rule file", limit=MAX_RULE_FILE_BYTES, error=RuleError).decode("utf-8")
    except RuleError as exc:
        raise RuleErrors([RuleError(exc.message, path=name)]) from None
    except UnicodeDecodeError as exc:
        raise RuleErrors([RuleError(f"cannot read rule file: {exc}", path=name)]) from None
    return parse_rule_text(text, name)


def parse_rule_text(text: str, file: str) -> list[RuleSpec]:
    """Validate rule-file text (``file`` names it in errors)."""
    root, checker = compose(text, file)
    top = checker.mapping(root, "(top)")
    specs: list[RuleSpec] = []
    if top is not None:
        for key, (key_node, _) in top.items():
            if key not in FILE_KEYS:
                checker.error(key_node, key, "unknown key (expected 'rules')")
        if "rules" not in top:
            checker.error(root, "(top)", "missing 'rules'")
        elif not isinstance(top["rules"][1], yaml.SequenceNode):
            checker.error(top["rules"][1], "rules", "expected a list of rules")
        else:
            for i, rule_node in enumerate(top["rules"][1].value):
                values = check_rule(checker, rule_node, f"rules[{i}]")
                if values is not None:
                    specs.append(RuleSpec(file=file, **values))
    if checker.errors:
        raise RuleErrors(checker.errors)
    return specs
