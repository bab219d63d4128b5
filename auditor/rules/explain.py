"""A rule in words: what ``audit rules explain ID`` prints, and what the nightly page's legend of
rules shows (the same text, so the page and the command never disagree)."""

from __future__ import annotations

from typing import Any

from auditor.rules.operators import OPERATORS
from auditor.rules.spec import ConditionSpec, RuleSpec


def explain_text(rule: RuleSpec) -> str:
    """A rule in words: header, why, the condition as a tree, parameters, message, example."""
    tags = f", tags: {', '.join(rule.tags)}" if rule.tags else ""
    lines = [
        f"{rule.id}  ({rule.severity}, scope: {rule.scope}{tags})",
        rule.title,
        "",
        f"Why: {rule.rationale}",
        f"Source: {rule.source}",
        f"Defined at: {rule.location}",
        "",
        "A finding when:"
        if rule.scope == "record"
        else "A finding when, comparing a snapshot with the one before:",
    ]
    lines.extend(_condition_lines(rule.when, "  "))
    lines.append("")
    if rule.params:
        lines.append("Parameters (override with --param NAME=VALUE):")
        lines.extend(f"  {name} = {value}" for name, value in rule.params.items())
    else:
        lines.append("Parameters: none")
    if rule.message:
        lines.append(f"Message: {rule.message}")
    if rule.example:
        lines.append(f"Example: {rule.example}")
    return "\n".join(lines) + "\n"


def _condition_lines(cond: ConditionSpec, indent: str) -> list[str]:
    summary = OPERATORS[cond.op][1].summary
    if cond.op in ("all", "any"):
        out = [f"{indent}{'all' if cond.op == 'all' else 'any'} of:"]
        for child in cond.args["conditions"]:
            out.extend(_condition_lines(child, indent + "  "))
        return out
    if cond.op == "not":
        return [f"{indent}not:", *_condition_lines(cond.args["condition"], indent + "  ")]
    args = ", ".join(f"{name}: {_arg(value)}" for name, value in cond.args.items())
    return [f"{indent}{cond.op} {args}    ({summary})"]


def _arg(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_arg(v) for v in value) + "]"
    return str(value)
