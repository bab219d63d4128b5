"""``audit rules list`` and ``audit rules explain ID``: what the catalogue checks, in words."""

from __future__ import annotations

import json
from typing import Any

import click

from auditor.cli.options import catalogue_entries, rules_option
from auditor.config import did_you_mean
from auditor.errors import EXIT_INPUT, EXIT_OK, UsageError
from auditor.rules import load_rules
from auditor.rules.explain import explain_text
from auditor.rules.spec import RuleErrors, RuleSpec


def _load(rule_paths: tuple[str, ...]) -> Any:
    return load_rules(list(rule_paths) if rule_paths else None)


@click.group("rules")
def command() -> None:
    """List the rules and explain one."""


def _guard(run: Any) -> int:
    try:
        result: int = run()
    except RuleErrors as exc:
        for error in exc.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        return EXIT_INPUT
    return result


@command.command("list")
@rules_option
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def list_rules(rule_paths: tuple[str, ...], output_format: str) -> int:
    """One line per rule: id, severity, scope, title."""

    def run() -> int:
        ruleset = _load(rule_paths)
        if output_format == "json":
            rows = [_rule_dict(rule) for rule in ruleset]
            click.echo(json.dumps({"schema": 1, "rules": rows}, ensure_ascii=False, indent=1))
            return EXIT_OK
        width = max(len(rule.id) for rule in ruleset)
        click.echo(f"{'id':<{width}}  {'severity':<8} {'scope':<6}  title")
        for rule in ruleset:
            click.echo(f"{rule.id:<{width}}  {rule.severity:<8} {rule.scope:<6}  {rule.title}")
        return EXIT_OK

    return _guard(run)


@command.command("explain")
@click.argument("rule_id", metavar="ID")
@rules_option
def explain(rule_id: str, rule_paths: tuple[str, ...]) -> int:
    """What one rule checks, its parameters and an example."""

    def run() -> int:
        ruleset = _load(rule_paths)
        ids = [entry.id for entry in catalogue_entries(ruleset)]
        if rule_id not in ids:
            hint = did_you_mean(rule_id, ids)
            raise UsageError(f"no rule with id {rule_id!r}{hint} (audit rules list shows them)")
        text = explain_text(ruleset.get(rule_id))
        click.echo(text, nl=not text.endswith("\n"))
        return EXIT_OK

    return _guard(run)


def _rule_dict(rule: RuleSpec) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": str(rule.severity),
        "scope": rule.scope,
        "tags": list(rule.tags),
        "params": rule.params,
        "rationale": rule.rationale,
        "source": rule.source,
        "defined_at": rule.location,
    }
