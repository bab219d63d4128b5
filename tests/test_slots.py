"""The fast constructors stay on: the classes that make hundreds of thousands of objects keep the
shape :func:`auditor.slots.slot_setters` takes, and a changed shape falls back to the class."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.check import _FINDING_FIELDS
from auditor.findings import Finding
from auditor.inputs import _UNIT_FIELDS, InputUnit, file_unit
from auditor.records import _FIELD_ATTRIBUTES, Field
from auditor.slots import slot_setters


def test_the_fast_constructors_classes_have_the_expected_slots() -> None:
    assert slot_setters(Field, _FIELD_ATTRIBUTES) is not None
    assert slot_setters(Finding, _FINDING_FIELDS) is not None
    assert slot_setters(InputUnit, _UNIT_FIELDS) is not None
    assert file_unit("a.json", 3, 7) == InputUnit("a.json", "a.json", None, 3, 7)


@dataclass(frozen=True, slots=True)
class _Checked:
    a: int
    b: int

    def __post_init__(self) -> None:
        if self.a > self.b:
            raise ValueError("a > b")


@dataclass(frozen=True)
class _NoSlots:
    a: int
    b: int


def test_other_shapes_get_no_setters() -> None:
    assert slot_setters(_Checked, ("a", "b")) is None  # its __post_init__ would be skipped
    assert slot_setters(_NoSlots, ("a", "b")) is None
    assert slot_setters(Field, _FIELD_ATTRIBUTES[::-1]) is None
    assert slot_setters(int, ()) is None
