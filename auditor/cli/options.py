"""What the commands share: click options, their parsing, and loading the rules.

One definition of each option that several commands take (``--rules``, ``--as-of``,
``--param``, ``--fail-on``, ``--jobs``, ``--engine``/``--scheduler``), so they read and behave
the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import click

from auditor.errors import UsageError
from auditor.rules import RuleSet, load_rules
from auditor.rules.spec import RuleErrors
from auditor.run.empty import NoRecordsError
from auditor.run.executor import ENGINES

SEVERITIES = ("error", "warning", "info")


def parse_as_of(text: str | None) -> date:
    """``--as-of YYYY-MM-DD``; today (this machine's local date) when not given — the one place
    "now" is read."""
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r}: expected a date like 2026-11-25") from None


def parse_params(items: Sequence[str], known: Iterable[str] | None = None) -> dict[str, str]:
    """``--param years=3`` options into a dict; with ``known``, a name no selected rule takes
    is a usage error rather than silently ignored."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--param {item!r}: expected NAME=VALUE, e.g. years=3")
        params[name.strip()] = value.strip()
    if known is not None:
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise UsageError(f"--param {', '.join(unknown)}: no selected rule has such a parameter")
    return params


# --- shared click options --------------------------------------------------------------------

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def stack(*options: Decorator) -> Decorator:
    """Several click options as one decorator, in the order given (as ``--help`` lists them)."""

    def apply(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


rules_option = click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(),
    metavar="FILE|DIR",
    help="Rule file or folder (repeatable); default: the shipped catalogue.",
)
as_of_option = click.option(
    "--as-of",
    "as_of_text",
    metavar="DATE",
    help="Judge ages relative to this day (YYYY-MM-DD); default today.",
)
param_option = click.option(
    "--param",
    "param_items",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a rule parameter, e.g. years=3 (repeatable).",
)
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="error",
    show_default=True,
    help="Exit 1 when a finding has this severity or worse.",
)
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Parse inputs on N processes (default: one per CPU when there is more than a chunk of inputs).",
)
allow_empty_option = click.option(
    "--allow-empty",
    is_flag=True,
    help="Reading no study record at all is fine (by default it is an error, exit 2).",
)


@contextmanager
def naming_unread() -> Iterator[None]:
    """A refused empty run (:class:`NoRecordsError`) prints the inputs it could not read, one
    line each, before its own line (printed by ``main``)."""
    try:
        yield
    except NoRecordsError as error:
        for line in error.unread:
            click.echo(f"audit: error: {line}", err=True)
        raise


def engine_options(engine_help: str, scheduler_help: str) -> Decorator:
    """``--engine`` and ``--scheduler``; each command says in its help what runs where."""
    return stack(
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="pandas",
            show_default=True,
            help=engine_help,
        ),
        click.option("--scheduler", metavar="ADDRESS", help=scheduler_help),
    )


def load_rule_set(rule_paths: Sequence[str]) -> RuleSet | None:
    """The rules of ``--rules`` (default: the shipped catalogue); ``None`` after printing every
    error of a broken rule file, one line each (the caller exits 2: no rule is run)."""
    try:
        return load_rules(list(rule_paths) or None)
    except RuleErrors as exc:
        for error in exc.errors:
            click.echo(f"audit: error: {error.one_line()}", err=True)
        click.echo("audit: no rule was run", err=True)
        return None
