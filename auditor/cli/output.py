"""Where a command's output goes: one :func:`emit` for every command (datacompy's
``cli/output.py``: render apart from emit).

* ``-o FILE`` is written atomically (:func:`auditor.atomic.atomic_write`) and only as a regular
  file: a device node, a FIFO or a folder at that path is refused — before the work, by
  :func:`check_output`, and again when written. ``-o -`` is standard output.
* Standard output is flushed by :func:`emit` itself, so a write that fails (a full disk behind
  ``> file``, a closed stream) is one line and exit 3 here, not a traceback at exit. A reader
  that went away (``audit check | head``) ends the run quietly with exit 3: the report was not
  delivered, so it is no success; the reader left on purpose, so there is nothing to say.
* A closed standard output (``audit check >&-``) is an error (exit 3) at the first write, or
  before any work for a command whose output is its product; a stream that cannot encode
  every character (``LANG=C``) shows what it cannot encode escaped (``\\xe9``), while JSON,
  CSV, SARIF, JUnit, HTML and Markdown are written as UTF-8 bytes whatever the locale says, as
  their formats require.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

import click

from auditor.atomic import atomic_write, check_target
from auditor.errors import EXIT_OUTPUT, OutputError

#: ``-o -``: standard output.
STDOUT = "-"
_SLICE = 1 << 20
#: A click option, or several applied as one.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
#: What ``audit diff`` and ``audit history`` write.
PAGE_FORMATS = ("text", "json", "markdown", "html")

output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write here (atomically) instead of standard output.",
)


def path_option(
    name: str, dest: str | None, help_text: str, *, folder: bool = False, default: str | None = None
) -> Decorator:
    """An option naming a file (``FILE``) or a folder (``DIR``); click refuses the other kind."""
    names = (name,) if dest is None else (name, dest)
    kind = click.Path(file_okay=False) if folder else click.Path(dir_okay=False)
    metavar = "DIR" if folder else "FILE"
    shown = default is not None
    return click.option(
        *names, type=kind, metavar=metavar, default=default, show_default=shown, help=help_text
    )


def number_option(
    name: str, kind: click.ParamType[Any], default: float, help_text: str, *, metavar: str = "N"
) -> Decorator:
    """A number in a range (``click.IntRange``/``FloatRange``) with its default shown."""
    return click.option(name, type=kind, metavar=metavar, default=default, show_default=True, help=help_text)


def format_option(
    choices: Sequence[str], help_text: str | None = None, default: str | None = None
) -> Decorator:
    """``--format``: one of ``choices`` (the first is the default unless ``default`` says)."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0] if default is None else default,
        show_default=True,
        help=help_text,
    )


class StdoutGone(OutputError):
    """The reader of standard output went away (``| head``): ``main()`` ends quietly, exit 3.
    Not an ``OSError``, which click would turn into exit 1 on its own."""

    def __init__(self) -> None:
        super().__init__("standard output closed by its reader")


class _ClosedStdout(io.TextIOBase):
    """Standard output when the process was started without one: every write is an error."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OutputError("cannot write the output: standard output is closed")

    def isatty(self) -> bool:
        return False


def prepare_stdout() -> None:
    """Called once by ``main()``: a closed standard output raises at its first write instead of
    dropping everything (click writes nothing when ``sys.stdout`` is ``None``) and its file
    descriptor is held by ``/dev/null`` (a file opened later would get it, and a worker's stray
    print with it); a stream that cannot encode every character escapes what it cannot."""
    if sys.stdout is None or _closed_descriptor(1):
        sys.stdout = _ClosedStdout()
        if _closed_descriptor(1):
            _hold_descriptor(1)
    elif isinstance(sys.stdout, io.TextIOWrapper) and not _is_utf8(sys.stdout.encoding):
        sys.stdout.reconfigure(errors="backslashreplace")


def check_output(output: str | None) -> None:
    """Refuse, before any work, an output that cannot be written: a path holding something
    other than a regular file, or a closed standard output."""
    if output is None or output == STDOUT:
        if isinstance(sys.stdout, _ClosedStdout):
            sys.stdout.write("")
        return
    check_target(output)


def emit(text: str | Iterable[str], output: str | None, *, machine: bool) -> None:
    """Write a command's output (``text``, or its pieces as they are made) to ``output`` (a
    file, written atomically) or to standard output (``None`` or ``-``). ``machine``: a format
    with its own encoding rules (JSON, CSV, XML, HTML, Markdown), written as UTF-8."""
    pieces = [text] if isinstance(text, str) else text
    if output is not None and output != STDOUT:
        atomic_write(output, pieces)
        return
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None)
    if machine or _is_utf8(encoding):
        encoding, errors = "utf-8", "strict"
    else:
        errors = "backslashreplace"
    try:
        stream.flush()
        fd = _descriptor(stream)
        for piece in pieces:
            if fd is None:
                stream.write(piece)
            else:  # encoded a slice at a time: a 200 MB value is not copied whole once more
                for start in range(0, len(piece), _SLICE):
                    _write_all(fd, piece[start : start + _SLICE].encode(str(encoding), errors))
        stream.flush()
    except BrokenPipeError:
        raise StdoutGone() from None
    except (OSError, ValueError) as exc:  # ValueError: a stream closed under us
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OutputError(f"cannot write to standard output: {reason}") from None


def _descriptor(stream: TextIO) -> int | None:
    """The file descriptor under ``stream`` (``None`` for one captured in memory, as in tests)."""
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    """Every byte, or an error: a pipe whose reader left takes part of a large write and
    Python's buffered writer let the rest go without a word (seen with ``| head -1``)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def stdout_gone() -> int:
    """What ``main()`` does when the reader of standard output went away: nothing more is
    written there (``/dev/null`` takes its place, so the flush at exit cannot fail again), no
    message, exit 3."""
    with contextlib.suppress(OSError, ValueError):
        fd = sys.stdout.fileno() if sys.stdout is not None else 1
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return EXIT_OUTPUT


def click_broke_pipe() -> bool:
    """Whether click met a broken pipe in a command that wrote with ``click.echo``: it exits 1
    then, after putting its own flush-pacifying wrapper (``click.core._PacifyFlushWrapper``)
    in place of ``sys.stdout`` — the one sign it leaves."""
    return type(sys.stdout).__name__.endswith("PacifyFlushWrapper")


def finish_stdout(code: int) -> int:
    """Flush standard output before the interpreter does (its failure at exit is a traceback
    and status 120): a reader gone is :func:`stdout_gone`, another failure one line, exit 3."""
    stream: TextIO | None = sys.stdout
    if stream is None or isinstance(stream, _ClosedStdout):
        return code
    try:
        stream.flush()
    except BrokenPipeError:
        return stdout_gone()
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"audit: error: cannot write to standard output: {exc}\n")
        return EXIT_OUTPUT
    return code


def _is_utf8(encoding: str | None) -> bool:
    if not encoding:
        return False
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _closed_descriptor(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def _hold_descriptor(fd: int) -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)


__all__ = [
    "STDOUT",
    "StdoutGone",
    "check_output",
    "click_broke_pipe",
    "emit",
    "finish_stdout",
    "prepare_stdout",
    "stdout_gone",
]
