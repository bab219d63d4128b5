"""Rule patterns (the ``matches`` operator): checked under limits when a rule file is loaded,
matched in linear time.

A rule file is input like any other: a pattern such as ``(a+)+$`` makes a backtracking engine
(Python's :mod:`re`) take exponential time on a 40-character title, and ``a{4294967295}`` or
3,000 nested groups crash its compiler. So rule patterns are **RE2** patterns, matched by RE2
(the engine inside pyarrow's compute functions, already a dependency for the cache): time
linear in the text, memory bounded by the compiled program, and no engine to fall back to.

RE2 is Python's syntax without backreferences and lookaround (see
https://github.com/google/re2/wiki/Syntax); its ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII
(``NCT\\d{8}`` means ASCII digits, as NCT IDs are; write ``\\p{Nd}`` or ``[\\s\\p{Z}]`` for
Unicode). Before RE2 sees a pattern, :func:`check_pattern` applies limits of its own, each
named in its error: at most :data:`MAX_PATTERN_LENGTH` characters, :data:`MAX_NESTING` groups
inside one another and repetition counts up to :data:`MAX_REPEAT` (RE2's own, which it does not
check past 32 bits: ``a{4294967295}`` compiles there). Every failure is a :class:`PatternError`,
which the rule loader reports as ``file:line: path: message``.

``matches`` is a *full* match (the whole text as written); ``.`` matches line breaks too.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from auditor.rules.nodes import loading_shipped

if TYPE_CHECKING:
    import pandas as pd

#: The longest pattern a rule may hold (the shipped ones are under 40 characters).
MAX_PATTERN_LENGTH = 1000
#: Groups inside groups.
MAX_NESTING = 50
#: The largest repetition count, ``{n}`` or ``{m,n}`` (RE2's own limit).
MAX_REPEAT = 1000


class PatternError(ValueError):
    """A rule pattern that is refused: too long, too deep, too repetitive, or not RE2 syntax."""


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is within the limits and compiles in RE2; :class:`PatternError` saying
    which limit or what RE2 found wrong otherwise."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters ({len(pattern)})")
    _check_structure(pattern)
    if not loading_shipped():
        _compiled(pattern, False)
    return pattern


def _check_structure(pattern: str) -> None:
    """Nesting and repetition counts, read the way RE2 reads them (escapes and character classes
    are skipped)."""
    depth = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            continue
        if char == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise PatternError(f"pattern nests groups more than {MAX_NESTING} deep")
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "{":
            _check_repeat(pattern, i)
        i += 1


def _class_end(pattern: str, start: int) -> int:
    """The index after the ``]`` closing the character class at ``start`` (a ``]`` right after
    ``[`` or ``[^`` is a member; ``[:alpha:]`` is one item)."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            i = i + 1 if end < 0 else end + 2
        elif pattern[i] == "]":
            return i + 1
        else:
            i += 1
    return i  # unclosed: RE2 says so


def _check_repeat(pattern: str, start: int) -> None:
    """A ``{n}``, ``{n,}`` or ``{m,n}`` at ``start`` with a count over :data:`MAX_REPEAT`
    (anything else in braces is a literal, as RE2 reads it)."""
    end = pattern.find("}", start)
    if end < 0:
        return
    counts = pattern[start + 1 : end].split(",")
    if len(counts) > 2 or not counts[0].isascii() or not counts[0].isdigit():
        return
    for count in counts:
        if count.isascii() and count.isdigit() and int(count) > MAX_REPEAT:
            raise PatternError(f"repetition {pattern[start : end + 1]} is more than {MAX_REPEAT}")


def _anchored(pattern: str) -> str:
    """The whole text, ``.`` matching line breaks (``pattern`` compiles on its own, so it cannot
    close the group it is put in)."""
    return f"\\A(?s:{pattern})\\z"


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, ignore_case: bool) -> str:
    """Compile ``pattern`` (then its anchored form) in RE2; the anchored form, or
    :class:`PatternError` with RE2's message."""
    import pyarrow as pa  # heavy: only when a rule has a pattern
    import pyarrow.compute as pc

    # one empty string, built from its buffers: pa.array() and pa.scalar() import pandas
    # (0.3 s), which listing the rules does not otherwise need
    probe = pa.StringArray.from_buffers(1, pa.py_buffer(bytes(8)), pa.py_buffer(b""))
    for candidate in (pattern, _anchored(pattern)):
        try:
            pc.match_substring_regex(probe, pattern=candidate, ignore_case=ignore_case)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            message = str(exc).removeprefix("Invalid regular expression: ")
            raise PatternError(f"not a valid RE2 pattern: {message}") from None
    return _anchored(pattern)


def full_match(values: pd.Series, pattern: str, *, ignore_case: bool = False) -> pd.Series:
    """Which ``values`` the pattern matches in full, by RE2 over the whole column at once; a
    missing value is ``False``."""
    import numpy as np  # heavy: imported when a rule runs
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    anchored = _compiled(pattern, ignore_case)
    try:
        text = pa.array(values.astype("string[pyarrow]"))
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: shown as its escape instead
        text = pa.array(values.astype("string[python]").map(_encodable, na_action="ignore"), type=pa.string())
    matched = pc.match_substring_regex(text, pattern=anchored, ignore_case=ignore_case)
    found = np.asarray(matched.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return pd.Series(found, index=values.index)


def _encodable(value: str) -> str:
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


__all__ = ["MAX_NESTING", "MAX_PATTERN_LENGTH", "MAX_REPEAT", "PatternError", "check_pattern", "full_match"]
