"""The kinds of argument an operator takes (what a :class:`~auditor.rules.operators.Signature`
lists): each is also the phrase an error message uses, "expected a whole number"."""

from __future__ import annotations

FIELD = "field"
OTHER = "other field"
VALUE = "value"
VALUES = "list of values"
PATTERN = "regular expression"
INT = "whole number"
BOOL = "true or false"
DIRECTION = "later, earlier or either"
ORDER = "list of values or lists of values"
CONDITION = "condition"
CONDITIONS = "list of conditions"
#: a list of the list registry (``auditor/data/list_fields.yaml``)
LIST = "list field"
#: a condition over one item of a list (its fields are the item's sub-fields)
ITEM_CONDITION = "condition on one item"
SUBFIELD = "sub-field of the list's items"
SUBFIELDS = "list of sub-fields of the list's items"
#: a period written like 30d, 18m, 1y or 1y30d
PERIOD = "period like 30d or 1y"
#: a date field, ``as_of`` or a date written in the rule
THAN = "date field, as_of or a date"

#: The comparisons ``count`` and ``length`` take (exactly one), named as in Python's operator module.
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
