"""The ``audit`` command line: parse options, call the library, return an exit code.

Commands live one per module in this package and are imported only when run, so that
``audit --help`` starts fast and no command pays for another's heavy imports. Exit codes are
decided here and in :mod:`auditor.errors`, nowhere else.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from auditor.cli.output import StdoutGone, click_broke_pipe, finish_stdout, prepare_stdout, stdout_gone
from auditor.errors import EXIT_INTERRUPTED, AuditorError

#: command name → module in this package that defines ``command``.
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


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented lazy pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry[0])
        except ModuleNotFoundError as exc:
            if exc.name == entry[0]:
                return _not_built(cmd_name, entry[1])
            raise
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _not_built(name: str, help_text: str) -> click.Command:
    def run() -> None:
        raise AuditorError(f"'audit {name}' is not available in this build")

    return click.Command(name, callback=run, help=help_text)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="auditor")
def cli() -> None:
    """Audit ClinicalTrials.gov study records: parse, diff, check rules, keep history, report.

    Exit codes: 0 clean; 1 findings at or above --fail-on (or changes with --exit-code);
    2 usage, input or rule-file error; 3 a report or the store could not be written;
    130 interrupted.
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this directly)."""
    prepare_stdout()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="audit", standalone_mode=False
        )
    except StdoutGone:  # the reader of our output went away: quiet, and no success
        return stdout_gone()
    except SystemExit:
        if click_broke_pipe():  # the same, met by click.echo
            return stdout_gone()
        raise
    except AuditorError as exc:
        click.echo(f"audit: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("audit: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("audit: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except BrokenPipeError:
        return stdout_gone()
    if isinstance(result, int):
        return result
    return 0


def entry_point() -> None:
    sys.exit(finish_stdout(main()))
