"""Conditions (a rule's ``when``): checked against the vocabulary, arguments typed.

A condition is one operator of :data:`~auditor.rules.operators.OPERATORS` with its arguments.
:func:`check_condition` validates one as written (the operator exists and may stand here, its
arguments are the ones its signature lists, fields exist and have a kind the operator takes,
values fit their field); :func:`resolve_args` substitutes parameters and types the arguments
the way the table holds them — the validator runs it once with ``as_of=None`` so that a bad
value is an error before any record is read, the compiler again with the real ``as_of``.

Where a condition stands decides the fields it may name (``scope``): ``record``; ``pair`` and
``history`` (``old.<key>`` names the older snapshot); ``item:<list>`` inside ``where:``, whose
fields are the sub-fields of that list's items (``time_frame``; ``value`` for a list of plain
values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.errors import RuleError
from auditor.fields import registry
from auditor.list_fields import list_registry
from auditor.rules.cells import coerce, parse_period
from auditor.rules.kinds import (
    BOOL,
    COMPARISONS,
    CONDITION,
    CONDITIONS,
    DIRECTION,
    FIELD,
    INT,
    ITEM_CONDITION,
    LIST,
    ORDER,
    OTHER,
    PATTERN,
    PERIOD,
    SUBFIELD,
    SUBFIELDS,
    THAN,
    VALUE,
    VALUES,
)
from auditor.rules.nodes import Checker
from auditor.rules.operators import ITEM, OPERATORS, PERIOD_OPERATORS
from auditor.rules.patterns import PatternError, check_pattern
from auditor.table import OLD_PREFIX, column_kind
from auditor.values import parse_date

ITEM_SCOPE = "item:"
_DATE_KINDS = ("date", "timestamp")


@dataclass(frozen=True)
class ConditionSpec:
    """One operator applied to its arguments, as written; ``lines`` maps an argument to its line."""

    op: str
    args: dict[str, Any]
    line: int
    path: str
    lines: dict[str, int] = field(default_factory=dict)


class ArgumentError(Exception):
    """An argument that does not fit its operator; ``argument`` names it."""

    def __init__(self, argument: str | None, message: str):
        self.argument = argument
        self.message = message
        super().__init__(message)


def scope_class(scope: str) -> str:
    """``record`` / ``pair`` / ``history`` / ``item`` (for ``item:<list>``)."""
    return ITEM if scope.startswith(ITEM_SCOPE) else scope


def item_scope(list_key: str) -> str:
    return ITEM_SCOPE + list_key.removeprefix(OLD_PREFIX)


def kind_of(name: str, scope: str) -> str | None:
    """The kind of a field a condition in ``scope`` names, ``None`` when it names none."""
    if scope.startswith(ITEM_SCOPE):
        spec = list_registry().get(scope.removeprefix(ITEM_SCOPE))
        return None if spec is None else spec.item_type(name)
    if name.startswith(OLD_PREFIX) and scope == "record":
        return None
    try:
        return column_kind(name)
    except KeyError:
        return None


# ---------------------------------------------------------------- which columns a condition reads


def referenced_fields(cond: ConditionSpec, seen: dict[str, None]) -> None:
    """Add the table columns ``cond`` reads to ``seen`` (in order of first use, ``old.`` kept).
    A list operator reads its list's count and only the sub-field columns it needs (those its
    ``where`` names, the identity of items it matches, ``in``): a list's other columns (long
    outcome descriptions) are never loaded for it."""
    signature = OPERATORS[cond.op].signature
    both = signature.compares_snapshots
    for name in ("field", "other"):
        value = cond.args.get(name)
        if isinstance(value, str):
            seen.setdefault(value, None)
            if both and name == "field":
                seen.setdefault(OLD_PREFIX + value.removeprefix(OLD_PREFIX), None)
    if isinstance(cond.args.get("list"), str):
        for column in list_columns(cond):
            seen.setdefault(column, None)
            if both:
                seen.setdefault(OLD_PREFIX + column.removeprefix(OLD_PREFIX), None)
    than = cond.args.get("than")
    if isinstance(than, str) and than != "as_of" and kind_of(than, "history") is not None:
        seen.setdefault(than, None)
    if cond.op == "repeatedly":
        seen.setdefault("nct_id", None)
    for child in cond.args.get("conditions", ()):
        referenced_fields(child, seen)
    if "condition" in cond.args:
        referenced_fields(cond.args["condition"], seen)


def list_columns(cond: ConditionSpec, names: tuple[str, ...] | None = None) -> list[str]:
    """The columns of the list ``cond`` names that it reads (``old.`` as written)."""
    key = str(cond.args["list"])
    spec = list_registry().get(key.removeprefix(OLD_PREFIX))
    if spec is None:
        return []
    prefix = OLD_PREFIX if key.startswith(OLD_PREFIX) else ""
    if names is None:
        if isinstance(cond.args.get("where"), ConditionSpec):
            names = item_fields(cond.args["where"]) or spec.item_names[:1]
        elif cond.op in ("items_added", "items_removed", "items_changed"):
            by = cond.args.get("by")
            names = (*(by if isinstance(by, list | tuple) else spec.identity or spec.item_names),)
            if isinstance(cond.args.get("in"), str):
                names = (*names, cond.args["in"])
        else:
            names = ()
    columns = [prefix + spec.count_column]
    columns.extend(prefix + spec.item_column(name) for name in names if spec.item_type(name) is not None)
    return columns


def item_fields(cond: ConditionSpec) -> tuple[str, ...]:
    """The sub-fields an item condition reads, in order of first use."""
    seen: dict[str, None] = {}
    stack = [cond]
    while stack:
        current = stack.pop(0)
        for name in ("field", "other"):
            if isinstance(current.args.get(name), str):
                seen.setdefault(current.args[name], None)
        stack.extend(current.args.get("conditions", ()))
        if "condition" in current.args:
            stack.append(current.args["condition"])
    return tuple(seen)


# ---------------------------------------------------------------- validation of a condition as written


def check_condition(
    c: Checker, node: yaml.Node, path: str, scope: str, params: Mapping[str, Any]
) -> ConditionSpec | None:
    """Validate one condition node (recursively); errors go to ``c``, ``None`` when any."""
    items = c.mapping(node, path)
    if items is None:
        return None
    if len(items) != 1:
        c.error(
            node,
            path,
            f"a condition is one operator (one of {', '.join(OPERATORS)}), found {len(items)} keys",
        )
        return None
    ((op, (op_node, arg_node)),) = items.items()
    op_path = f"{path}.{op}"
    if op not in OPERATORS:
        c.error(op_node, op_path, f"unknown operator (one of {', '.join(OPERATORS)})")
        return None
    signature = OPERATORS[op].signature
    where = scope_class(scope)
    if where not in signature.scopes:
        c.error(op_node, op_path, _misplaced(where, signature.scopes))
        return None
    arg_items = _argument_nodes(c, op, arg_node, op_path)
    if arg_items is None:
        return None
    allowed = signature.arguments
    before = len(c.errors)
    for name, (key_node, _) in arg_items.items():
        if name not in allowed:
            c.error(key_node, f"{op_path}.{name}", f"unknown argument (expected {', '.join(allowed)})")
    for name in signature.required:
        if name not in arg_items:
            c.error(arg_node, op_path, f"missing argument '{name}'")
    for group in signature.one_of:
        given = [name for name in group if name in arg_items]
        if len(given) != 1:
            c.error(arg_node, op_path, f"give exactly one of {', '.join(group)}")
    for name, needed in signature.needs.items():
        for other in needed:
            if name in arg_items and other not in arg_items:
                c.error(arg_node, op_path, f"'{name}' needs '{other}'")
    if op in PERIOD_OPERATORS and not any(k in arg_items for k in ("years", "months", "days")):
        c.error(arg_node, op_path, "give a period: years, months and/or days")
    if "list" in arg_items and where == ITEM:
        c.error(arg_node, op_path, "a list inside a list item is not supported")
    if len(c.errors) > before:
        return None
    shorthand = not isinstance(arg_node, yaml.MappingNode) or signature.shorthand == "condition"
    args, lines = _arguments(c, arg_items, allowed, op_path, shorthand, scope, params)
    if len(c.errors) > before:
        return None
    cond = ConditionSpec(op, args, op_node.start_mark.line + 1, op_path, lines)
    try:
        resolve_args(cond, scope, dict(params), as_of=None)
    except ArgumentError as exc:
        bad = exc.argument
        line = lines.get(bad, cond.line) if bad else cond.line
        suffix = "." + bad if bad and not shorthand else ""
        c.errors.append(RuleError(f"{op_path}{suffix}: {exc.message}", path=c.file, line=line))
        return None
    return cond


def _misplaced(where: str, scopes: frozenset[str]) -> str:
    if where == ITEM:
        return "cannot stand inside where: (a condition on one list item)"
    if "record" not in scopes and "history" in scopes and "pair" not in scopes:
        return "reads a record's whole history: only in scope: history rules"
    return "compares two snapshots: only in scope: pair (or history) rules"


def _argument_nodes(
    c: Checker, op: str, arg_node: yaml.Node, op_path: str
) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
    signature = OPERATORS[op].signature
    if signature.shorthand == "condition":
        return {"condition": (arg_node, arg_node)}
    if isinstance(arg_node, yaml.MappingNode):
        return c.mapping(arg_node, op_path)
    if signature.shorthand is not None:
        return {signature.shorthand: (arg_node, arg_node)}
    c.error(arg_node, op_path, f"expected a mapping of arguments ({', '.join(signature.required)})")
    return None


def _arguments(
    c: Checker,
    arg_items: dict[str, tuple[yaml.Node, yaml.Node]],
    allowed: dict[str, str],
    op_path: str,
    shorthand: bool,
    scope: str,
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, int]]:
    args: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for name, (_, value_node) in arg_items.items():
        kind = allowed[name]
        arg_path = op_path if shorthand else f"{op_path}.{name}"
        lines[name] = value_node.start_mark.line + 1
        if kind == CONDITIONS:
            if not isinstance(value_node, yaml.SequenceNode) or not value_node.value:
                c.error(value_node, arg_path, "expected a non-empty list of conditions")
                continue
            args[name] = tuple(
                check_condition(c, child, f"{arg_path}[{i}]", scope, params)
                for i, child in enumerate(value_node.value)
            )
        elif kind == CONDITION:
            args[name] = check_condition(c, value_node, arg_path, scope, params)
        elif kind == ITEM_CONDITION:
            list_node = arg_items.get("list", (None, None))[1]
            list_key = c.scalar(list_node) if isinstance(list_node, yaml.ScalarNode) else None
            if not isinstance(list_key, str) or list_key.removeprefix(OLD_PREFIX) not in list_registry():
                continue  # the list argument's own error says what is wrong
            args[name] = check_condition(c, value_node, arg_path, item_scope(list_key), params)
        elif not isinstance(value_node, yaml.ScalarNode | yaml.SequenceNode):
            c.error(value_node, arg_path, f"expected {kind}")
        else:
            args[name] = c.scalar(value_node)
    return args, lines


# ---------------------------------------------------------------- typing the arguments


def _param(value: Any, params: Mapping[str, Any], name: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        key = value[1:]
        if key not in params:
            raise ArgumentError(name, f"{value!r} names no parameter of this rule (declare it under params)")
        return params[key]
    return value


def resolve_args(cond: ConditionSpec, scope: str, params: dict[str, Any], as_of: Any) -> dict[str, Any]:
    """Arguments with parameters substituted and values typed as their field's column holds them.

    Child conditions are left as specs (the compiler binds them). Raises :class:`ArgumentError`
    naming the argument that does not fit.
    """
    signature = OPERATORS[cond.op].signature
    kinds = signature.arguments
    out: dict[str, Any] = {}
    field_kind: str | None = None
    for name in ("field", "other"):
        if name not in cond.args:
            continue
        value = _param(cond.args[name], params, name)
        kind = kind_of(value, scope) if isinstance(value, str) else None
        if kind is None:
            raise ArgumentError(name, _unknown_field(value, scope))
        if name == "field":
            field_kind = kind
            if signature.kinds is not None and kind not in signature.kinds:
                allowed = " or ".join(sorted(signature.kinds))
                raise ArgumentError(name, f"{value!r} is a {kind} field; {cond.op} needs a {allowed} field")
            if kind == "list":
                raise ArgumentError(name, f"{value!r} is a list: name it with list: (count, any, all)")
        elif field_kind is not None and kind != field_kind:
            raise ArgumentError(
                name, f"{value!r} is a {kind} field, {cond.args['field']!r} a {field_kind} field"
            )
        out[name] = value
    if field_kind is not None:
        out["kind"] = field_kind
    for name, raw_value in cond.args.items():
        if name in ("field", "other"):
            continue
        kind = kinds[name]
        if kind in (CONDITION, CONDITIONS, ITEM_CONDITION):
            out[name] = raw_value
            continue
        value = _param(raw_value, params, name)
        out[name] = _typed_arg(cond, name, kind, value, field_kind, params, scope)
    if field_kind == "date" and "value" in out:
        parsed = parse_date(str(_param(cond.args["value"], params, "value")))
        out["value_latest"] = out["value"] if parsed is None else coerce("date", parsed.latest())
    if as_of is not None:
        out["as_of"] = as_of
    return out


def _unknown_field(value: Any, scope: str) -> str:
    if scope.startswith(ITEM_SCOPE):
        spec = list_registry()[scope.removeprefix(ITEM_SCOPE)]
        return f"{value!r} is not a sub-field of {spec.key} items ({', '.join(spec.item_names)})"
    if isinstance(value, str) and value.startswith(OLD_PREFIX) and scope == "record":
        return f"{value!r}: 'old.' fields exist only in scope: pair (or history) rules"
    hint = (
        ""
        if not isinstance(value, str)
        else f" (see the keys in auditor/data/fields.yaml; {len(registry().by_key)} known)"
    )
    return f"unknown field {value!r}{hint}"


def _typed_arg(
    cond: ConditionSpec, name: str, kind: str, value: Any, field_kind: str | None, params: Any, scope: str
) -> Any:
    if kind == INT or name in COMPARISONS:
        if isinstance(value, str) and re.fullmatch(r"\d+", value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ArgumentError(name, f"expected a whole number >= 0, got {value!r}")
        return value
    if kind == BOOL:
        if not isinstance(value, bool):
            raise ArgumentError(name, f"expected true or false, got {value!r}")
        return value
    if kind == DIRECTION:
        if value not in ("later", "earlier", "either"):
            raise ArgumentError(name, f"expected later, earlier or either, got {value!r}")
        return value
    if kind == PATTERN:
        if not isinstance(value, str):
            raise ArgumentError(name, f"expected a regular expression, got {value!r}")
        try:
            return check_pattern(value)
        except PatternError as exc:
            raise ArgumentError(name, f"bad regular expression {value[:60]!r}: {exc}") from None
    if kind == PERIOD:
        try:
            return parse_period(value)
        except ValueError as exc:
            raise ArgumentError(name, str(exc)) from None
    if kind == THAN:
        return _than(value, scope)
    if kind == LIST:
        return _list(value, scope)
    if kind in (SUBFIELD, SUBFIELDS):
        return _subfields(cond, name, kind, value, params)
    if kind == VALUE:
        return _value(cond, name, value, field_kind, scope)
    if kind in (VALUES, ORDER):
        if not isinstance(value, list) or not value:
            raise ArgumentError(name, f"expected a non-empty list, got {value!r}")
        out: list[Any] = []
        for item in value:
            if kind == ORDER and isinstance(item, list):
                out.append(
                    tuple(_value(cond, name, _param(v, params, name), field_kind, scope) for v in item)
                )
            else:
                out.append(_value(cond, name, _param(item, params, name), field_kind, scope))
        return tuple(out)
    if kind in (FIELD, OTHER):
        return value
    raise ArgumentError(name, f"unsupported argument kind {kind}")  # pragma: no cover


def _than(value: Any, scope: str) -> tuple[Any, ...]:
    """``("as_of",)``, ``("field", name)`` or ``("date", earliest, latest)``."""
    if value == "as_of":
        return ("as_of",)
    if isinstance(value, str):
        kind = kind_of(value, scope)
        if kind in _DATE_KINDS:
            return ("field", value)
        if kind is not None:
            raise ArgumentError(
                "than", f"{value!r} is a {kind} field; than needs a date field, as_of or a date"
            )
    parsed = parse_date(str(value))
    if parsed is None:
        raise ArgumentError("than", f"expected a date field, as_of or a date like 2017-01-18, got {value!r}")
    return ("date", coerce("date", parsed.earliest()), coerce("date", parsed.latest()))


def _list(value: Any, scope: str) -> str:
    if not isinstance(value, str) or value.removeprefix(OLD_PREFIX) not in list_registry():
        known = ", ".join(list_registry())
        raise ArgumentError("list", f"unknown list {value!r} (one of {known}; auditor/data/list_fields.yaml)")
    if value.startswith(OLD_PREFIX) and scope == "record":
        raise ArgumentError("list", f"{value!r}: 'old.' lists exist only in scope: pair (or history) rules")
    return value


def _subfields(cond: ConditionSpec, name: str, kind: str, value: Any, params: Any) -> Any:
    spec = list_registry().get(str(_param(cond.args.get("list"), params, "list")).removeprefix(OLD_PREFIX))
    names = value if kind == SUBFIELDS else [value]
    if not isinstance(names, list) or not names or spec is None:
        raise ArgumentError(name, f"expected {kind}, got {value!r}")
    for item in names:
        if spec.item_type(item) is None:
            raise ArgumentError(
                name, f"{item!r} is not a sub-field of {spec.key} items ({', '.join(spec.item_names)})"
            )
    return tuple(names) if kind == SUBFIELDS else value


def _value(cond: ConditionSpec, name: str, value: Any, field_kind: str | None, scope: str) -> Any:
    if field_kind is None:
        return value
    try:
        typed = coerce(field_kind, value)
    except ValueError as exc:
        raise ArgumentError(name, str(exc)) from None
    if field_kind == "enum" and not scope.startswith(ITEM_SCOPE):
        key = str(cond.args.get("field", "")).removeprefix(OLD_PREFIX)
        spec = registry().by_key.get(key)
        if spec is not None and spec.enum and typed not in spec.enum:
            raise ArgumentError(
                name, f"{value!r} is not a known value of {key} ({', '.join(sorted(spec.enum))})"
            )
    return typed
