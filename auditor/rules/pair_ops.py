"""Operators over two snapshots (pair rules) and over a record's whole history (history rules).

A pair table is the newer snapshot's row with the older one's columns beside it under
``old.`` (:func:`auditor.table.pair_frame`). List items of the two snapshots are matched by
their identity (the list registry's ``identity`` sub-fields, or ``by``), compared without
case and runs of spaces: a site whose facility is re-capitalised is the same site. A history
rule runs over every consecutive pair of each record's snapshots, in order (``--store DIR
--history``); ``repeatedly`` counts the pairs of a record where a pair condition held and
answers on the record's last pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from auditor.list_fields import decode, list_registry
from auditor.rules.cells import aux, clean, earliest, latest, old, period_of, present

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def _same(frame: pd.DataFrame, name: str) -> pd.Series:
    """Old and new say the same thing: both absent, the same empty literal, or equal values
    (dates: equal as written, precision included)."""
    new_present, old_present = present(frame, name), present(frame, old(name))
    both_absent = ~new_present & ~old_present
    missing = aux(frame, name, "__missing")
    if missing is not None:
        old_missing = frame[f"{old(name)}__missing"]
        both_absent = both_absent & (
            (missing == old_missing).fillna(False) | (missing.isna() & old_missing.isna())
        )
    values_equal = clean(frame[name] == frame[old(name)])
    if f"{name}__latest" in frame.columns:
        values_equal &= clean(frame[f"{name}__latest"] == frame[f"{old(name)}__latest"])
    raw = aux(frame, name, "__raw")
    if raw is not None:
        invalid_equal = (
            frame[name].isna() & frame[old(name)].isna() & clean(raw == frame[f"{old(name)}__raw"])
        )
        values_equal |= invalid_equal
    return clean(both_absent | (new_present & old_present & values_equal))


def op_changed(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    return ~_same(frame, args["field"])


def op_changed_from(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    name = args["field"]
    return clean(frame[old(name)].isin(args["values"])) & ~_same(frame, name)


def op_changed_to(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    name = args["field"]
    return clean(frame[name].isin(args["values"])) & ~_same(frame, name)


def op_shifted_by_more_than(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The date moved by more than the period, certainly: ``later`` compares the old date's
    latest day plus the period with the new date's earliest day (and mirrored for ``earlier``)."""
    name = args["field"]
    period = period_of(args).offset()
    later = clean(latest(frame, old(name)) + period < earliest(frame, name))
    earlier = clean(latest(frame, name) + period < earliest(frame, old(name)))
    direction = args.get("direction", "either")
    if direction == "later":
        return later
    if direction == "earlier":
        return earlier
    return later | earlier


def op_went_back(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The value moved to an earlier step of ``order`` (a list of steps; a step may be a list
    of equivalent values). Values outside the order never count."""
    import pandas as pd

    rank: dict[str, int] = {}
    for i, step in enumerate(args["order"]):
        for value in step if isinstance(step, list | tuple) else [step]:
            rank[value] = i
    name = args["field"]
    new_rank = frame[name].map(rank, na_action="ignore").astype("Float64")
    old_rank = frame[old(name)].map(rank, na_action="ignore").astype("Float64")
    return clean(pd.Series(new_rank < old_rank, index=frame.index))


# ---------------------------------------------------------------- list items of two snapshots


def _normal(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _items(frame: pd.DataFrame, column_of: Any, names: Sequence[str]) -> list[list[tuple[str, ...]]]:
    """Per row, each item's normalised values of ``names`` (items whose values are all empty
    are left out: nothing says which item they are)."""
    cells = [[decode(cell) for cell in frame[column_of(name)].tolist()] for name in names]
    out = []
    for row in zip(*cells, strict=True):
        items = [tuple("" if v is None else _normal(v) for v in item) for item in zip(*row, strict=True)]
        out.append([item for item in items if any(item)])
    return out


def _identity(args: dict[str, Any]) -> tuple[Any, tuple[str, ...]]:
    spec = list_registry()[args["list"]]
    names = tuple(args.get("by") or spec.identity or spec.item_names)
    return spec, names


def item_differences(
    frame: pd.DataFrame, list_key: str, by: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a pair table: how many items of ``list_key`` were added and how many removed,
    by identity (``-1`` where either snapshot cannot show the list)."""
    import numpy as np

    spec, names = _identity({"list": list_key, "by": tuple(by)})
    new = _items(frame, spec.item_column, names)
    olds = _items(frame, lambda n: old(spec.item_column(n)), names)
    known = (frame[spec.count_column].notna() & frame[old(spec.count_column)].notna()).to_numpy()
    added = np.array([len(set(a) - set(b)) for a, b in zip(new, olds, strict=True)], dtype=np.int64)
    removed = np.array([len(set(b) - set(a)) for a, b in zip(new, olds, strict=True)], dtype=np.int64)
    return np.where(known, added, -1), np.where(known, removed, -1)


def op_items_added(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    import pandas as pd

    added, _ = item_differences(frame, args["list"], args.get("by", ()))
    return pd.Series(added > 0, index=frame.index)


def op_items_removed(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    import pandas as pd

    _, removed = item_differences(frame, args["list"], args.get("by", ()))
    return pd.Series(removed > 0, index=frame.index)


def op_items_changed(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """An item in both snapshots (same identity) whose ``in`` sub-field reads differently."""
    import pandas as pd

    spec, names = _identity(args)
    part = args["in"]
    new = _items(frame, spec.item_column, (*names, part))
    olds = _items(frame, lambda n: old(spec.item_column(n)), (*names, part))
    known = (frame[spec.count_column].notna() & frame[old(spec.count_column)].notna()).to_numpy()
    width = len(names)
    out = []
    for a, b, sure in zip(new, olds, known, strict=True):
        after: dict[tuple[str, ...], set[str]] = {}
        before: dict[tuple[str, ...], set[str]] = {}
        for items, into in ((a, after), (b, before)):
            for item in items:
                if any(item[:width]):
                    into.setdefault(item[:width], set()).add(item[width])
        out.append(bool(sure) and any(after[k] != before[k] for k in after.keys() & before.keys()))
    return pd.Series(out, index=frame.index, dtype=bool)


# ---------------------------------------------------------------- whole histories


def op_repeatedly(frame: pd.DataFrame, args: dict[str, Any]) -> pd.Series:
    """The pair condition held in at least ``times`` pairs of the record (its rows in the
    table, in history order); true on the record's last pair only, so a record is one finding."""
    held = args["condition"](frame)
    study = frame["nct_id"]
    times = held.astype("int64").groupby(study, sort=False).transform("sum")
    last = ~study.duplicated(keep="last")
    return clean((times >= args["times"]) & last)
