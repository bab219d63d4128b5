"""Errors the auditor reports to users, each carrying its exit code.

Library code raises these; only the CLI's ``main()`` catches them and prints one line.
Anything else is a bug: ``main()`` prints its traceback and one line saying so, and exits
:data:`EXIT_BUG` (4), so that a CI gate never reads a crash as findings (1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Self

EXIT_OK = 0
EXIT_FINDINGS = 1  # findings at or above --fail-on, or changes with --exit-code
EXIT_INPUT = 2  # usage, input file or rule-file error
EXIT_OUTPUT = 3  # could not write a report or the store (disk full, permission denied)
EXIT_BUG = 4  # an unexpected exception: a bug in the auditor, never a verdict on the data
EXIT_INTERRUPTED = 130

#: Control characters (an ESC, a line break) in a file name or a quoted value, and lone
#: surrogates (the bytes of a name that is not UTF-8, as Python keeps them).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class AuditorError(Exception):
    """Base of every error meant for the user: a one-line message and an exit code."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``file:line: message`` on one line, as compilers and linters print it."""
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        text = where + " ".join(self.message.split())
        # A file named "a\nb.txt" or holding an ESC stays one line and cannot restyle a terminal.
        return _CONTROL.sub(_escaped, text)

    def detached(self) -> Self:
        """This error without its traceback and cause, to be kept in a list: a raised error's
        frames (and the exception it was raised from) hold the input's bytes alive."""
        self.__traceback__ = self.__cause__ = self.__context__ = None
        return self


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (PEP 383)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class UsageError(AuditorError):
    """Bad options or arguments."""


class InputError(AuditorError):
    """An input file that is unreadable, binary, empty, malformed or not a study record."""


class RuleError(AuditorError):
    """A rule file that does not load or does not validate; no rule runs."""


class StoreError(AuditorError):
    """The snapshot store is inconsistent in a way that cannot be repaired automatically."""


class FetchError(AuditorError):
    """A study could not be fetched from ClinicalTrials.gov (network, HTTP status, a body that is
    not JSON, a response shape we do not know); the other studies are still fetched."""


class MissingExtraError(UsageError):
    """An optional dependency is not installed: the message names the extra that brings it."""

    def __init__(self, feature: str, extra: str):
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'auditor[{extra}]'")
        self.extra = extra


class OutputError(AuditorError):
    """A report or store file could not be written; nothing half-written is left behind."""

    exit_code = EXIT_OUTPUT


class WorkerError(AuditorError):
    """The run could not finish: a worker process died (killed, out of memory) or could not be
    started (no file descriptors left, the working folder deleted); nothing was written."""

    exit_code = EXIT_OUTPUT
