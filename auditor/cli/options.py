"""What the commands share: click options, their parsing, and loading the rules.

One definition of each option that several commands take (``--rules``, ``--as-of``,
``--param``, ``--fail-on``, ``--jobs``, ``--engine``/``--scheduler``), so they read and behave
the same everywhere.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import click

from auditor.cli.output import Decorator
from auditor.cli.settings import invocation
from auditor.config import did_you_mean
from auditor.errors import MissingExtraError, UsageError
from auditor.findings import Finding, Severity
from auditor.reports.run_info import RuleInfo
from auditor.rules import RuleSet, load_rules
from auditor.rules.params import parse_param_items, split_name
from auditor.rules.spec import RuleErrors
from auditor.run.empty import NoRecordsError
from auditor.run.executor import ENGINES

SEVERITIES = ("error", "warning", "info")
#: ``--fail-on`` choices: a severity, or ``none`` for report-only runs.
FAIL_ON = (*SEVERITIES, "none")


def parse_as_of(text: str | None) -> date:
    """``--as-of YYYY-MM-DD``; today (this machine's local date) when not given — the one place
    "now" is read."""
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r}: expected a date like 2026-11-25") from None


def parse_params(
    items: Sequence[str], rules: RuleSet | None = None, not_run: Iterable[str] = ()
) -> dict[str, str]:
    """``--param NAME=VALUE`` / ``--param RULE.NAME=VALUE`` options into a dict; with the
    ``rules`` that will run, a name none of them takes, or a bare name they give different
    defaults, is a usage error (:mod:`auditor.rules.params`) rather than silently applied or
    ignored. A qualified name of a selected rule that cannot run here (``not_run``: a pair rule
    without ``--history``) is accepted: the same command line serves with and without it."""
    params = parse_param_items(items)
    if rules is not None:
        skipped = set(not_run)
        rules.check_params({k: v for k, v in params.items() if split_name(k)[0] not in skipped})
    return params


# --- shared click options --------------------------------------------------------------------


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
    metavar="[RULE.]NAME=VALUE",
    help="Override a rule parameter, e.g. unknown-status-stale.years=3 (repeatable; a bare NAME sets "
    "it in every selected rule that has it, if they agree on its default).",
)
ignore_rules_option = click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="ID|TAG",
    help="Leave out these rule ids or tags (repeatable).",
)
fail_on_option = stack(
    click.option(
        "--fail-on",
        type=click.Choice(FAIL_ON),
        default="error",
        show_default=True,
        help="Exit 1 when a finding has this severity or worse; none: report only.",
    ),
    click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (same as --fail-on none)."),
)
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    metavar="N",
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


def threshold(fail_on: str, exit_zero: bool) -> Severity | None:
    """The lowest severity that fails the run; ``None`` for ``--fail-on none``/``--exit-zero``."""
    return None if exit_zero or fail_on == "none" else Severity(fail_on)


def any_failing(findings: Iterable[Finding], fail_on: Severity | None) -> bool:
    return fail_on is not None and any(f.severity.rank >= fail_on.rank for f in findings)


def require_engine(engine: str) -> None:
    """``--engine dask`` without the ``dask`` extra: one line naming it, before any input is read."""
    if engine == "dask" and not all(importlib.util.find_spec(m) for m in ("dask", "distributed")):
        raise MissingExtraError("--engine dask", "dask")


def check_rule_names(ruleset: RuleSet, names: Iterable[str], option: str) -> None:
    """Every id or tag of ``names`` exists, else a usage error with the closest known name."""
    known = {e.id for e in ruleset.entries} | {tag for e in ruleset.entries for tag in e.tags}
    for name in names:
        if name not in known:
            raise UsageError(f"{option}: no rule or tag named {name!r}{did_you_mean(name, known)}")


def with_config_params(param_items: Sequence[str], rules: RuleSet) -> tuple[str, ...]:
    """The configuration's ``params`` that the selected ``rules`` take, then ``--param``'s items
    (which win by name). A file's parameter for a rule not selected is not an error: the file
    serves every run, the command line only this one."""
    takes = {(rule.id, name) for rule in rules for name in rule.params}
    names = {name for _, name in takes}
    kept = []
    for item in invocation().config.param_items():
        key = item.partition("=")[0]
        rule_id, dot, name = key.rpartition(".")
        if (dot and (rule_id, name) in takes) or (not dot and key in names):
            kept.append(item)
    return (*kept, *param_items)


def rule_infos(ruleset: RuleSet) -> tuple[RuleInfo, ...]:
    """The rules as reports describe them."""
    return tuple(
        RuleInfo(
            id=e.id,
            title=e.title,
            severity=Severity(str(e.severity)),
            scope=e.scope,
            rationale=e.rationale,
            source=e.source,
            defined_at=e.location,
            tags=tuple(e.tags),
        )
        for e in ruleset.entries
    )


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
