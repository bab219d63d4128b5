"""Rule parameters: ``--param unknown-status-stale.years=3`` (one rule) or ``--param years=3``.

Parameters belong to rules. A qualified name ``RULE.NAME`` sets one rule's parameter; a bare
``NAME`` sets it in every selected rule that declares it — but only when those rules agree on
its default, since ``years`` means two years in one rule and one in another: a bare name they
do not agree on is refused, listing the rules and their defaults, so a user never moves a
threshold they did not look at. A qualified name wins over a bare one. A value takes the type
of the default (``3`` is the whole number 3 where the default is ``2``; ``1y`` is a period where
the default is ``30d``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.errors import UsageError

if TYPE_CHECKING:
    from auditor.rules.spec import RuleSpec

Overrides = Mapping[str, str | int | float] | None
_KINDS: dict[type, str] = {int: "a whole number", float: "a number"}


def parse_param_items(items: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` / ``RULE.NAME=VALUE`` options into a dict (the last one given wins)."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--param {item!r}: expected NAME=VALUE, e.g. unknown-status-stale.years=3")
        params[name.strip()] = value.strip()
    return params


def split_name(name: str) -> tuple[str | None, str]:
    """``("unknown-status-stale", "years")`` for a qualified name, ``(None, "years")`` for a bare
    one (rule ids are kebab-case and parameter names snake_case: neither holds a dot)."""
    rule_id, dot, param = name.partition(".")
    return (rule_id, param) if dot else (None, name)


def check_overrides(rules: Iterable[RuleSpec], overrides: Mapping[str, Any]) -> None:
    """Refuse an override no selected rule takes, and a bare name the rules that take it give
    different defaults (a usage error naming them)."""
    rules = list(rules)
    by_id = {rule.id: rule for rule in rules}
    for name in overrides:
        rule_id, param = split_name(name)
        if rule_id is not None:
            rule = by_id.get(rule_id)
            if rule is None:
                raise UsageError(f"--param {name}: no selected rule {rule_id!r}")
            if param not in rule.params:
                takes = ", ".join(rule.params) or "no parameters"
                raise UsageError(
                    f"--param {name}: rule {rule_id} has no parameter {param!r} (it takes {takes})"
                )
            continue
        takers = [rule for rule in rules if param in rule.params]
        if not takers:
            raise UsageError(f"--param {name}: no selected rule has such a parameter")
        defaults = {repr(rule.params[param]) for rule in takers}
        if len(defaults) > 1:
            listed = ", ".join(f"{rule.id} ({param}={rule.params[param]})" for rule in takers)
            raise UsageError(
                f"--param {name}: rules give {param!r} different defaults ({listed}); "
                f"name the rule, e.g. --param {takers[0].id}.{param}=VALUE"
            )


def effective_params(spec: RuleSpec, overrides: Overrides) -> dict[str, Any]:
    """The rule's defaults with the overrides that name one of its parameters (bare names
    first, then the qualified ones, which win), typed like the default."""
    out = dict(spec.params)
    ordered = sorted((overrides or {}).items(), key=lambda item: split_name(item[0])[0] is not None)
    for name, value in ordered:
        rule_id, param = split_name(name)
        if param not in out or rule_id not in (None, spec.id):
            continue
        out[param] = _typed(spec, param, value, spec.params[param])
    return out


def _typed(spec: RuleSpec, name: str, value: Any, default: Any) -> Any:
    try:
        if isinstance(default, int) and not isinstance(default, bool):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except ValueError:
        kind = _KINDS.get(type(default), "text")
        raise UsageError(
            f"--param {name}={value}: rule {spec.id} expects {kind} (default {default!r})"
        ) from None
