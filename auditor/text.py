"""Words in messages: one place that says ``1 snapshot`` and ``2 snapshots``."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 snapshot``, ``2 snapshots``, ``0 snapshots``; ``plural_form`` for irregular words
    (``plural(2, "study", "studies")``). Thousands are grouped (``12,000 records``)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"
