"""Rule files (YAML) → validated rule specs, every error with its file, line and path.

A rule file is ``yaml.safe_load``-able YAML (we use PyYAML's safe loader to *compose* the
document first, so every node keeps its ``start_mark`` and an error names the line):

.. code-block:: yaml

    rules:
      - id: unknown-status-stale          # kebab-case, unique across all files
        title: Status UNKNOWN and not verified for years
        severity: warning                  # error | warning | info
        scope: record                      # record (default) | pair (two consecutive snapshots)
        rationale: One line saying why this matters.
        source: https://clinicaltrials.gov/...   # where the rule comes from
        tags: [status, staleness]          # optional, for --select
        params: {years: 2}                 # named parameters with defaults; "$years" uses one
        when:                              # the condition that means "this record has the problem"
          all:
            - eq: {field: overall_status, value: UNKNOWN}
            - older_than: {field: status_verified_date, years: $years}
        message: "status {overall_status}, verified {status_verified_date}"   # optional
        fields: [overall_status, status_verified_date]                         # optional
        example: a short text shown by `audit rules explain`                  # optional

The vocabulary of ``when`` is :data:`auditor.rules.operators.OPERATORS`; nothing is evaluated.
The whole file is checked before any rule runs: unknown keys, wrong types, unknown fields,
operators or parameters, bad regular expressions, values that are not dates or not known
enum values are all errors of the form ``rules/status.yaml:14: rules[3].when.older_than.years:
expected a whole number``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import RuleError
from auditor.fields import registry
from auditor.findings import Severity
from auditor.inputs import read_file
from auditor.rules.operators import (
    BOOL,
    CONDITION,
    CONDITIONS,
    DIRECTION,
    FIELD,
    INT,
    OPERATORS,
    ORDER,
    OTHER,
    PATTERN,
    PERIOD_OPERATORS,
    VALUE,
    VALUES,
    coerce,
)
from auditor.rules.patterns import PatternError, check_pattern
from auditor.table import OLD_PREFIX, column_kind
from auditor.values import parse_date

RULE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PARAM_NAME = re.compile(r"[a-z][a-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
SCOPES = ("record", "pair")
RULE_KEYS = {
    "id": True,
    "title": True,
    "severity": True,
    "scope": False,
    "rationale": True,
    "source": True,
    "tags": False,
    "params": False,
    "when": True,
    "message": False,
    "fields": False,
    "example": False,
}


@dataclass(frozen=True)
class ConditionSpec:
    """One operator applied to its arguments, as written; ``lines`` maps an argument to its line."""

    op: str
    args: dict[str, Any]
    line: int
    path: str
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule, not yet bound to parameters or ``as_of`` (see :mod:`.compile`)."""

    id: str
    title: str
    severity: Severity
    scope: str
    rationale: str
    source: str
    when: ConditionSpec
    file: str
    line: int
    params: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    message: str | None = None
    fields: tuple[str, ...] = ()
    example: str | None = None

    @property
    def location(self) -> str:
        """``file:line`` of the rule's ``id``: the ``rule_source`` of its findings."""
        return f"{self.file}:{self.line}"

    def referenced_fields(self) -> tuple[str, ...]:
        """The columns the condition reads, in order of first use (``old.`` kept)."""
        seen: dict[str, None] = {}
        _collect_fields(self.when, seen)
        return tuple(seen)


def _collect_fields(cond: ConditionSpec, seen: dict[str, None]) -> None:
    for name in ("field", "other"):
        if name in cond.args:
            seen.setdefault(cond.args[name], None)
            if OPERATORS[cond.op][1].pair_only and name == "field":
                seen.setdefault(OLD_PREFIX + cond.args[name], None)
    for child in cond.args.get("conditions", ()):
        _collect_fields(child, seen)
    if "condition" in cond.args:
        _collect_fields(cond.args["condition"], seen)


class RuleErrors(RuleError):
    """Every error found in the rule files; ``errors`` holds one :class:`RuleError` each."""

    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more rule-file errors)" if len(errors) > 1 else ""
        super().__init__(first.message + more, path=first.path, line=first.line)


class _Checker:
    """Walks one composed YAML document, collecting every error with its line."""

    def __init__(self, file: str, loader: yaml.SafeLoader):
        self.file = file
        self.loader = loader
        self.errors: list[RuleError] = []

    def error(self, node: yaml.Node, path: str, message: str) -> None:
        self.errors.append(RuleError(f"{path}: {message}", path=self.file, line=node.start_mark.line + 1))

    def scalar(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, "expected a mapping (key: value)")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, path, "keys must be text")
                continue
            if key in out:
                self.error(key_node, f"{path}.{key}", "given twice")
                continue
            out[key] = (key_node, value_node)
        return out

    def text(self, node: yaml.Node, path: str, *, allow_empty: bool = False) -> str | None:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            self.error(node, path, "expected non-empty text")
            return None
        return value


def load_rule_file(path: Path, name: str | None = None) -> list[RuleSpec]:
    """Parse and validate one rule file; raise :class:`RuleErrors` listing every problem.

    ``name`` is how errors and findings name the file (default: the path as given)."""
    name = str(path) if name is None else name
    try:
        text = read_file(path, what="rule file", limit=MAX_RULE_FILE_BYTES, error=RuleError).decode("utf-8")
    except RuleError as exc:
        raise RuleErrors([RuleError(exc.message, path=name)]) from None
    except UnicodeDecodeError as exc:
        raise RuleErrors([RuleError(f"cannot read rule file: {exc}", path=name)]) from None
    return parse_rule_text(text, name)


def parse_rule_text(text: str, file: str) -> list[RuleSpec]:
    """Validate rule-file text (``file`` names it in errors)."""
    try:
        loader = yaml.SafeLoader(text)  # reads the text at once: refuses control characters here
    except yaml.YAMLError as exc:
        reason = f"{getattr(exc, 'reason', exc)} (character {getattr(exc, 'position', '?')})"
        raise RuleErrors([RuleError(f"not valid YAML: {reason}", path=file)]) from exc
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleErrors([RuleError(f"not valid YAML: {problem}", path=file, line=line)]) from exc
    except RecursionError:
        raise RuleErrors([RuleError("not valid YAML: nested too deeply", path=file)]) from None
    finally:
        loader.dispose()
    checker = _Checker(file, loader)
    if root is None:
        raise RuleErrors([RuleError("empty rule file (expected 'rules:')", path=file, line=1)])
    alias_problem = _alias_problem(root)
    if alias_problem is not None:
        node, message = alias_problem
        raise RuleErrors([RuleError(message, path=file, line=node.start_mark.line + 1)])
    unsafe = _unsafe_tags(root)
    if unsafe:
        raise RuleErrors(
            [
                RuleError(f"unsupported YAML tag {node.tag!r}", path=file, line=node.start_mark.line + 1)
                for node in unsafe
            ]
        )
    top = checker.mapping(root, "(top)")
    specs: list[RuleSpec] = []
    if top is not None:
        for key, (key_node, _) in top.items():
            if key != "rules":
                checker.error(key_node, key, "unknown key (expected 'rules')")
        if "rules" not in top:
            checker.error(root, "(top)", "missing 'rules'")
        else:
            rules_node = top["rules"][1]
            if not isinstance(rules_node, yaml.SequenceNode):
                checker.error(rules_node, "rules", "expected a list of rules")
            else:
                for i, rule_node in enumerate(rules_node.value):
                    spec = _rule(checker, rule_node, f"rules[{i}]")
                    if spec is not None:
                        specs.append(spec)
    if checker.errors:
        raise RuleErrors(checker.errors)
    return specs


#: Nodes YAML aliases may add to a rule file once expanded (the shipped catalogue uses none); a
#: file without aliases is bounded by its size alone, however long its lists.
MAX_EXPANDED_NODES = 100_000
#: The largest rule file read (a 100,000-value ``isin`` list is about 1.5 MB).
MAX_RULE_FILE_BYTES = 16 * 1024 * 1024


def _alias_problem(root: yaml.Node) -> tuple[yaml.Node, str] | None:
    """A YAML alias that refers to a node containing itself (a cycle), or aliases that add more
    than :data:`MAX_EXPANDED_NODES` nodes once expanded (a "billion laughs" bomb): either would
    make the checker below loop or run for ever, so the file is refused first. Iterative, with
    the expanded size of each shared node counted once; nodes as written do not count (a long
    plain list is no bomb)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] - len(size) > MAX_EXPANDED_NODES:  # (len(size): the nodes written so far)
                return node, f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes; refused"
            continue
        if key in size:
            continue
        if key in on_path:
            return node, "YAML alias refers to a node that contains it (a cycle); refused"
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                return child, "YAML alias refers to a node that contains it (a cycle); refused"
            if id(child) not in size:
                stack.append((child, False))
    return None


def _unsafe_tags(root: yaml.Node) -> list[yaml.Node]:
    """Nodes whose tag the safe loader cannot build (``!!python/…`` and custom tags): refused
    before anything is constructed."""
    found: list[yaml.Node] = []
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag not in yaml.SafeLoader.yaml_constructors:
            found.append(node)
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return sorted(found, key=lambda n: n.start_mark.line)


def _rule(c: _Checker, node: yaml.Node, path: str) -> RuleSpec | None:
    items = c.mapping(node, path)
    if items is None:
        return None
    before = len(c.errors)
    for key, (key_node, _) in items.items():
        if key not in RULE_KEYS:
            c.error(key_node, f"{path}.{key}", f"unknown key (expected one of {', '.join(RULE_KEYS)})")
    for key, required in RULE_KEYS.items():
        if required and key not in items:
            c.error(node, path, f"missing '{key}'")
    if len(c.errors) > before:
        return None
    rule_id = c.text(items["id"][1], f"{path}.id")
    if rule_id is not None and not RULE_ID.fullmatch(rule_id):
        c.error(
            items["id"][1], f"{path}.id", f"{rule_id!r} is not a kebab-case id like 'unknown-status-stale'"
        )
    id_path = f"{path}({rule_id})" if rule_id else path
    title = c.text(items["title"][1], f"{id_path}.title")
    rationale = c.text(items["rationale"][1], f"{id_path}.rationale")
    source = c.text(items["source"][1], f"{id_path}.source")
    severity_text = c.text(items["severity"][1], f"{id_path}.severity")
    severity = None
    if severity_text is not None:
        try:
            severity = Severity(severity_text)
        except ValueError:
            c.error(
                items["severity"][1],
                f"{id_path}.severity",
                f"{severity_text!r} is not error, warning or info",
            )
    scope = "record"
    if "scope" in items:
        scope_text = c.text(items["scope"][1], f"{id_path}.scope")
        if scope_text is not None and scope_text not in SCOPES:
            c.error(items["scope"][1], f"{id_path}.scope", f"{scope_text!r} is not record or pair")
        scope = scope_text or scope
    params = _params(c, items["params"][1], f"{id_path}.params") if "params" in items else {}
    tags = _text_list(c, items["tags"][1], f"{id_path}.tags") if "tags" in items else ()
    when = _condition(c, items["when"][1], f"{id_path}.when", scope, params)
    fields: tuple[str, ...] = ()
    if "fields" in items:
        fields = _text_list(c, items["fields"][1], f"{id_path}.fields")
        for name in fields:
            _field_name(c, items["fields"][1], f"{id_path}.fields", name, scope)
    message = None
    if "message" in items:
        message = c.text(items["message"][1], f"{id_path}.message")
        if message is not None:
            for name in PLACEHOLDER.findall(message):
                if name not in params and name != "as_of" and _kind(name, scope) is None:
                    c.error(
                        items["message"][1], f"{id_path}.message", f"{{{name}}} is not a field or parameter"
                    )
    example = c.text(items["example"][1], f"{id_path}.example") if "example" in items else None
    if len(c.errors) > before or None in (rule_id, title, rationale, source, severity, when):
        return None
    assert rule_id and title and rationale and source and severity and when
    return RuleSpec(
        id=rule_id,
        title=title,
        severity=severity,
        scope=scope,
        rationale=rationale,
        source=source,
        when=when,
        file=c.file,
        line=items["id"][0].start_mark.line + 1,
        params=params,
        tags=tags,
        message=message,
        fields=fields,
        example=example,
    )


def _params(c: _Checker, node: yaml.Node, path: str) -> dict[str, Any]:
    items = c.mapping(node, path)
    out: dict[str, Any] = {}
    for name, (key_node, value_node) in (items or {}).items():
        if not PARAM_NAME.fullmatch(name):
            c.error(key_node, f"{path}.{name}", "parameter names are lower_snake_case")
            continue
        value = c.scalar(value_node) if isinstance(value_node, yaml.ScalarNode) else None
        if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
            c.error(value_node, f"{path}.{name}", "a default must be a number or text")
            continue
        out[name] = value
    return out


def _text_list(c: _Checker, node: yaml.Node, path: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        c.error(node, path, "expected a list")
        return ()
    out = []
    for i, item in enumerate(node.value):
        value = c.text(item, f"{path}[{i}]")
        if value is not None:
            out.append(value)
    return tuple(out)


def _kind(name: str, scope: str) -> str | None:
    if name.startswith(OLD_PREFIX) and scope != "pair":
        return None
    try:
        return column_kind(name)
    except KeyError:
        return None


def _field_name(c: _Checker, node: yaml.Node, path: str, name: Any, scope: str) -> str | None:
    if not isinstance(name, str):
        c.error(node, path, "expected a field name")
        return None
    kind = _kind(name, scope)
    if kind is None:
        if name.startswith(OLD_PREFIX) and scope != "pair":
            c.error(node, path, f"{name!r}: 'old.' fields exist only in scope: pair rules")
        else:
            c.error(node, path, f"unknown field {name!r} (see the keys in auditor/data/fields.yaml)")
        return None
    return kind


def _condition(
    c: _Checker, node: yaml.Node, path: str, scope: str, params: Mapping[str, Any]
) -> ConditionSpec | None:
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
    signature = OPERATORS[op][1]
    if signature.pair_only and scope != "pair":
        c.error(op_node, op_path, "compares two snapshots: only in scope: pair rules")
        return None
    arg_items: dict[str, tuple[yaml.Node, yaml.Node]]
    if signature.shorthand == "condition":
        arg_items = {"condition": (arg_node, arg_node)}
    elif isinstance(arg_node, yaml.MappingNode):
        mapped = c.mapping(arg_node, op_path)
        if mapped is None:
            return None
        arg_items = mapped
    elif signature.shorthand is not None:
        arg_items = {signature.shorthand: (arg_node, arg_node)}
    else:
        c.error(arg_node, op_path, f"expected a mapping of arguments ({', '.join(signature.required)})")
        return None
    allowed = {**signature.required, **signature.optional}
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
    if op in PERIOD_OPERATORS and not any(k in arg_items for k in ("years", "months", "days")):
        c.error(arg_node, op_path, "give a period: years, months and/or days")
    if len(c.errors) > before:
        return None
    args: dict[str, Any] = {}
    lines: dict[str, int] = {}
    shorthand = not isinstance(arg_node, yaml.MappingNode) or signature.shorthand == "condition"
    for name, (_, value_node) in arg_items.items():
        kind = allowed[name]
        arg_path = op_path if shorthand else f"{op_path}.{name}"
        lines[name] = value_node.start_mark.line + 1
        if kind == CONDITIONS:
            if not isinstance(value_node, yaml.SequenceNode) or not value_node.value:
                c.error(value_node, arg_path, "expected a non-empty list of conditions")
                continue
            children = [
                _condition(c, child, f"{arg_path}[{i}]", scope, params)
                for i, child in enumerate(value_node.value)
            ]
            args[name] = tuple(children)
        elif kind == CONDITION:
            args[name] = _condition(c, value_node, arg_path, scope, params)
        else:
            if not isinstance(value_node, yaml.ScalarNode | yaml.SequenceNode):
                c.error(value_node, arg_path, f"expected {kind}")
                continue
            args[name] = c.scalar(value_node)
    if len(c.errors) > before:
        return None
    cond = ConditionSpec(op, args, op_node.start_mark.line + 1, op_path, lines)
    try:
        resolve_args(cond, scope, dict(params), as_of=None)
    except ArgumentError as exc:
        bad = exc.argument
        line = lines.get(bad, cond.line) if bad else cond.line
        c.errors.append(
            RuleError(
                f"{op_path}{'.' + bad if bad and not shorthand else ''}: {exc.message}",
                path=c.file,
                line=line,
            )
        )
        return None
    return cond


class ArgumentError(Exception):
    """An argument that does not fit its operator; ``argument`` names it."""

    def __init__(self, argument: str | None, message: str):
        self.argument = argument
        self.message = message
        super().__init__(message)


def _param(value: Any, params: Mapping[str, Any], name: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        key = value[1:]
        if key not in params:
            raise ArgumentError(name, f"{value!r} names no parameter of this rule (declare it under params)")
        return params[key]
    return value


def resolve_args(cond: ConditionSpec, scope: str, params: dict[str, Any], as_of: Any) -> dict[str, Any]:
    """Arguments with parameters substituted and values typed as their field's column holds them.

    Combinator children are left as specs (the compiler binds them). Raises
    :class:`ArgumentError` naming the argument that does not fit.
    """
    signature = OPERATORS[cond.op][1]
    kinds = {**signature.required, **signature.optional}
    out: dict[str, Any] = {}
    field_kind: str | None = None
    for name in ("field", "other"):
        if name in cond.args:
            value = _param(cond.args[name], params, name)
            kind = _kind(value, scope) if isinstance(value, str) else None
            if kind is None:
                if isinstance(value, str) and value.startswith(OLD_PREFIX) and scope != "pair":
                    raise ArgumentError(name, f"{value!r}: 'old.' fields exist only in scope: pair rules")
                reg = registry().by_key
                hint = (
                    ""
                    if not isinstance(value, str)
                    else f" (see the keys in auditor/data/fields.yaml; {len(reg)} known)"
                )
                raise ArgumentError(name, f"unknown field {value!r}{hint}")
            if name == "field":
                field_kind = kind
                if signature.kinds is not None and kind not in signature.kinds:
                    allowed = " or ".join(sorted(signature.kinds))
                    raise ArgumentError(
                        name, f"{value!r} is a {kind} field; {cond.op} needs a {allowed} field"
                    )
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
        if kind in (CONDITION, CONDITIONS):
            out[name] = raw_value
            continue
        value = _param(raw_value, params, name)
        out[name] = _typed_arg(cond, name, kind, value, field_kind, params)
    if field_kind == "date" and "value" in out:
        parsed = parse_date(str(_param(cond.args["value"], params, "value")))
        out["value_latest"] = out["value"] if parsed is None else _timestamp(parsed.latest())
    if as_of is not None:
        out["as_of"] = as_of
    return out


def _timestamp(day: Any) -> Any:
    import pandas as pd

    return pd.Timestamp(day)


def _typed_arg(
    cond: ConditionSpec, name: str, kind: str, value: Any, field_kind: str | None, params: Any
) -> Any:
    if kind == INT:
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
    if kind == VALUE:
        return _value(cond, name, value, field_kind)
    if kind in (VALUES, ORDER):
        if not isinstance(value, list) or not value:
            raise ArgumentError(name, f"expected a non-empty list, got {value!r}")
        out: list[Any] = []
        for item in value:
            if kind == ORDER and isinstance(item, list):
                out.append(tuple(_value(cond, name, _param(v, params, name), field_kind) for v in item))
            else:
                out.append(_value(cond, name, _param(item, params, name), field_kind))
        return tuple(out)
    if kind in (FIELD, OTHER):
        return value
    raise ArgumentError(name, f"unsupported argument kind {kind}")  # pragma: no cover


def _value(cond: ConditionSpec, name: str, value: Any, field_kind: str | None) -> Any:
    if field_kind is None:
        return value
    try:
        typed = coerce(field_kind, value)
    except ValueError as exc:
        raise ArgumentError(name, str(exc)) from None
    if field_kind == "enum":
        key = str(cond.args.get("field", "")).removeprefix(OLD_PREFIX)
        spec = registry().by_key.get(key)
        if spec is not None and spec.enum and typed not in spec.enum:
            raise ArgumentError(
                name, f"{value!r} is not a known value of {key} ({', '.join(sorted(spec.enum))})"
            )
    return typed
