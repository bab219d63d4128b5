"""``audit rules list`` and ``audit rules explain ID``: what the catalogue checks, in words."""

from __future__ import annotations

import json
from typing import Any

import click

from auditor.errors import EXIT_INPUT, EXIT_OK
from auditor.rules.explain import entry_dict, explain_text, list_row


def _load(rule_paths: tuple[str, ...]) -> Any:
    from auditor.rules import load_rules

    return load_rules(list(rule_paths) if rule_paths else None)


def _rules_option(function: Any) -> Any:
    return click.option(
        "--rules", "rule_paths", multiple=True, type=click.Path(), help="Rule file or folder (repeatable)."
    )(function)


@click.group("rules")
def command() -> None:
    """List the rules and explain one."""


def _guard(run: Any) -> int:
    from auditor.rules.spec import RuleErrors

    try:
        result: int = run()
    except RuleErrors as exc:
        for error in exc.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        return EXIT_INPUT
    return result


@command.command("list")
@_rules_option
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def list_rules(rule_paths: tuple[str, ...], output_format: str) -> int:
    """One line per rule: id, severity, scope, title, tags (the store's history checks too)."""

    def run() -> int:
        entries = _load(rule_paths).entries
        if output_format == "json":
            rows = [entry_dict(entry) for entry in entries]
            click.echo(json.dumps({"schema": 1, "rules": rows}, ensure_ascii=False, indent=1))
            return EXIT_OK
        width = max(len(entry.id) for entry in entries)
        for entry in entries:
            click.echo(list_row(entry, width))
        return EXIT_OK

    return _guard(run)


@command.command("explain")
@click.argument("rule_id")
@_rules_option
def explain(rule_id: str, rule_paths: tuple[str, ...]) -> int:
    """What one rule checks, its parameters and an example."""

    def run() -> int:
        text = explain_text(_load(rule_paths).get(rule_id))
        click.echo(text, nl=not text.endswith("\n"))
        return EXIT_OK

    return _guard(run)
