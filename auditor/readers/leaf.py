"""The fast path for building fields of unregistered JSON/XML leaves.

A registry study has hundreds of unregistered leaves (locations, results tables) for a few
dozen registered ones, and the readers run over millions of records. For a key the registry
does not know, :func:`auditor.fields.make_field` types by the universal literals only
(``True``/``False``, ``None``/``N/A``/empty); any other text without surrounding whitespace is
plain text. :func:`untyped_field` builds exactly that field without the general machinery and
falls back to ``make_field`` for everything else, so the typing stays defined in one place
(``tests/test_ctgov_json.py`` checks the two agree on arbitrary text).
"""

from __future__ import annotations

from auditor.fields import make_field
from auditor.records import Field
from auditor.values import MISSING_KINDS, ValueType

#: Raw texts whose type is not simply "text" when no registry type is declared.
_LITERALS = frozenset((*MISSING_KINDS, "True", "False"))
_TEXT = ValueType.TEXT


def untyped_field(section: str, label: str, key: str, raw: str) -> Field:
    """The field ``make_field(section, label, raw, key=key)`` builds for a key without a spec."""
    if raw in _LITERALS or raw[:1].isspace() or raw[-1:].isspace():
        return make_field(section, label, raw, key=key)[0]
    return Field(section, label, key, raw, _TEXT, raw)


__all__ = ["untyped_field"]
