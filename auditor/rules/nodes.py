"""Reading a rule file as composed YAML nodes, so that every error names its line.

``yaml.safe_load`` forgets where a value was written; composing the document first keeps each
node's ``start_mark``. Before anything is constructed the document is refused when its aliases
form a cycle or expand into a "billion laughs" bomb, or when a node carries a tag the safe
loader cannot build (``!!python/object/apply:os.system``): nothing in a rule file is ever run.
:class:`Checker` walks the nodes and collects every error (``file:line: path: message``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import yaml

from auditor.errors import RuleError

#: Nodes YAML aliases may add to a rule file once expanded (the shipped catalogue uses none); a
#: file without aliases is bounded by its size alone, however long its lists.
MAX_EXPANDED_NODES = 100_000


class RuleErrors(RuleError):
    """Every error found in the rule files; ``errors`` holds one :class:`RuleError` each."""

    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more rule-file errors)" if len(errors) > 1 else ""
        super().__init__(first.message + more, path=first.path, line=first.line)


#: True while the shipped catalogue (package data) loads. It is trusted and tested: its YAML is
#: composed by libyaml (a fifth of the pure-Python parser's time, which was most of a one-file
#: check's rule loading) and its patterns are compiled in RE2 by the test suite
#: (``tests/test_rule_patterns.py``), not at every start (importing pyarrow for that was 0.14 s
#: of every ``audit rules list``). Files given with ``--rules`` always take the pure-Python
#: parser, whose errors and limits the hostile rule files are tested against, and RE2.
_SHIPPED: ContextVar[bool] = ContextVar("loading_shipped", default=False)


@contextmanager
def shipped_catalogue() -> Iterator[None]:
    """Load the shipped catalogue (see :data:`_SHIPPED`)."""
    token = _SHIPPED.set(True)
    try:
        yield
    finally:
        _SHIPPED.reset(token)


def loading_shipped() -> bool:
    return _SHIPPED.get()


class Checker:
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

    def text_list(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, "expected a list")
            return ()
        out = []
        for i, item in enumerate(node.value):
            value = self.text(item, f"{path}[{i}]")
            if value is not None:
                out.append(value)
        return tuple(out)


def compose(text: str, file: str) -> tuple[yaml.Node, Checker]:
    """The document's root node and a checker for it; :class:`RuleErrors` for text that is not
    safe YAML (a syntax error, a cycle, an alias bomb, an unsupported tag) or empty."""
    try:
        loader = _loader_class()(text)  # reads the text at once: refuses control characters here
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
    return root, Checker(file, loader)


def _loader_class() -> type[yaml.SafeLoader]:
    """libyaml's safe loader for the shipped catalogue when PyYAML was built with it."""
    fast = getattr(yaml, "CSafeLoader", None)
    return fast if fast is not None and loading_shipped() else yaml.SafeLoader  # type: ignore[no-any-return]


def _alias_problem(root: yaml.Node) -> tuple[yaml.Node, str] | None:
    """A YAML alias that refers to a node containing itself (a cycle), or aliases that add more
    than :data:`MAX_EXPANDED_NODES` nodes once expanded (a "billion laughs" bomb): either would
    make the checker loop or run for ever, so the file is refused first. Iterative, with the
    expanded size of each shared node counted once; nodes as written do not count (a long
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
