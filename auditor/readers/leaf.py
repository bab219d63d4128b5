"""The fast paths for building fields of JSON/XML leaves.

A registry study has hundreds of unregistered leaves (locations, results tables) for a few
dozen registered ones, and the readers run over millions of records. For a key the registry
does not know, :func:`auditor.fields.make_field` types by the universal literals only
(``True``/``False``, ``None``/``N/A``/empty); any other text without surrounding whitespace is
plain text. :meth:`ColumnBuilder.add_untyped` adds exactly that field without the general
machinery and falls back to ``make_field`` for everything else, so the typing stays defined in
one place (``tests/test_ctgov_json.py`` checks the two agree on arbitrary text).
"""

from __future__ import annotations

from auditor.fields import FieldSpec, make_field
from auditor.records import Field, FieldColumns
from auditor.values import MISSING_KINDS, Value, ValueType, type_value

#: Raw texts whose type is not simply "text" when no registry type is declared.
_LITERALS = frozenset((*MISSING_KINDS, "True", "False"))
_TEXT = ValueType.TEXT


class ColumnBuilder:
    """The fields of one record collected as columns (:class:`auditor.records.FieldColumns`):
    a reader walking thousands of leaves appends to six lists instead of building a frozen
    ``Field`` per leaf that the record would then take apart again."""

    __slots__ = ("keys", "labels", "raws", "sections", "types", "values")

    def __init__(self) -> None:
        self.sections: list[str] = []
        self.labels: list[str] = []
        self.keys: list[str] = []
        self.raws: list[str] = []
        self.types: list[ValueType] = []
        self.values: list[Value] = []

    def add_untyped(self, section: str, label: str, key: str, raw: str) -> None:
        """The field ``make_field(section, label, raw, key=key)`` builds for a key without a
        spec, as columns."""
        if raw in _LITERALS or raw[:1].isspace() or raw[-1:].isspace():
            self.add(make_field(section, label, raw, key=key)[0])
            return
        self.sections.append(section)
        self.labels.append(label)
        self.keys.append(key)
        self.raws.append(raw)
        self.types.append(_TEXT)
        self.values.append(raw)

    def add(self, field: Field) -> None:
        self.sections.append(field.section)
        self.labels.append(field.label)
        self.keys.append(field.key)
        self.raws.append(field.raw)
        self.types.append(field.type)
        self.values.append(field.value)

    def columns(self) -> FieldColumns:
        """The columns; no field has a line (JSON and XML fields have none)."""
        return FieldColumns(
            tuple(self.sections),
            tuple(self.labels),
            tuple(self.keys),
            tuple(self.raws),
            tuple(self.types),
            tuple(self.values),
            (None,) * len(self.keys),
        )


#: (key, raw) → the registered field and its problem. Registered values repeat a lot across
#: records (statuses, dates, sponsor classes), and a field of a registered key depends on
#: nothing else (its section and label come from the spec), so the frozen Field is shared.
_REGISTERED: dict[tuple[str, str], tuple[Field, str | None]] = {}
_REGISTERED_LIMIT = 200_000
_SHORT = 80


def registered_field(spec: FieldSpec, raw: str) -> tuple[Field, str | None]:
    """``make_field(spec.section, spec.label, raw, key=spec.key)``, memoised for short values."""
    if len(raw) > _SHORT:
        return make_field(spec.section, spec.label, raw, key=spec.key)
    cache_key = (spec.key, raw)
    hit = _REGISTERED.get(cache_key)
    if hit is None:
        if len(_REGISTERED) >= _REGISTERED_LIMIT:
            _REGISTERED.clear()
        hit = _REGISTERED[cache_key] = make_field(spec.section, spec.label, raw, key=spec.key)
    return hit


#: spec key → raw → (type, value, problem without the label). Like ``_REGISTERED`` but for
#: readers whose fields carry their own section, label and line (the Ignite text reader), so
#: only the typing can be shared. One dict per key: no tuple key to build for each lookup.
_TYPED: dict[str, dict[str, tuple[ValueType, Value, str | None]]] = {}
_TYPED_LIMIT = 200_000
_typed_count = 0


def registered_typing(spec: FieldSpec, raw: str) -> tuple[ValueType, Value, str | None]:
    """``type_value`` of ``raw`` as ``spec`` declares it (as :func:`make_field` calls it),
    memoised for short values; the problem comes without make_field's ``"label: "`` prefix."""
    global _typed_count
    per_key = _TYPED.get(spec.key)
    if per_key is None:
        per_key = _TYPED[spec.key] = {}
    hit = per_key.get(raw)
    if hit is None:
        typed = type_value(
            raw,
            spec.type,
            enum_values=spec.enum,
            enum_aliases=dict(spec.enum_aliases),
            missing_literals=spec.missing,
        )
        hit = (typed.type, typed.value, typed.problem)
        if len(raw) <= _SHORT:
            if _typed_count >= _TYPED_LIMIT:
                _TYPED.clear()
                _typed_count = 0
            _typed_count += 1
            per_key[raw] = hit
    return hit


#: The raw texts :meth:`ColumnBuilder.add_untyped` does not take its shortcut on (besides surrounding
#: whitespace), for readers that inline the shortcut.
UNTYPED_LITERALS = _LITERALS


__all__ = ["UNTYPED_LITERALS", "ColumnBuilder", "registered_field", "registered_typing"]
