"""Rule specs → vectorized masks → one pandera ``DataFrameSchema`` per scope.

Binding happens here, not at load time: parameters (defaults overridden by ``--param``) and
``as_of`` are substituted into the operators' arguments, and each rule becomes a function
``frame -> boolean Series`` (``True`` = this row has the problem). The pandera schema wraps each
as a :class:`pandera.Check` named by the rule id that *passes* where the mask is ``False``;
validating lazily collects every failing row of every rule in one pass. Running the same schema
per partition is how a Dask engine reuses it (rows are independent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from auditor.errors import UsageError
from auditor.list_fields import list_registry
from auditor.rules.cells import Period
from auditor.rules.conditions import item_fields, item_scope
from auditor.rules.operators import OPERATORS
from auditor.rules.params import Overrides, effective_params
from auditor.rules.spec import PLACEHOLDER, ArgumentError, ConditionSpec, RuleSpec, resolve_args
from auditor.table import OLD_PREFIX, base_column, with_derived

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

Mask = Callable[["pd.DataFrame"], "pd.Series"]


@dataclass(frozen=True)
class CompiledRule:
    """A rule bound to its effective parameters and ``as_of``; ``mask(frame)`` finds problems."""

    spec: RuleSpec
    params: dict[str, Any]
    as_of: date
    mask: Mask = field(repr=False, compare=False)


def bind(cond: ConditionSpec, scope: str, params: dict[str, Any], as_of: date) -> Mask:
    """Turn a condition spec into a mask function, children first."""
    try:
        args = resolve_args(cond, scope, params, as_of)
    except ArgumentError as exc:
        where = f"{cond.path}.{exc.argument}" if exc.argument else cond.path
        raise UsageError(f"{where}: {exc.message}") from None
    if any(unit in args for unit in ("years", "months", "days")):
        _check_period(cond, Period(args.get("years", 0), args.get("months", 0), args.get("days", 0)), as_of)
    if isinstance(args.get("by"), Period):
        _check_period(cond, args["by"], as_of)
    if "conditions" in args:
        args["conditions"] = tuple(bind(child, scope, params, as_of) for child in args["conditions"])
    if "condition" in args:
        args["condition"] = bind(args["condition"], scope, params, as_of)
    if "where" in args:
        args["item_fields"] = item_fields(args["where"])
        args["where"] = bind(args["where"], item_scope(args["list"]), params, as_of)
    function = OPERATORS[cond.op].fn

    def mask(frame: pd.DataFrame) -> pd.Series:
        return function(frame, args)

    return mask


def _check_period(cond: ConditionSpec, period: Period, as_of: date) -> None:
    """A period reaching beyond the dates pandas can hold (``years: 99999``) is a usage error
    here, before any input is read, instead of a failure of the rule on the first record."""
    import pandas as pd

    try:
        pd.Timestamp(as_of) - period.offset()
        pd.Timestamp(as_of) + period.offset()
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise UsageError(
            f"{cond.path}: the period reaches before the year 1678 (or after 2261); give a shorter one"
        ) from None


def compile_rule(spec: RuleSpec, *, as_of: date, params: Overrides = None) -> CompiledRule:
    """``spec`` bound to ``as_of`` and its parameters (``params``: overrides by bare or
    ``rule-id.name`` name, see :mod:`.params`); a value that does not fit is a usage error."""
    effective = effective_params(spec, params)
    try:
        return CompiledRule(spec, effective, as_of, bind(spec.when, spec.scope, effective, as_of))
    except UsageError as exc:
        if params:
            raise UsageError(f"rule {spec.id}: {exc.message}") from None
        raise


def compile_rules(specs: Sequence[RuleSpec], *, as_of: date, params: Overrides = None) -> list[CompiledRule]:
    return [compile_rule(spec, as_of=as_of, params=params) for spec in specs]


#: The columns every finding shows besides the rule's own: who and which snapshot.
IDENTITY_COLUMNS = ("nct_id", "snapshot")


def columns_read(spec: RuleSpec) -> frozenset[str]:
    """Every column name a rule reads — its condition's fields, its ``fields`` and the names in
    its message template (not ``as_of`` or its parameters) — with the ``old.`` prefix of pair
    rules kept. The one answer to "which columns does a rule need": the check, the finding
    messages, the projection and the cache all ask here."""
    names = {*spec.referenced_fields(), *spec.fields}
    for name in PLACEHOLDER.findall(spec.message or ""):
        if "(" in name:  # added(locations): both snapshots' counts and item identities
            list_key = name.rstrip(")").partition("(")[2]
            found = list_registry()[list_key]
            identity = found.identity or found.item_names
            names.update(
                OLD_PREFIX * old + column
                for column in (found.count_column, *map(found.item_column, identity))
                for old in (0, 1)
            )
        else:
            names.add(name)
    names.discard("as_of")
    names.difference_update(spec.params)
    return frozenset(names)


def keys_read(specs: Iterable[RuleSpec]) -> frozenset[str]:
    """The record columns (registry keys and meta columns) a set of rules reads, ``old.`` prefix
    dropped: what a records table (or a projection of the inputs) must hold for them."""
    return frozenset(
        base_column(name.removeprefix(OLD_PREFIX)) for spec in specs for name in columns_read(spec)
    )


def lists_read(specs: Iterable[RuleSpec]) -> frozenset[str]:
    """The list fields (``auditor/data/list_fields.yaml``) a set of rules reads. The projection
    of the inputs builds registered scalar fields only, so a run that reads a list takes the
    full reader (``auditor.parallel.projection_for`` says so by returning ``None``)."""
    return keys_read(specs) & frozenset(list_registry())


def table_columns(specs: Iterable[RuleSpec], available: Sequence[str]) -> list[str]:
    """The columns of ``available`` the rules can read, in table order: the identity columns,
    ``source_format``, every column the rules read and the columns derived from them, for the
    new snapshot and (pair tables) the old one. ``problems`` only when a rule names it: only the
    full reader can give it, so naming it turns the projection off."""
    specs = list(specs)
    names = {name.removeprefix(OLD_PREFIX) for spec in specs for name in columns_read(spec)}
    names |= {*IDENTITY_COLUMNS, "source_format"}
    # A list's columns exactly as the rules read them (not its long descriptions); a scalar key
    # with its derived columns.
    return with_derived(names | {OLD_PREFIX + name for name in names}, available)


def condition_columns(spec: RuleSpec, available: Sequence[str]) -> list[str]:
    """The columns a rule's condition reads and their derived columns, in table order: all its
    check is given (pandera copies whole failing rows, so every other column would cost)."""
    return with_derived(spec.referenced_fields(), available)


def to_schema(compiled: Sequence[CompiledRule]) -> pa.DataFrameSchema:
    """One pandera schema whose checks are the rules, in order (``check_number`` = position)."""
    import pandera.pandas as pa

    checks = [
        pa.Check(_passes(rule.mask), name=rule.spec.id, error=rule.spec.id, ignore_na=False)
        for rule in compiled
    ]
    return pa.DataFrameSchema(checks=checks, name="auditor-rules")


def _passes(mask: Mask) -> Callable[[pd.DataFrame], pd.Series]:
    def check(frame: pd.DataFrame) -> pd.Series:
        result: pd.Series = ~mask(frame)
        return result

    return check
