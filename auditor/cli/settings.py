"""What every command shares beyond its own options: the configuration file, ``--color``,
``-q``/``-v``, and how they reach the commands.

Every command takes ``--config FILE``, ``--isolated``, ``--color auto|always|never``, ``-q`` and
``-v`` (added to each command when it is loaded, :func:`add_common_options`). The configuration
must be known *before* click parses a command's options, since it supplies their defaults
(click's ``default_map``); so :func:`prepare` reads these few flags from the argument list first
(the command path, then the flags up to ``--``), loads the configuration, and hands click the
defaults, the colour and an :class:`Invocation` as ``ctx.obj``. Click then parses the same flags
again, which checks their values and lists them in ``--help``.

A command that defines one of these names itself keeps its own (``audit diff --config`` is the
diff's YAML ignore list, ``--color/--no-color`` its switch).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from auditor.config import COLORS, NO_CONFIG, Config, discover
from auditor.errors import UsageError
from auditor.text import plural

__all__ = ["Invocation", "add_common_options", "detail", "invocation", "note", "plural", "prepare"]

#: config key → (command path, click parameter) it gives the default of.
TARGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "rules": (
        ("check", "rule_paths"),
        ("rules list", "rule_paths"),
        ("rules explain", "rule_paths"),
        ("report staleness", "rule_paths"),
    ),
    "select": (("check", "select"),),
    "ignore": (("check", "ignored"), ("report staleness", "ignored")),
    "fail_on": (("check", "fail_on"), ("report staleness", "fail_on")),
    "format": (("check", "output_format"),),
    "store": (
        ("report staleness", "store_path"),
        ("snapshot add", "store_dir"),
        ("snapshot list", "store_dir"),
        ("snapshot verify", "store_dir"),
        ("history", "store_dir"),
        ("fetch", "store_dir"),
    ),
    "out": (("report staleness", "out_path"),),
    "waivers": (("check", "waivers"),),
    "baseline": (("check", "baseline"),),
    "api_url": (("fetch", "api_url"),),
    "jobs": (("check", "jobs"), ("report staleness", "jobs")),
}


@dataclass
class Invocation:
    """``ctx.obj`` of every command: the configuration in force and the output habits."""

    config: Config = NO_CONFIG
    verbosity: int = 0  # -1 with -q, 1 or more with -v
    color: bool | None = None  # None: colour a terminal


@dataclass(frozen=True)
class GlobalFlags:
    config: str | None = None
    isolated: bool = False
    color: str | None = None
    verbosity: int = 0


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` gives ``main()``: the arguments and click's context settings."""

    args: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


# --- the common options -----------------------------------------------------------------------

COMMON_OPTIONS: tuple[click.Option, ...] = (
    click.Option(
        ["--config"],
        metavar="FILE",
        expose_value=False,
        help="Configuration file [default: audit.toml, or [tool.audit] in pyproject.toml, "
        "found from here upwards].",
    ),
    click.Option(["--isolated"], is_flag=True, expose_value=False, help="Ignore configuration files."),
    click.Option(
        ["--color"],
        type=click.Choice(COLORS),
        metavar="auto|always|never",
        is_flag=False,
        flag_value="always",
        expose_value=False,
        help="Colour in terminal output (a bare --color is always) [default: auto; NO_COLOR turns auto off].",
    ),
    click.Option(["--no-color"], is_flag=True, expose_value=False, help="Same as --color never."),
    click.Option(["-q", "--quiet"], count=True, expose_value=False, help="Only errors and the output."),
    click.Option(["-v", "--verbose"], count=True, expose_value=False, help="Say more (repeatable)."),
)


def add_common_options(command: click.Command) -> None:
    """Give ``command`` (and a group's subcommands) the common options it does not define."""
    taken = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for option in COMMON_OPTIONS:
        if not taken.intersection(option.opts) and option.name not in {p.name for p in command.params}:
            command.params.append(option)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_common_options(sub)


# --- reading the flags before click ------------------------------------------------------------

_VALUE_FLAGS = ("--config", "--color")


def command_path(group: click.Group, args: Sequence[str]) -> tuple[list[str], list[click.Command]]:
    """The names of the command ``args`` run (``["rules", "list"]``) and the commands on the way."""
    names: list[str] = []
    commands: list[click.Command] = [group]
    tokens = iter(args)
    ctx = click.Context(group, info_name="audit", resilient_parsing=True)
    for token in tokens:
        if token == "--":
            break
        if token.startswith("-"):
            if token in _VALUE_FLAGS:
                next(tokens, None)
            continue
        current = commands[-1]
        if not isinstance(current, click.Group):
            break
        found = current.get_command(ctx, token)
        if found is None:
            break
        names.append(token)
        commands.append(found)
    return names, commands


def scan_flags(args: Sequence[str], owned: set[str]) -> GlobalFlags:
    """The common flags in ``args`` (before ``--``), leaving out names the command owns."""
    config: str | None = None
    color: str | None = None
    isolated = False
    verbosity = 0
    tokens = list(args)
    n = 0
    while n < len(tokens):
        token = tokens[n]
        n += 1
        if token == "--":
            break
        name, eq, value = token.partition("=")
        if name in owned:
            continue
        if name == "--color" and not eq:  # a bare --color is "always", as click reads it
            if n < len(tokens) and tokens[n] in COLORS:
                color = tokens[n]
                n += 1
            else:
                color = "always"
        elif name in _VALUE_FLAGS:
            if not eq:
                value = tokens[n] if n < len(tokens) else ""
                n += 1
            if name == "--config":
                config = value
            else:
                color = value
        elif token == "--no-color":
            color = "never"
        elif token == "--isolated":
            isolated = True
        elif token in ("-q", "--quiet"):
            verbosity -= 1
        elif token in ("-v", "--verbose"):
            verbosity += 1
        elif len(token) > 2 and token[0] == "-" and token[1] != "-" and set(token[1:]) <= {"q", "v"}:
            verbosity += token.count("v") - token.count("q")  # -vv, -qq
    return GlobalFlags(config, isolated, color, verbosity)


def color_choice(flag: str | None, config: Config) -> bool | None:
    """``--color`` (else the file's ``color``): always → True, never → False, auto → None (click
    colours a terminal) unless ``NO_COLOR`` is set (https://no-color.org)."""
    choice = flag or config.get("color") or "auto"
    if choice == "always":
        return True
    if choice == "never":
        return False
    return False if os.environ.get("NO_COLOR") else None


def prepare(group: click.Group, args: list[str], cwd: Path | None = None) -> Prepared:
    """Read the common flags and the configuration; the defaults click should use."""
    names, commands = command_path(group, args)
    owned = {
        opt
        for command in commands[1:]
        for param in command.params
        if param not in COMMON_OPTIONS
        for opt in (*param.opts, *param.secondary_opts)
    }
    flags = scan_flags(args, owned)
    if flags.color is not None and flags.color not in COLORS:
        raise UsageError(f"--color {flags.color!r}: expected one of {', '.join(COLORS)}")
    if _asks_for_help(args) or not names:
        config = NO_CONFIG  # --help and --version work whatever state the configuration is in
    else:
        config = discover(_working_folder(cwd), config_file=flags.config, isolated=flags.isolated)
    if flags.verbosity > 0 and names:
        click.echo(f"audit: configuration: {config.path or 'none'}", err=True)
    invocation = Invocation(config, flags.verbosity, color_choice(flags.color, config))
    extra: dict[str, Any] = {"obj": invocation, "color": invocation.color}
    if config.path is None or not names:
        return Prepared(args, extra)
    leaf = commands[-1]
    extra["default_map"] = default_map(config, " ".join(names), leaf)
    return Prepared(args, extra)


def _working_folder(cwd: Path | None) -> Path | None:
    """Where discovery starts; ``None`` when the working folder was deleted under us (the
    command then says what it cannot do, as it would without a configuration)."""
    if cwd is not None:
        return cwd
    try:
        return Path.cwd()
    except OSError:
        return None


def _asks_for_help(args: list[str]) -> bool:
    before = args[: args.index("--")] if "--" in args else args
    return any(token in ("-h", "--help", "--version") for token in before)


def default_map(config: Config, path: str, leaf: click.Command) -> dict[str, Any]:
    """click's ``default_map`` for the command at ``path`` from ``config``. A key meant for this
    command that it has no option for is an error, not silently dropped."""
    params = {p.name for p in leaf.params}
    defaults: dict[str, Any] = {}
    for key, targets in TARGETS.items():
        if key not in config.values:
            continue
        for target_path, name in targets:
            if target_path != path:
                continue
            if name not in params:
                raise UsageError(
                    f"configuration key {key!r} is not supported by 'audit {path}' in this version",
                    path=config.path,
                )
            defaults[name] = config.values[key]
    nested: dict[str, Any] = defaults
    for name in reversed(path.split()):
        nested = {name: nested}
    return nested


# --- messages ---------------------------------------------------------------------------------


def invocation() -> Invocation:
    ctx = click.get_current_context(silent=True)
    obj = None if ctx is None else ctx.find_object(Invocation)
    return obj if obj is not None else Invocation()


def note(message: str) -> None:
    """A summary line on stderr, left out with ``-q``."""
    if invocation().verbosity >= 0:
        click.echo(message, err=True)


def detail(message: str) -> None:
    """A line on stderr shown only with ``-v``."""
    if invocation().verbosity > 0:
        click.echo(message, err=True)
