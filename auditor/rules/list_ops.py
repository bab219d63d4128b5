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


def item_frame(cells: list[list[list[Any]]], names: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """The items of lists as a frame — columns: the sub-fields ``names``, as text — and for
    each item the position of its list. ``cells[k][i]`` is the values of sub-field ``names[k]``
    of the items of list ``i``."""
    import numpy as np
    import pandas as pd

    lengths = np.fromiter(map(len, cells[0]), dtype=np.int64, count=len(cells[0]))
    columns = {
        name: pd.Series(list(itertools.chain.from_iterable(c)), dtype="string")
        for name, c in zip(names, cells, strict=True)
    }
    parents = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(parents))), parents


def _distinct_lists(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[list[list[Any]]]]:
    """Each row's position among the distinct lists of ``frame`` (``-1``: the snapshot cannot
    show the list) and those distinct lists, decoded (per column). Registry tables repeat the
    same list often (``["PHASE3"]``, ``[]``): decoding each distinct one once is most of the
    saving. The columns are joined with a NUL, which JSON text never holds."""
    import pandas as pd

    key = frame[columns[0]]
    for column in columns[1:]:
        key = key + "\x00" + frame[column]
    codes, uniques = pd.factorize(key, use_na_sentinel=True)
    parts = [str(u).split("\x00") for u in uniques]
    return codes, [[decode(p[k]) for p in parts] for k in range(len(columns))]


def matching_items(frame: pd.DataFrame, args: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Per row: the number of items matching ``where`` and the list's item count (``<NA>`` when
    the snapshot cannot say)."""
    import numpy as np
    import pandas as pd

    key = args["list"]
    spec = list_registry()[key.removeprefix("old.")]
    prefix = "old." if key.startswith("old.") else ""
    counts = frame[prefix + spec.count_column].reset_index(drop=True)
    names = tuple(args.get("item_fields", ())) or spec.item_names[:1]
    codes, cells = _distinct_lists(frame, [prefix + spec.item_column(name) for name in names])
    items, parents = item_frame(cells, names)
    matched = args["where"](items).to_numpy(dtype=bool) if len(items) else np.zeros(0, dtype=bool)
    per_list = np.bincount(parents[matched], minlength=len(cells[0]))
    per_row = np.where(codes >= 0, per_list[np.maximum(codes, 0)] if len(per_list) else 0, 0)
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
