"""Zero records read is an error, unless the caller says an empty run is fine.

``audit check``, ``audit report staleness`` and ``audit snapshot add`` over an empty folder, an
archive of non-study files or inputs that all failed used to succeed on nothing: a CI gate
passed ("No findings"), a nightly report showed every stale study "fixed". Each now stops with
:class:`NoRecordsError` (one line, exit code 2) before it writes anything, unless run with
``--allow-empty``.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.errors import InputError


class NoRecordsError(InputError):
    """No study record was read from the inputs (exit code 2, like any input error).

    ``unread``: the one-line errors of the inputs that could not be read, for the command to
    list (one line each) before its own line."""

    def __init__(self, message: str, unread: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.unread = tuple(unread)


def refuse_empty(records: int, unread: Sequence[object] = (), *, allow_empty: bool, nothing: str) -> None:
    """Raise :class:`NoRecordsError` when ``records`` is 0 and ``allow_empty`` is false.

    ``unread``: the errors of the inputs that could not be read (:class:`InputError` or their
    one-line text); ``nothing``: what was not done (``"nothing was checked"``)."""
    if records or allow_empty:
        return
    lines = [e.one_line() if isinstance(e, InputError) else str(e) for e in unread]
    why = f" ({len(lines)} input{'s' if len(lines) > 1 else ''} could not be read)" if lines else ""
    raise NoRecordsError(f"no study records read{why}; {nothing} (--allow-empty accepts an empty run)", lines)


__all__ = ["NoRecordsError", "refuse_empty"]
