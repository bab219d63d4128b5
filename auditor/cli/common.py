"""Option parsing shared by the commands that run rules (``check``, ``report``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from auditor.errors import UsageError
from auditor.rules.params import parse_param_items

if TYPE_CHECKING:
    from auditor.rules import RuleSet


def parse_as_of(text: str | None) -> date:
    """``--as-of YYYY-MM-DD``; today (this machine's local date) when not given — the one place
    "now" is read."""
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r}: expected a date like 2026-11-25") from None


def parse_params(items: Sequence[str], rules: RuleSet | None = None) -> dict[str, str]:
    """``--param NAME=VALUE`` / ``--param RULE.NAME=VALUE`` options into a dict; with the
    selected ``rules``, a name none of them takes, or a bare name they give different defaults,
    is a usage error (:mod:`auditor.rules.params`) rather than silently applied or ignored."""
    params = parse_param_items(items)
    if rules is not None:
        rules.check_params(params)
    return params
