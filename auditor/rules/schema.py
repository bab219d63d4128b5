"""The rule-file schema, declared as data (pre-commit's ``clientlib.py`` style).

A rule file is ``{rules: [rule, …]}``; a rule is a mapping whose keys are the :data:`RULE_SCHEMA`
entries below — each one a :class:`Key` with whether it is required and the check that turns
its YAML node into a value (or records an error with its line). Reading the schema is reading
the rule format; ``rules/README.md`` documents the same keys for people.

The checks run in schema order, each with what the earlier ones found (:class:`Context`: the
rule's path, scope and parameters), so that ``when`` is checked in the rule's scope with its
declared parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.findings import Severity
from auditor.list_fields import list_registry
from auditor.rules.conditions import check_condition, kind_of
from auditor.rules.nodes import Checker

RULE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PARAM_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: A message placeholder: a field (``{old.completion_date}``), a parameter, ``as_of``, or a
#: count over a list of a pair rule (``{added(locations)}``, ``{removed(locations)}``).
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*(?:\([a-z_]+\))?)\}")
MESSAGE_FUNCTIONS = ("added", "removed")
SCOPES = ("record", "pair", "history")


@dataclass
class Context:
    """What the checks of one rule know so far."""

    path: str
    scope: str = "record"
    params: dict[str, Any] = field(default_factory=dict)


Check = Callable[[Checker, yaml.Node, Context], Any]


@dataclass(frozen=True)
class Key:
    """One key of a rule: its name, whether a rule must give it, its check and its default."""

    name: str
    required: bool
    check: Check
    default: Any = None


# ---------------------------------------------------------------- checks, one per kind of value


def check_id(c: Checker, node: yaml.Node, ctx: Context) -> str | None:
    rule_id = c.text(node, f"{ctx.path}.id")
    if rule_id is not None and not RULE_ID.fullmatch(rule_id):
        c.error(node, f"{ctx.path}.id", f"{rule_id!r} is not a kebab-case id like 'unknown-status-stale'")
        return None
    return rule_id


def _text(name: str) -> Check:
    def check(c: Checker, node: yaml.Node, ctx: Context) -> str | None:
        return c.text(node, f"{ctx.path}.{name}")

    return check


def check_severity(c: Checker, node: yaml.Node, ctx: Context) -> Severity | None:
    text = c.text(node, f"{ctx.path}.severity")
    if text is None:
        return None
    try:
        return Severity(text)
    except ValueError:
        c.error(node, f"{ctx.path}.severity", f"{text!r} is not error, warning or info")
        return None


def check_scope(c: Checker, node: yaml.Node, ctx: Context) -> str | None:
    text = c.text(node, f"{ctx.path}.scope")
    if text is not None and text not in SCOPES:
        c.error(node, f"{ctx.path}.scope", f"{text!r} is not {', '.join(SCOPES[:-1])} or {SCOPES[-1]}")
        return None
    if text is not None:
        ctx.scope = text
    return text


def check_tags(c: Checker, node: yaml.Node, ctx: Context) -> tuple[str, ...]:
    return c.text_list(node, f"{ctx.path}.tags")


def check_params(c: Checker, node: yaml.Node, ctx: Context) -> dict[str, Any]:
    path = f"{ctx.path}.params"
    out: dict[str, Any] = {}
    for name, (key_node, value_node) in (c.mapping(node, path) or {}).items():
        if not PARAM_NAME.fullmatch(name):
            c.error(key_node, f"{path}.{name}", "parameter names are lower_snake_case")
            continue
        value = c.scalar(value_node) if isinstance(value_node, yaml.ScalarNode) else None
        if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
            c.error(value_node, f"{path}.{name}", "a default must be a number or text (a period: 30d)")
            continue
        out[name] = value
    ctx.params = out
    return out


def check_when(c: Checker, node: yaml.Node, ctx: Context) -> Any:
    return check_condition(c, node, f"{ctx.path}.when", ctx.scope, ctx.params)


def check_fields(c: Checker, node: yaml.Node, ctx: Context) -> tuple[str, ...]:
    path = f"{ctx.path}.fields"
    names = c.text_list(node, path)
    for name in names:
        if kind_of(name, ctx.scope) is None:
            if name.startswith("old.") and ctx.scope == "record":
                c.error(node, path, f"{name!r}: 'old.' fields exist only in scope: pair (or history) rules")
            else:
                c.error(node, path, f"unknown field {name!r} (see the keys in auditor/data/fields.yaml)")
    return names


def check_message(c: Checker, node: yaml.Node, ctx: Context) -> str | None:
    path = f"{ctx.path}.message"
    message = c.text(node, path)
    for name in PLACEHOLDER.findall(message or ""):
        if "(" in name:
            function, _, argument = name.rstrip(")").partition("(")
            if function not in MESSAGE_FUNCTIONS or argument not in list_registry() or ctx.scope == "record":
                c.error(node, path, f"{{{name}}}: pair rules may count added(list) or removed(list) items")
        elif name not in ctx.params and name != "as_of" and kind_of(name, ctx.scope) is None:
            c.error(node, path, f"{{{name}}} is not a field or parameter")
    return message


#: The keys of a rule, in the order they are checked (``scope`` and ``params`` before ``when``).
RULE_SCHEMA: tuple[Key, ...] = (
    Key("id", True, check_id),
    Key("title", True, _text("title")),
    Key("severity", True, check_severity),
    Key("scope", False, check_scope, "record"),
    Key("rationale", True, _text("rationale")),
    Key("source", True, _text("source")),
    Key("tags", False, check_tags, ()),
    Key("params", False, check_params, {}),
    Key("when", True, check_when),
    Key("message", False, check_message),
    Key("fields", False, check_fields, ()),
    Key("example", False, _text("example")),
)
#: The keys of a rule file.
FILE_KEYS = ("rules",)


def check_rule(c: Checker, node: yaml.Node, path: str) -> dict[str, Any] | None:
    """The rule's values by key (defaults filled in), or ``None`` when it has errors."""
    items = c.mapping(node, path)
    if items is None:
        return None
    before = len(c.errors)
    known = {key.name for key in RULE_SCHEMA}
    for name, (key_node, _) in items.items():
        if name not in known:
            c.error(
                key_node, f"{path}.{name}", f"unknown key (expected one of {', '.join(known_in_order())})"
            )
    for key in RULE_SCHEMA:
        if key.required and key.name not in items:
            c.error(node, path, f"missing '{key.name}'")
    if len(c.errors) > before:
        return None
    ctx = Context(path)
    values: dict[str, Any] = {}
    for key in RULE_SCHEMA:
        if key.name not in items:
            values[key.name] = key.default
            continue
        values[key.name] = key.check(c, items[key.name][1], ctx)
        if key.name == "id" and values["id"]:
            ctx.path = f"{path}({values['id']})"
    if len(c.errors) > before or any(values[key.name] is None for key in RULE_SCHEMA if key.required):
        return None
    values["line"] = items["id"][0].start_mark.line + 1
    return values


def known_in_order() -> list[str]:
    return [key.name for key in RULE_SCHEMA]
