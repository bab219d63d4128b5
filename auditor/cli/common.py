"""Option parsing shared by the commands that run rules (``check``, ``report``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from auditor.errors import UsageError


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
