"""Raw text → typed fields: the one owner of how a reader types what it read.

:func:`type_field` is the rule: the key's registry spec (``auditor/data/fields.yaml``) decides
the type, and :func:`auditor.values.type_value` does the typing; a key the registry does not
know is typed by the universal literals only (``True``/``False``, ``None``/``N/A``/empty). Every
reader builds its fields with it or with one of the shortcuts below, each tested equal to it:

* :func:`registered_field` / :func:`registered_typing` — memoised for short registered values
  (statuses, dates, sponsor classes repeat across millions of records);
* :meth:`ColumnBuilder.add_untyped` — a registry study has hundreds of unregistered leaves
  (locations, results tables) for a few dozen registered ones: any text without surrounding
  whitespace that is not a literal is plain text, added without the general machinery
  (``tests/test_ctgov_json.py`` checks the two agree on arbitrary text).

Fields are collected as columns (:class:`ColumnBuilder`), not as a frozen ``Field`` each.
"""

from __future__ import annotations

from typing import Any

from auditor.fields import FieldSpec, label_key, registry
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
        """The field ``type_field(section, label, raw, key=key)`` builds for a key without a
        spec, as columns."""
        if raw in _LITERALS or raw[:1].isspace() or raw[-1:].isspace():
            self.add(type_field(section, label, raw, key=key)[0])
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
    """``type_field(spec.section, spec.label, raw, key=spec.key)``, memoised for short values."""
    if len(raw) > _SHORT:
        return type_field(spec.section, spec.label, raw, key=spec.key)
    cache_key = (spec.key, raw)
    hit = _REGISTERED.get(cache_key)
    if hit is None:
        if len(_REGISTERED) >= _REGISTERED_LIMIT:
            _REGISTERED.clear()
        hit = _REGISTERED[cache_key] = type_field(spec.section, spec.label, raw, key=spec.key)
    return hit


#: spec key → raw → (type, value, problem without the label). Like ``_REGISTERED`` but for
#: readers whose fields carry their own section, label and line (the Ignite text reader), so
#: only the typing can be shared. One dict per key: no tuple key to build for each lookup.
_TYPED: dict[str, dict[str, tuple[ValueType, Value, str | None]]] = {}
_TYPED_LIMIT = 200_000
_typed_count = 0


def registered_typing(spec: FieldSpec, raw: str) -> tuple[ValueType, Value, str | None]:
    """``type_value`` of ``raw`` as ``spec`` declares it (as :func:`type_field` calls it),
    memoised for short values; the problem comes without type_field's ``"label: "`` prefix."""
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


def type_field(
    section: str, label: str, raw: str, *, key: str | None = None, line: int | None = None
) -> tuple[Field, str | None]:
    """Build a typed :class:`Field`; the second item is a problem (e.g. a bad date) or ``None``.

    ``key`` overrides the label's key, for readers that know the field by its path."""
    resolved = key or label_key(label)
    spec = registry().by_key.get(resolved)
    typed = type_value(
        raw,
        spec.type if spec else None,
        enum_values=spec.enum if spec else frozenset(),
        enum_aliases=dict(spec.enum_aliases) if spec else None,
        missing_literals=spec.missing if spec else frozenset(),
    )
    problem = None if typed.problem is None else f"{label}: {typed.problem}"
    return Field(section, label, resolved, raw, typed.type, typed.value, line), problem


__all__ = ["UNTYPED_LITERALS", "ColumnBuilder", "registered_field", "registered_typing", "type_field"]


def scalar_raw(value: Any) -> str:
    """A JSON scalar as the text an Ignite page would show (``True``/``False``, ``None`` for
    null); shared with the projection reader so both give the same raw text."""
    if isinstance(value, str):
        return value
    if value is True:
        return "True"
    if value is False:
        return "False"
    if value is None:
        return "None"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)
