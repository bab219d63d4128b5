"""The house rules of ``../shared/LAYOUT.md``, enforced on the import graph (as sqlfluff's import
contracts are): data flows down the layers, nothing outside ``cli/`` imports ``cli``, reporters
import no pipeline module, no import cycle (function-level imports included), no private name
imported across modules, imports at the top of the module except heavy libraries, and no
module over ~600 lines.

The graph is read from the source with :mod:`ast` (nothing is imported), so a rule broken in a
rarely-run function is found as surely as one at the top of a module.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "auditor"

#: Layers, lowest first. A module may import its own layer and the layers below it, never one
#: above: cli → run → reports → judgement → models → inputs/readers → foundation.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "auditor.data",
            "auditor.version",
            "auditor.text",
            "auditor.config",
            "auditor.errors",
            "auditor.slots",
            "auditor.values",
            "auditor.records",
            "auditor.fields",
            "auditor.list_fields",
            "auditor.findings",
            "auditor.atomic",
            "auditor.progress",
        ),
    ),
    ("inputs and readers", ("auditor.inputs", "auditor.readers", "auditor.ignite_writer")),
    (
        "models",
        (
            "auditor.table",
            "auditor.rules",
            "auditor.diff",
            "auditor.staleness",
            "auditor.store",
            "auditor.baseline",
            "auditor.waivers",
        ),
    ),
    (
        "judgement",
        ("auditor.check", "auditor.history", "auditor.history_checks", "auditor.fetch", "auditor.nightly"),
    ),
    ("reports", ("auditor.reports",)),
    ("pipeline", ("auditor.run",)),
    ("command line", ("auditor.cli",)),
)
#: What a reporter must not import: it renders what it is given (datacompy's render apart from
#: emit), it does not read inputs, run rules or orchestrate.
PIPELINE = (
    "auditor.run",
    "auditor.inputs",
    "auditor.readers",
    "auditor.store",
    "auditor.check",
    "auditor.fetch",
)
#: Imported inside the functions that use them, so that ``audit --help`` and light commands
#: start fast: the measured way (``bench/startup.py``), and the only function-level imports.
HEAVY = frozenset(
    {"pandas", "numpy", "pandera", "pyarrow", "dask", "distributed", "deepdiff", "matplotlib", "httpx"}
)
#: Modules that need an optional extra, imported in the command that uses them so that a missing
#: extra is one line naming it (``pip install 'auditor[fetch]'``), not an import error.
OPTIONAL_EXTRA = frozenset({"auditor.fetch.client", "auditor.fetch.run"})
#: The package's public API (``auditor.read_one``, ``auditor.diff`` …) is resolved lazily
#: (PEP 562 ``__getattr__``): every ``audit`` command imports ``auditor`` first.
LAZY_FACADE = "auditor"
LINE_LIMIT = 600

#: Known departures, each owned by work in flight; the list only shrinks.
PENDING_LINES: frozenset[str] = frozenset()
PENDING_INNER: frozenset[tuple[str, str]] = frozenset()
PENDING_PRIVATE: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    """One import statement's target as the importing module sees it."""

    source: str  # the importing module
    target: str  # the module imported (an ``auditor`` module, or a top-level library name)
    name: str | None  # the name taken from it (``from x import name``), if any
    inner: bool  # inside a function


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The auditor module that defines ``name`` (a module, or a name inside one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports() -> list[Import]:
    out: list[Import] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inside.update(id(sub) for sub in ast.walk(node) if sub is not node)
        for node in ast.walk(tree):
            inner = id(node) in inside
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = (
                        _owner(alias.name) if alias.name.startswith("auditor") else alias.name.split(".")[0]
                    )
                    out.append(Import(module, target or alias.name, None, inner))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not node.module.startswith("auditor"):
                    out.append(Import(module, node.module.split(".")[0], None, inner))
                    continue
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if full in MODULES else _owner(node.module)
                    out.append(
                        Import(module, target or node.module, None if full in MODULES else alias.name, inner)
                    )
    return out


IMPORTS = _imports()


def _layer(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: place it")


def _layer_name(module: str) -> str:
    return LAYERS[_layer(module)][0]


def _internal(imp: Import) -> bool:
    return imp.target.startswith("auditor") and imp.target != imp.source


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        if module != LAZY_FACADE:
            _layer(module)


def test_data_flows_down_the_layers() -> None:
    upward = [
        f"{imp.source} ({_layer_name(imp.source)}) imports {imp.target} ({_layer_name(imp.target)})"
        for imp in IMPORTS
        if _internal(imp) and imp.source != LAZY_FACADE and _layer(imp.target) > _layer(imp.source)
    ]
    assert not upward, "\n".join(upward)


def test_nothing_outside_cli_imports_cli_and_reporters_import_no_pipeline() -> None:
    wrong = [
        f"{imp.source} imports {imp.target}"
        for imp in IMPORTS
        if _internal(imp)
        and (
            (imp.target.startswith("auditor.cli") and not imp.source.startswith("auditor.cli"))
            or (
                imp.source.startswith("auditor.reports")
                and any(imp.target == p or imp.target.startswith(p + ".") for p in PIPELINE)
            )
        )
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_not_even_inside_functions() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        if _internal(imp):
            graph[imp.source].add(imp.target)
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_imported_across_modules() -> None:
    private = {
        (imp.source, f"{imp.target}.{imp.name}")
        for imp in IMPORTS
        if _internal(imp) and imp.name is not None and imp.name.startswith("_")
    }
    assert private <= PENDING_PRIVATE, sorted(private - PENDING_PRIVATE)


def test_imports_at_the_top_except_heavy_libraries() -> None:
    inner = {
        (imp.source, imp.target)
        for imp in IMPORTS
        if imp.inner
        and imp.source != LAZY_FACADE
        and imp.target != imp.source
        and imp.target not in HEAVY
        and imp.target not in OPTIONAL_EXTRA
    }
    assert inner <= PENDING_INNER, sorted(inner - PENDING_INNER)


def test_modules_a_reader_can_hold() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent))
        for path in MODULES.values()
        if len(path.read_text(encoding="utf-8").splitlines()) > LINE_LIMIT
    }
    assert long <= PENDING_LINES, sorted(long - PENDING_LINES)


@pytest.mark.parametrize("allowance", ["PENDING_LINES", "PENDING_INNER", "PENDING_PRIVATE"])
def test_known_departures_are_still_departures(allowance: str) -> None:
    """An entry that no longer departs is removed from its list, so the lists only shrink."""
    if allowance == "PENDING_LINES":
        stale = {
            p for p in PENDING_LINES if (PACKAGE.parent / p).is_file() is False or _lines(p) <= LINE_LIMIT
        }
    elif allowance == "PENDING_INNER":
        present = {(i.source, i.target) for i in IMPORTS if i.inner}
        stale = set(PENDING_INNER - present)
    else:
        present_private = {(i.source, f"{i.target}.{i.name}") for i in IMPORTS if i.name}
        stale = set(PENDING_PRIVATE - present_private)
    assert not stale, f"remove from {allowance}: {sorted(stale)}"


def _lines(relative: str) -> int:
    return len((PACKAGE.parent / relative).read_text(encoding="utf-8").splitlines())


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    counter = itertools.count()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
