"""Operators over list fields: ``count``, ``any`` / ``all`` of an item condition.

A list reaches the table as its item count and one JSON-array column per sub-field
(:mod:`auditor.list_fields`). An item condition (``where:``) is compiled like any other
condition and run once over a frame of *items* — one row per item of every record, with the
sub-fields as columns — so it is as vectorized as a record condition; the results go back to
their records with ``numpy.bincount``. A record whose list the snapshot cannot show (an Ignite
page without the module: ``<NA>`` count) is never a finding, and ``all`` is false for an empty
list (nothing was seen to match); say ``count: {list: …, eq: 0}`` to find empty lists.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from auditor.list_fields import decode, list_registry
from auditor.rules.cells import clean, compared

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def item_frame(frame: pd.DataFrame, list_key: str, names: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """The items of every row's list as a frame (columns: the sub-fields ``names``, as text) and,
    for each item, the position of its row in ``frame``."""
    import numpy as np
    import pandas as pd

    spec = list_registry()[list_key.removeprefix("old.")]
    prefix = "old." if list_key.startswith("old.") else ""
    columns: dict[str, pd.Series] = {}
    lengths: np.ndarray | None = None
    for name in names or spec.item_names[:1]:
        cells = [decode(cell) for cell in frame[prefix + spec.item_column(name)].tolist()]
        if lengths is None:
            lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
        columns[name] = pd.Series(list(itertools.chain.from_iterable(cells)), dtype="string")
    assert lengths is not None
    parents = np.repeat(np.arange(len(frame), dtype=np.int64), lengths)
    items = pd.DataFrame(columns, index=pd.RangeIndex(len(parents)))
    return items, parents


def matching_items(frame: pd.DataFrame, args: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Per row: the number of items matching ``where`` and the list's item count (``<NA>`` when
    the snapshot cannot say)."""
    import numpy as np
    import pandas as pd

    key = args["list"]
    spec = list_registry()[key.removeprefix("old.")]
    prefix = "old." if key.startswith("old.") else ""
    counts = frame[prefix + spec.count_column].reset_index(drop=True)
    items, parents = item_frame(frame, key, args.get("item_fields", ()))
    matched = args["where"](items).to_numpy(dtype=bool) if len(items) else np.zeros(0, dtype=bool)
    per_row = np.bincount(parents[matched], minlength=len(frame))
    return pd.Series(per_row, dtype="Int64").where(counts.notna()), counts


def op_count(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The number of items (matching ``where``, if given) compared with a number."""
    if "where" in args:
        values, _ = matching_items(frame, args)
    else:
        key = args["list"]
        spec = list_registry()[key.removeprefix("old.")]
        values = frame[("old." if key.startswith("old.") else "") + spec.count_column].reset_index(drop=True)
    result = compared(values, args)
    result.index = frame.index
    return result


def some_item(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """At least one item matches ``where``."""
    matched, _ = matching_items(frame, args)
    result = clean(matched > 0)
    result.index = frame.index
    return result


def every_item(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The list has items and every one matches ``where``."""
    matched, counts = matching_items(frame, args)
    result = clean((matched == counts) & (counts > 0))
    result.index = frame.index
    return result
