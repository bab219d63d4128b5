"""Records → a pandas table, one row per snapshot; pairs of snapshots → a pair table.

The rule engine (and a Dask engine over the same compiled schema) works on these tables, so
their columns are a documented interface:

Meta columns, one per record:

* ``nct_id`` (string), ``snapshot`` (the source path, string), ``source_format`` (string),
  ``ignite_created`` / ``ignite_modified`` (datetime64, NaT when the format has none),
  ``truncated`` (bool), ``problems`` (int: how many problems the reader noted).

Per key of the field registry (``auditor/data/fields.yaml``), whether or not a record has it:

* ``<key>``: the typed value — ``datetime64`` for dates (the *earliest* day the value can
  mean) and timestamps, nullable ``boolean``, nullable ``Int64`` for integers, ``string`` for
  text and enums. ``<NA>``/``NaT`` when the field is absent, explicitly empty, or did not fit
  its type.
* ``<key>__missing`` (string): the literal of an explicitly empty value (``None``, ``N/A``,
  ``""``, ``Not Stopped``), ``<NA>`` otherwise. Absent and "written as None" stay distinct.
* ``<key>__raw`` (string, non-text keys only): the text as found, so that a value that did not
  fit its type (``2020-13``) is still shown and can be found by the ``invalid`` operator.
* dates also have ``<key>__latest`` (datetime64: the *last* day the value can mean) and
  ``<key>__precision`` (``year`` / ``month`` / ``day``). "Older than" uses ``__latest`` and
  "newer than" uses the earliest day, so a partial date's age is never overstated.

Per list of the list registry (``auditor/data/list_fields.yaml``; :mod:`auditor.list_fields`
says why lists are held this way):

* ``<list>__count`` (Int64): how many items; ``<NA>`` when the snapshot cannot say.
* ``<list>.<sub>`` per sub-field (``primary_outcomes.time_frame``), or ``<list>`` for a list of
  plain values (``conditions``): the items' values as a JSON array (string).

The registry key ``nct_id`` (the Study NCT ID field) shares its name with the meta column; the
meta column (the record's identity) wins.

A pair table (:func:`pairs_table`) is the *new* snapshot's row with every column of the *old*
one beside it under an ``old.`` prefix; ``snapshot`` becomes ``"old -> new"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from auditor.fields import registry
from auditor.list_fields import COUNT_SUFFIX, ListSpec, decode, list_of_column, list_registry, list_values
from auditor.records import Record
from auditor.values import Missing, PartialDate, ValueType

if TYPE_CHECKING:
    import pandas as pd

META_COLUMNS: tuple[str, ...] = (
    "nct_id",
    "snapshot",
    "source_format",
    "ignite_created",
    "ignite_modified",
    "truncated",
    "problems",
)
OLD_PREFIX = "old."
#: The columns derived from a key's column, in table order (see the module docstring). The one
#: definition: every reader of the table (rules, projection, engines) asks here.
DERIVED_SUFFIXES = ("__missing", "__raw", "__latest", "__precision")
#: how :func:`display` shows a value the record does not have
ABSENT = "(absent)"
_DATE_DTYPE = "datetime64[s]"


@cache
def field_types() -> dict[str, ValueType]:
    """Registry key → declared type: the keys a rule may name (besides the meta columns)."""
    return {spec.key: spec.type for spec in registry().specs if spec.key not in META_COLUMNS}


def base_column(name: str) -> str:
    """The key a column belongs to: a derived column's key (``start_date__latest`` →
    ``start_date``), a list column's list (``primary_outcomes.time_frame`` and
    ``primary_outcomes__count`` → ``primary_outcomes``; ``old.`` kept); any other name as it is."""
    for suffix in DERIVED_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    prefix = OLD_PREFIX if name.startswith(OLD_PREFIX) else ""
    found = list_of_column(name[len(prefix) :])
    if found is not None:
        return prefix + found.key
    return name


def with_derived(names: Iterable[str], available: Iterable[str]) -> list[str]:
    """The columns of ``available`` that are one of ``names`` or derived from one, in
    ``available``'s order (a narrowed table keeps the full table's column order)."""
    wanted = set(names)
    return [column for column in available if column in wanted or base_column(column) in wanted]


def column_kind(name: str) -> str:
    """``date``, ``timestamp``, ``boolean``, ``integer``, ``enum``, ``text`` — for a meta column
    or a registry key (with or without the ``old.`` prefix) — or ``list`` for a list and its value
    columns (``integer`` for its ``__count``); ``KeyError`` for anything else."""
    name = name.removeprefix(OLD_PREFIX)
    listed = list_of_column(name)
    if listed is not None:
        if name == listed.count_column:
            return "integer"
        if name == listed.key or name in listed.value_columns:
            return "list"
        raise KeyError(name)
    meta = {
        "nct_id": "text",
        "snapshot": "text",
        "source_format": "enum",
        "ignite_created": "timestamp",
        "ignite_modified": "timestamp",
        "truncated": "boolean",
        "problems": "integer",
    }
    if name in meta:
        return meta[name]
    return str(field_types()[name])


def records_table(records: Iterable[Record], keys: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per snapshot with the columns documented in this module.

    ``keys``: build the columns of only these registry keys (and every meta column), in
    registry order — building all ~400 keys' columns is most of a wide table's cost when a
    check reads a few dozen."""
    import pandas as pd

    types = field_types()
    lists: list[ListSpec] = list(list_registry().values())
    if keys is not None:
        wanted = set(keys)
        types = {key: vtype for key, vtype in types.items() if key in wanted}
        lists = [spec for spec in lists if spec.key in wanted]
    columns: dict[str, list[Any]] = {name: [] for name in META_COLUMNS}
    for key, vtype in types.items():
        columns[key] = []
        columns[f"{key}__missing"] = []
        if vtype is not ValueType.TEXT:
            columns[f"{key}__raw"] = []
        if vtype is ValueType.DATE:
            columns[f"{key}__latest"] = []
            columns[f"{key}__precision"] = []
    list_cells = [columns.setdefault(name, []) for spec in lists for name in spec.columns]
    # Per key, what to do and the lists to fill, looked up once (not once per record and key):
    # the projected parse of a registry-sized run spends a quarter of its time in this loop.
    plan = [
        (
            key,
            vtype,
            _FITS.get(vtype, str),
            columns[key],
            columns[f"{key}__missing"],
            columns.get(f"{key}__raw"),
            columns.get(f"{key}__latest"),
            columns.get(f"{key}__precision"),
        )
        for key, vtype in types.items()
    ]
    text, date_type = ValueType.TEXT, ValueType.DATE
    for record in records:
        columns["nct_id"].append(record.nct_id)
        columns["snapshot"].append(record.source.path)
        columns["source_format"].append(str(record.source.format))
        columns["ignite_created"].append(record.ignite_created)
        columns["ignite_modified"].append(record.ignite_modified)
        columns["truncated"].append(record.truncated)
        columns["problems"].append(len(record.problems))
        get = record.get
        for key, vtype, fits, values, missings, raws, latests, precisions in plan:
            f = get(key)
            value: Any = None
            missing: str | None = None
            raw: str | None = None
            if f is not None:
                raw = f.raw
                typed = f.value
                if isinstance(typed, Missing):
                    missing = typed.literal
                elif vtype is text:
                    value = raw
                elif isinstance(typed, fits) and not (vtype is ValueType.INTEGER and isinstance(typed, bool)):
                    value = typed
            missings.append(missing)
            if raws is not None:
                raws.append(raw)
            if vtype is date_type:
                assert latests is not None and precisions is not None
                if isinstance(value, PartialDate):
                    values.append(value.earliest())
                    latests.append(value.latest())
                    precisions.append(str(value.precision))
                else:
                    values.append(None)
                    latests.append(None)
                    precisions.append(None)
            else:
                values.append(value)
        if lists:
            for cells, value in zip(list_cells, list_values(record, lists).values(), strict=True):
                cells.append(value)
    data: dict[str, pd.Series] = {}
    for name, values in columns.items():
        data[name] = pd.Series(values, dtype=_dtype(name, types), name=name)
    frame = pd.DataFrame(data)
    return frame


#: The Python type a typed value must have to fill its column (an ``int`` that is a ``bool`` does
#: not fill an integer column); text takes the raw text, so it has none.
_FITS: dict[ValueType, type | tuple[type, ...]] = {
    ValueType.DATE: PartialDate,
    ValueType.TIMESTAMP: datetime,
    ValueType.BOOLEAN: bool,
    ValueType.INTEGER: int,
    ValueType.ENUM: str,
}


def _dtype(name: str, types: dict[str, ValueType]) -> str:
    if name not in types and list_of_column(name) is not None:
        return "Int64" if name.endswith(COUNT_SUFFIX) else "string"
    if name in ("ignite_created", "ignite_modified"):
        return _DATE_DTYPE
    if name == "truncated":
        return "bool"
    if name == "problems":
        return "int64"
    if name in META_COLUMNS or name.endswith(("__missing", "__raw", "__precision")):
        return "string"
    if name.endswith("__latest"):
        return _DATE_DTYPE
    vtype = types[name]
    if vtype in (ValueType.DATE, ValueType.TIMESTAMP):
        return _DATE_DTYPE
    if vtype is ValueType.BOOLEAN:
        return "boolean"
    if vtype is ValueType.INTEGER:
        return "Int64"
    return "string"


def pairs_table(pairs: Iterable[tuple[Record, Record]], keys: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per consecutive pair: the new snapshot's columns plus ``old.<column>`` (``keys``:
    only these keys' columns, as in :func:`records_table`)."""
    olds: list[Record] = []
    news: list[Record] = []
    for old, new in pairs:
        olds.append(old)
        news.append(new)
    keys = None if keys is None else list(keys)
    return pair_frame(records_table(olds, keys), records_table(news, keys))


def pair_frame(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Join two aligned record tables (row i of ``old`` precedes row i of ``new``)."""
    import pandas as pd

    old = old.reset_index(drop=True)
    new = new.reset_index(drop=True)
    renamed = old.add_prefix(OLD_PREFIX)
    frame = pd.concat([new, renamed], axis=1)
    frame["snapshot"] = (old["snapshot"] + " -> " + new["snapshot"]).astype("string")
    return frame


def display(row: Mapping[str, Any], name: str) -> str:
    """How a value is shown in a finding's message: as the registry wrote it, with its
    precision for dates, the literal for explicit empties, ``(absent)`` when there is none.

    ``row`` maps column names to the values of one table row (``frame.to_dict("records")``)."""
    import pandas as pd

    prefix = OLD_PREFIX if name.startswith(OLD_PREFIX) else ""
    base = name.removeprefix(OLD_PREFIX)
    value = row.get(name)
    listed = list_of_column(base)
    if listed is not None:
        if name in row or base != listed.key:
            return list_text(value)
        return list_text(None, row.get(f"{prefix}{listed.count_column}"))
    if base in META_COLUMNS:
        if _absent(value):
            return ABSENT
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        return str(value)
    missing = row.get(f"{prefix}{base}__missing")
    if not _absent(missing):
        return repr(str(missing)) if missing == "" else str(missing)
    kind = column_kind(base)
    if _absent(value):
        raw = row.get(f"{prefix}{base}__raw")
        return ABSENT if _absent(raw) else f"{raw!s} (not a valid value)"
    if kind == "date":
        return _date_text(value, str(row.get(f"{prefix}{base}__precision")))
    if kind == "timestamp":
        return str(pd.Timestamp(value).isoformat(timespec="minutes"))
    return str(value)


def list_text(value: Any, count: Any = None) -> str:
    """How a list cell is shown: its items joined by ``; `` (a count column: the number), or
    ``N items`` for a list named by its key alone; ``(absent)`` when the snapshot cannot say."""

    if isinstance(value, str):
        items = decode(value)
        if not items:
            return "(no items)"
        return "; ".join("(none)" if item is None else str(item) for item in items)
    if not _absent(value):
        return str(value)
    if count is not None and not _absent(count):
        return f"{count} items"
    return ABSENT


def _absent(value: Any) -> bool:
    import pandas as pd

    if value is None or isinstance(value, str | bool):
        return value is None
    return bool(pd.isna(value))


def _date_text(value: Any, precision: str) -> str:
    day: date = value.date() if hasattr(value, "date") else value
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def python_values(series: pd.Series) -> list[Any]:
    """A column's cells as Python values: ``None`` for a missing one, ``datetime.datetime`` for a
    datetime64 cell (an ``int`` beyond datetime's years), the value itself otherwise."""
    if series.dtype.kind == "M":
        return list(series.to_numpy().astype("datetime64[us]").astype(object))
    return list(series.to_numpy(dtype=object, na_value=None))


def display_column(frame: pd.DataFrame, name: str, rows: Any) -> list[str]:
    """``[display(row, name) for each row of frame at positions rows]``, a column at a time.

    A large check shows a few values for each of hundreds of thousands of findings; a dict per
    row and a kind lookup per value (:func:`display`) were most of its cost. The values are
    the same strings, bit for bit (``tests/test_check_fast.py``); a value the fast path does not
    know (a date outside years 1–9999) is shown by :func:`display` itself."""
    import numpy as np

    positions = np.asarray(rows, dtype=np.intp)
    prefix = OLD_PREFIX if name.startswith(OLD_PREFIX) else ""
    base = name.removeprefix(OLD_PREFIX)
    companions = [f"{prefix}{base}{suffix}" for suffix in ("__missing", "__raw", "__precision")]  # shown
    listed = list_of_column(base)
    if listed is not None:  # a list is shown by its cells, or by its count
        companions = [prefix + listed.count_column]

    def slow() -> list[str]:
        names = [c for c in dict.fromkeys((name, *companions)) if c in frame.columns]
        records = frame[names].take(positions).to_dict("records") if names else [{}] * len(positions)
        return [display(row, name) for row in records]

    def objects(column: str) -> list[Any] | None:
        if column not in frame.columns:
            return None
        series = frame[column]
        if not series.notna().any():  # all missing (most __missing columns): nothing to take
            return None
        return python_values(series.take(positions))

    none: list[Any] = [None] * len(positions)
    if listed is not None and name in frame.columns:  # a list's cells: shown as list_text does
        return [list_text(cell) for cell in objects(name) or none]
    values = objects(name)
    if base in META_COLUMNS:
        if values is None:
            return [ABSENT] * len(positions)
        out = []
        timely = frame[name].dtype.kind == "M"
        for value in values:
            if value is None:
                out.append(ABSENT)
            elif timely:
                if type(value) is not datetime:  # beyond datetime's years: an int
                    return slow()
                out.append(value.isoformat(timespec="minutes"))
            else:
                out.append(str(value))
        return out
    try:
        kind = column_kind(base)
    except KeyError:
        return slow()  # display() says what is wrong with the name
    if listed is not None:
        return slow()  # list cells are few (pair and list rules): display() shows them
    missing = objects(companions[0]) or none
    raw = objects(companions[1]) or none
    precision = objects(companions[2]) or none
    values = values or none
    timely = kind in ("date", "timestamp")
    out = []
    for value, empty, text, unit in zip(values, missing, raw, precision, strict=True):
        if empty is not None:
            out.append("''" if empty == "" else str(empty))
        elif value is None:
            out.append(ABSENT if text is None else f"{text!s} (not a valid value)")
        elif timely and type(value) is not datetime:
            return slow()
        elif kind == "date":
            if unit == "year":
                out.append(f"{value.year:04d}")
            elif unit == "month":
                out.append(f"{value.year:04d}-{value.month:02d}")
            else:
                out.append(value.date().isoformat())
        elif kind == "timestamp":
            out.append(value.isoformat(timespec="minutes"))
        else:
            out.append(str(value))
    return out
