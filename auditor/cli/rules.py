"""``audit rules list`` and ``audit rules explain ID``: what the catalogue checks, in words."""

from __future__ import annotations

import json
from typing import Any

import click

from auditor.cli.options import rules_option
from auditor.cli.output import format_option
from auditor.config import did_you_mean
from auditor.errors import EXIT_INPUT, EXIT_OK, UsageError
from auditor.rules import load_rules
from auditor.rules.explain import entry_dict, explain_text, list_row
from auditor.rules.spec import RuleErrors


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
@format_option(("text", "json"))
def list_rules(rule_paths: tuple[str, ...], output_format: str) -> int:
    """One line per rule: id, severity, scope, title, tags (the store's history checks too)."""

    def run() -> int:
        entries = _load(rule_paths).entries
        if output_format == "json":
            rows = [entry_dict(entry) for entry in entries]
            click.echo(json.dumps({"schema": 1, "rules": rows}, ensure_ascii=False, indent=1))
            return EXIT_OK
        width = max(len(entry.id) for entry in entries)
        click.echo(f"{'id':<{width}}  {'severity':<7}  {'scope':<7}  title  [tags]")
        for entry in entries:
            click.echo(list_row(entry, width))
        return EXIT_OK

    return _guard(run)


@command.command("explain")
@click.argument("rule_id", metavar="ID")
@rules_option
def explain(rule_id: str, rule_paths: tuple[str, ...]) -> int:
    """What one rule checks, its parameters and an example."""

    def run() -> int:
        ruleset = _load(rule_paths)
        ids = [entry.id for entry in ruleset.entries]
        if rule_id not in ids:
            hint = did_you_mean(rule_id, ids)
            raise UsageError(f"no rule with id {rule_id!r}{hint} (audit rules list shows them)")
        text = explain_text(ruleset.get(rule_id))
        click.echo(text, nl=not text.endswith("\n"))
        return EXIT_OK

    return _guard(run)
