"""Rules in words: ``audit rules list`` rows and ``audit rules explain`` pages — the one text of
a rule, which the nightly page's ``rules.txt`` (the legend's "explain") also shows, so the page and
the command never disagree.

Every operator is printed with its arguments and its signature's summary, item conditions
(``where:``) and pair conditions (``repeatedly``) as nested trees, periods as written
(``1y30d``), so that ``explain`` says everything the rule checks without reading its YAML.
"""

from __future__ import annotations

from typing import Any

from auditor.findings import FindingType
from auditor.list_fields import list_registry
from auditor.rules.conditions import ConditionSpec
from auditor.rules.operators import OPERATORS
from auditor.rules.spec import RuleSpec

_HEADINGS = {
    "record": "A finding when:",
    "pair": "A finding when, comparing a snapshot with the one before (--store DIR --history):",
    "history": "A finding when, over the record's snapshots in the store (--store DIR --history):",
}


def list_row(entry: RuleSpec | FindingType, width: int) -> str:
    """``id  severity  scope  title  [tags]``."""
    tags = f"  [{', '.join(entry.tags)}]" if entry.tags else ""
    return f"{entry.id:<{width}}  {entry.severity!s:<7}  {entry.scope:<7}  {entry.title}{tags}"


def entry_dict(entry: RuleSpec | FindingType) -> dict[str, Any]:
    """A rule (or catalogued finding type) as ``audit rules list --format json`` gives it."""
    return {
        "id": entry.id,
        "title": entry.title,
        "severity": str(entry.severity),
        "scope": entry.scope,
        "tags": list(entry.tags),
        "params": dict(entry.params),
        "rationale": entry.rationale,
        "source": entry.source,
        "defined_at": entry.location,
    }


def explain_text(entry: RuleSpec | FindingType) -> str:
    """A rule in words: header, why, the condition as a tree, parameters, message, example."""
    tags = f", tags: {', '.join(entry.tags)}" if entry.tags else ""
    lines = [
        f"{entry.id}  ({entry.severity}, scope: {entry.scope}{tags})",
        entry.title,
        "",
        f"Why: {entry.rationale}",
        f"Source: {entry.source}",
        f"Defined at: {entry.location}",
        "",
    ]
    if isinstance(entry, FindingType):
        lines.append("Computed from the snapshot store's index with --store DIR --history (no rule file).")
        lines.append(f"Message: {entry.message}")
        return "\n".join(lines) + "\n"
    lines.append(_HEADINGS[entry.scope])
    lines.extend(condition_lines(entry.when, "  "))
    lines.append("")
    if entry.params:
        lines.append(f"Parameters (override with --param {entry.id}.NAME=VALUE):")
        lines.extend(f"  {name} = {value}" for name, value in entry.params.items())
    else:
        lines.append("Parameters: none")
    if entry.message:
        lines.append(f"Message: {entry.message}")
    if entry.example:
        lines.append(f"Example: {entry.example}")
    return "\n".join(lines) + "\n"


def condition_lines(cond: ConditionSpec, indent: str) -> list[str]:
    summary = OPERATORS[cond.op].signature.summary
    if cond.op in ("all", "any") and "conditions" in cond.args:
        out = [f"{indent}{cond.op} of:"]
        for child in cond.args["conditions"]:
            out.extend(condition_lines(child, indent + "  "))
        return out
    if cond.op == "not":
        return [f"{indent}not:", *condition_lines(cond.args["condition"], indent + "  ")]
    nested = {name: cond.args[name] for name in ("where", "condition") if name in cond.args}
    args = ", ".join(f"{name}: {_arg(value)}" for name, value in cond.args.items() if name not in nested)
    out = [f"{indent}{cond.op} {args}    ({summary})"]
    if "list" in cond.args:
        spec = list_registry().get(str(cond.args["list"]).removeprefix("old."))
        if spec is not None:
            out.append(f"{indent}  (list {spec.key}: {spec.label}; items: {', '.join(spec.item_names)})")
    for name, child in nested.items():
        label = "where the item:" if name == "where" else "the pair condition:"
        out.append(f"{indent}  {label}")
        out.extend(condition_lines(child, indent + "    "))
    return out


def _arg(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_arg(v) for v in value) + "]"
    return str(value)
