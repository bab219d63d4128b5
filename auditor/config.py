"""Project configuration: ``audit.toml`` or ``[tool.audit]`` in ``pyproject.toml``.

Found the way ruff, sqlfluff and yamllint find theirs, so that ``audit check`` run anywhere in a
project behaves the same as in CI:

* **Discovery**: from the working folder upwards, the first folder holding an ``audit.toml``, or a
  ``pyproject.toml`` with a ``[tool.audit]`` table, gives the configuration (``audit.toml`` first
  when a folder holds both; a ``pyproject.toml`` without the table is passed over). One file is
  used, never a merge of several. ``--config FILE`` names one instead; ``--isolated`` uses none.
* **Precedence**: command line, then the configuration file, then the built-in defaults. A list
  option given on the command line (``--select``, ``--ignore``, ``--rules``) replaces the file's
  list; ``--param`` is merged with the file's ``params`` by name, the command line winning.
* **Paths** in the file (``rules``, ``store``, ``out``, ``waivers``, ``baseline``) are relative to
  the folder of the file, not to where ``audit`` runs.
* **Schema** (:data:`SCHEMA`): a key is the long option's name with ``_`` for ``-``. An unknown
  key, or a value of the wrong type, is an error naming the file, the line where it can be found
  (``tomllib`` gives no positions; the line is looked up in the text) and the key path, with a
  "did you mean" for near misses.

``audit.toml`` holds the keys at its top level; ``pyproject.toml`` under ``[tool.audit]``::

    rules = ["rules/", "extra-rules/site.yaml"]   # rule files or folders: replace the catalogue
    select = ["staleness", "dates"]               # audit check: rule ids or tags
    ignore = ["brief-title-cut-off"]              # audit check, audit report staleness
    fail_on = "warning"                           # error | warning | info | none
    format = "sarif"                              # audit check's output format
    store = "snapshots"
    out = "reports"
    waivers = "audit-waivers.yaml"
    baseline = "audit-baseline.json"
    api_url = "https://clinicaltrials.gov/api/v2"
    jobs = 2
    color = "auto"                                # auto | always | never

    [params]                                      # [tool.audit.params] in pyproject.toml
    years = 3                                     # every selected rule that takes 'years'
    unknown-status-stale = {years = 4}            # one rule's parameter
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import UsageError

PROJECT_FILE = "audit.toml"
PYPROJECT = "pyproject.toml"
FAIL_ON = ("error", "warning", "info", "none")
COLORS = ("auto", "always", "never")


@dataclass(frozen=True)
class Key:
    """One configuration key: what its value must be, and whether it names a path."""

    kind: str  # "str", "paths", "strings", "int", "params", or "choice"
    help: str
    choices: tuple[str, ...] = ()
    path: bool = False


#: The configuration schema, as data (pre-commit's ``clientlib`` habit).
SCHEMA: dict[str, Key] = {
    "rules": Key("paths", "rule files or folders (replace the shipped catalogue)", path=True),
    "select": Key("strings", "rule ids or tags to run"),
    "ignore": Key("strings", "rule ids or tags to leave out"),
    "params": Key("params", "rule parameters: NAME = value, or RULE = {NAME = value}"),
    "fail_on": Key("choice", "lowest severity that fails the run", FAIL_ON),
    "format": Key("str", "audit check's output format"),
    "store": Key("str", "the snapshot store folder", path=True),
    "out": Key("str", "the folder of dated reports", path=True),
    "waivers": Key("str", "the waiver file", path=True),
    "baseline": Key("str", "the baseline file (an earlier JSON report)", path=True),
    "api_url": Key("str", "base URL of the ClinicalTrials.gov API (audit fetch)"),
    "jobs": Key("int", "worker processes"),
    "color": Key("choice", "colour in terminal output", COLORS),
}


@dataclass(frozen=True)
class Config:
    """A validated configuration: ``values`` by key, paths made absolute from ``path``'s folder."""

    path: Path | None
    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def param_items(self) -> tuple[str, ...]:
        """The ``params`` table as ``--param`` items: ``NAME=VALUE`` and ``RULE.NAME=VALUE``."""
        items: list[str] = []
        for name, value in self.values.get("params", {}).items():
            if isinstance(value, dict):
                items.extend(f"{name}.{inner}={_scalar(v)}" for inner, v in value.items())
            else:
                items.append(f"{name}={_scalar(value)}")
        return tuple(items)


NO_CONFIG = Config(None)


def find_config(start: Path) -> Path | None:
    """The configuration file that applies in folder ``start`` (module docstring), if any."""
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def load_config(path: str | Path) -> Config:
    """Read and validate one configuration file; :class:`UsageError` names what is wrong."""
    path = Path(path)
    text = _read(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(exc)
        raise UsageError(f"invalid TOML: {_toml_error_text(exc)}", path=path, line=line) from None
    if path.name == PYPROJECT:
        table = document.get("tool", {}).get("audit")
        prefix = "tool.audit"
        if table is None:
            raise UsageError("no [tool.audit] table", path=path)
    else:
        table, prefix = document, ""
    if not isinstance(table, dict):
        raise UsageError(f"{prefix or 'the file'} must be a table", path=path)
    where = _Locator(path, text, prefix)
    return Config(path.resolve(), _validate(table, where, path.resolve().parent))


def discover(cwd: Path | None, *, config_file: str | None = None, isolated: bool = False) -> Config:
    """The configuration for a run in ``cwd``: ``--config FILE``, else the one found, else none
    (also when there is no working folder: ``cwd`` ``None``)."""
    if config_file is not None and isolated:
        raise UsageError("--config and --isolated exclude each other")
    if isolated:
        return NO_CONFIG
    if config_file is not None:
        return load_config(config_file)
    found = None if cwd is None else find_config(cwd)
    return NO_CONFIG if found is None else load_config(found)


def did_you_mean(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing: a name holding every
    word typed (``stale-unknown`` → ``unknown-status-stale``), else the closest spelling."""
    words = set(re.split(r"[-_.\s]+", name.lower())) - {""}
    holding = sorted((k for k in known if words and words <= set(re.split(r"[-_.\s]+", k.lower()))), key=len)
    close = holding[:1] or difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- validation -------------------------------------------------------------------------------


def _validate(table: dict[str, Any], where: _Locator, base: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in table.items():
        spec = SCHEMA.get(key)
        if spec is None:
            raise where.error(
                key, f"unknown key{did_you_mean(key, list(SCHEMA))}; known: {', '.join(SCHEMA)}"
            )
        values[key] = _CHECKS[spec.kind](key, value, spec, where)
        if spec.path:
            values[key] = _resolve(values[key], base)
    return values


def _resolve(value: str | list[str], base: Path) -> str | list[str]:
    if isinstance(value, list):
        return [str(base / item) for item in value]
    return str(base / value)


def _check_str(key: str, value: Any, spec: Key, where: _Locator) -> str:
    if not isinstance(value, str) or not value:
        raise where.error(key, f"expected a non-empty string ({spec.help}), got {_shown(value)}")
    return value


def _check_choice(key: str, value: Any, spec: Key, where: _Locator) -> str:
    if value not in spec.choices:
        raise where.error(key, f"expected one of {', '.join(spec.choices)}, got {_shown(value)}")
    return str(value)


def _check_strings(key: str, value: Any, spec: Key, where: _Locator) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise where.error(key, f"expected a list of strings ({spec.help}), got {_shown(value)}")
    return list(value)


def _check_int(key: str, value: Any, spec: Key, where: _Locator) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(key, f"expected a whole number of at least 1, got {_shown(value)}")
    return value


def _check_params(key: str, value: Any, spec: Key, where: _Locator) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(key, f"expected a table ({spec.help}), got {_shown(value)}")
    for name, item in value.items():
        inner = item.items() if isinstance(item, dict) else [(None, item)]
        for inner_name, scalar in inner:
            if isinstance(scalar, dict | list) or not _is_scalar(scalar):
                path = f"{key}.{name}" + (f".{inner_name}" if inner_name else "")
                raise where.error(path, f"expected a number, a string or a date, got {_shown(scalar)}")
    return dict(value)


_CHECKS: dict[str, Callable[[str, Any, Key, _Locator], Any]] = {
    "str": _check_str,
    "paths": _check_strings,
    "strings": _check_strings,
    "int": _check_int,
    "params": _check_params,
    "choice": _check_choice,
}


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | dt.date) and not isinstance(value, bool)


def _scalar(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- where an error is --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Locator:
    """Turns a key path into ``file:line: [table] key: message`` (the line looked up in the text,
    since ``tomllib`` keeps no positions)."""

    path: Path
    text: str
    prefix: str

    def error(self, key_path: str, message: str) -> UsageError:
        full = f"{self.prefix}.{key_path}" if self.prefix else key_path
        return UsageError(f"{full}: {message}", path=self.path, line=self._line(key_path))

    def _line(self, key_path: str) -> int | None:
        parts = key_path.split(".")
        tables = [self.prefix] if self.prefix else [""]
        for n in range(1, len(parts)):
            tables.append(".".join(p for p in (self.prefix, *parts[:n]) if p))
        current = ""
        key_pattern = re.compile(r'^\s*"?' + re.escape(parts[-1]) + r'"?\s*=')
        parent_pattern = re.compile(r'^\s*"?' + re.escape(parts[0]) + r'"?\s*=')
        for number, line in enumerate(self.text.splitlines(), start=1):
            header = re.match(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
            if header:
                current = header.group(1).replace('"', "").replace(" ", "")
                continue
            if current in tables and key_pattern.match(line):
                return number
            if len(parts) > 1 and current == tables[0] and parent_pattern.match(line):
                return number  # an inline table: the line of its key
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("configuration file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read configuration: {exc}", path=path) from None


def _has_tool_table(pyproject: Path) -> bool:
    """Whether a ``pyproject.toml`` has ``[tool.audit]``; a broken one is reported by loading."""
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False
    except tomllib.TOMLDecodeError:
        return "[tool.audit" in pyproject.read_text(encoding="utf-8", errors="replace")
    return isinstance(document.get("tool"), dict) and "audit" in document["tool"]


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"\(at line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _toml_error_text(exc: tomllib.TOMLDecodeError) -> str:
    return re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))


__all__ = [
    "COLORS",
    "FAIL_ON",
    "NO_CONFIG",
    "SCHEMA",
    "Config",
    "Key",
    "did_you_mean",
    "discover",
    "find_config",
    "load_config",
]
