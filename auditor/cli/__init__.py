"""The ``audit`` command line: parse options, call the library, return an exit code.

Commands live one per module in this package and are imported only when run, so that
``audit --help`` starts fast and no command pays for another's heavy imports. Exit codes are
decided here and in :mod:`auditor.errors`, nowhere else:

====  ==================================================================================
0     clean
1     findings at or above ``--fail-on``; changes with ``audit diff --exit-code``; a conflict
2     usage, input, configuration or rule-file error; a missing optional dependency
3     a report or the store could not be written
4     a bug in the auditor: the traceback, then one line saying so (never read as findings)
130   interrupted
====  ==================================================================================
"""

from __future__ import annotations

import importlib
import signal
import sys
import traceback
from collections.abc import Sequence

import click

from auditor.cli.output import StdoutGone, click_broke_pipe, finish_stdout, prepare_stdout, stdout_gone
from auditor.cli.settings import COMMON_OPTIONS, add_common_options, prepare
from auditor.errors import EXIT_BUG, EXIT_INPUT, EXIT_INTERRUPTED, AuditorError, MissingExtraError
from auditor.version import VERSION

#: command name → (module in this package that defines ``command``, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("auditor.cli.parse", "Read snapshots and print them as records (JSON or a table)."),
    "diff": ("auditor.cli.diff", "What changed between two snapshots of one study, field by field."),
    "check": ("auditor.cli.check", "Run the rules over snapshots; fail CI at or above a severity."),
    "rules": ("auditor.cli.rules", "List the rules and explain one."),
    "snapshot": ("auditor.cli.snapshot", "Add snapshots to the store, list and verify it."),
    "fetch": ("auditor.cli.fetch", "Fetch current records or whole histories from ClinicalTrials.gov."),
    "history": ("auditor.cli.history", "The timeline of one study in the store."),
    "report": ("auditor.cli.report", "Write the nightly reports (staleness)."),
}
#: Top-level modules of the optional extras, and the extra that installs each.
OPTIONAL_MODULES = {"dask": "dask", "distributed": "dask", "httpx": "fetch"}
#: Where a bug is reported (printed with the traceback of an unexpected exception).
BUG_REPORT = "the auditor's issue tracker (see 'Reporting a bug' in the README)"


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented lazy pattern);
    a mistyped command gets click's "Did you mean" from the lazy list."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        add_common_options(command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            # click suggests from ``self.commands``, which a lazy group leaves empty
            raise click.exceptions.NoSuchCommand(name, possibilities=list(COMMANDS), ctx=ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, "--version", prog_name="audit", message="%(prog)s %(version)s")
def cli() -> None:
    """Audit ClinicalTrials.gov study records: parse, diff, check rules, keep history, report.

    Configuration: audit.toml, or [tool.audit] in pyproject.toml, found from the working folder
    upwards (--config FILE names one, --isolated ignores them); the command line wins.

    Exit codes: 0 clean; 1 findings at or above --fail-on (or changes with --exit-code);
    2 usage, input, configuration or rule-file error, or a missing optional dependency;
    3 a report or the store could not be written; 4 a bug in the auditor (with a traceback);
    130 interrupted.
    """


cli.params.extend(COMMON_OPTIONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this directly)."""
    args = list(sys.argv[1:] if argv is None else argv)
    prepare_stdout()
    try:
        prepared = prepare(cli, args)
        result = cli.main(args=prepared.args, prog_name="audit", standalone_mode=False, **prepared.extra)
    except StdoutGone:  # the reader of our output went away: quiet, and no success
        return stdout_gone()
    except SystemExit:
        if click_broke_pipe():  # the same, met by click.echo
            return stdout_gone()
        raise
    except AuditorError as exc:
        click.echo(f"audit: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("audit: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_INPUT if isinstance(exc, click.UsageError) else exc.exit_code
    except BrokenPipeError:
        return stdout_gone()
    except ModuleNotFoundError as exc:
        extra = OPTIONAL_MODULES.get((exc.name or "").split(".")[0])
        if extra is None:
            return _bug()
        error = MissingExtraError(f"this command ({exc.name} is not installed)", extra)
        click.echo(f"audit: error: {error.one_line()}", err=True)
        return error.exit_code
    except Exception:
        return _bug()
    if isinstance(result, int):
        return result
    return 0


def _bug() -> int:
    """An exception nobody expected: the traceback for the report, one line saying what it is."""
    traceback.print_exc(file=sys.stderr)
    click.echo(
        f"audit: internal error: this is a bug in auditor {VERSION}, not a problem with the "
        f"inputs; please report it with the command and the traceback above to {BUG_REPORT} "
        f"(exit {EXIT_BUG})",
        err=True,
    )
    return EXIT_BUG


def entry_point() -> None:
    code = finish_stdout(main())
    # The run is over and its exit code decided: a Ctrl-C now, while the interpreter shuts down
    # (worker pools joined, files closed), must not turn it into a death by SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)
