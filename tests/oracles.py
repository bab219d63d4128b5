"""Slow references that prove the fast production paths right (``../shared/LAYOUT.md``: one fast
path in production, its reference in ``tests/``).

* :func:`reference_check_table` — what :func:`auditor.check.check_table` computes, the slow way:
  pandera's lazy validation and its failure cases (:func:`failing_rows_lazy`), then a dict per
  failing row and :func:`auditor.table.display` per value, one message at a time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from auditor.check import Params, default_parts, finding_layout, prepare, shorten, uses_as_of
from auditor.findings import Finding
from auditor.rules import RuleSet
from auditor.rules.compile import IDENTITY_COLUMNS, CompiledRule, columns_read, condition_columns, to_schema
from auditor.rules.spec import PLACEHOLDER
from auditor.table import display, with_derived


def failing_rows_lazy(frame: pd.DataFrame, compiled: list[CompiledRule]) -> list[Any]:
    """:func:`failing_rows` by ``schema.validate(frame, lazy=True)`` and its failure cases: the
    reference the fast path is tested against."""
    import numpy as np
    import pandera.errors as pa_errors

    columns = list(frame.columns)
    out = []
    for rule in compiled:
        # One schema per rule over only the columns it reads: pandera's failure report stays
        # rows × a few columns.
        found = np.array([], dtype=np.intp)
        try:
            to_schema([rule]).validate(frame[condition_columns(rule.spec, columns)], lazy=True)
        except pa_errors.SchemaErrors as exc:
            cases = exc.failure_cases
            if cases["index"].isna().any():
                raise RuntimeError(f"rule {rule.spec.id} could not run: {exc}") from exc
            found = np.unique(cases["index"].astype("int64").to_numpy()).astype(np.intp)
        out.append(found)
    return out


def reference_check_table(
    frame: pd.DataFrame, rules: RuleSet, *, as_of: date, params: Params = None
) -> list[Finding]:
    """:func:`check_table` the slow way, kept as the reference the fast path is tested against:
    ``schema.validate(lazy=True)`` and its failure cases, then a dict per failing row and
    :func:`auditor.table.display` per value."""
    prepared = prepare(frame, rules, as_of=as_of, params=params)
    if prepared is None:
        return []
    frame, compiled = prepared
    hits = sorted(
        (int(row), number) for number, rows in enumerate(failing_rows_lazy(frame, compiled)) for row in rows
    )
    rows = rows_of_hits(frame, compiled, [(row, number, row) for row, number in hits])
    return [finding_of_row(rows[(number, row)], compiled[number]) for row, number in hits]


def rows_of_hits(
    frame: pd.DataFrame, compiled: list[CompiledRule], hits: list[tuple[int, int, Any]]
) -> dict[tuple[int, Any], dict[str, Any]]:
    """The values each finding shows, pulled out of the frame once per rule (not cell by cell)."""
    by_rule: dict[int, list[Any]] = {}
    for _, number, label in hits:
        by_rule.setdefault(number, []).append(label)
    out: dict[tuple[int, Any], dict[str, Any]] = {}
    columns = list(frame.columns)
    for number, labels in by_rule.items():
        spec = compiled[number].spec
        names = with_derived({*IDENTITY_COLUMNS, *columns_read(spec)}, columns)
        for label, row in zip(labels, frame.loc[labels, names].to_dict("records"), strict=True):
            out[(number, label)] = row
    return out


def finding_of_row(
    row: dict[str, Any], rule: CompiledRule, layout: tuple[list[str], tuple[str, ...]] | None = None
) -> Finding:
    spec = rule.spec
    shown, fields = finding_layout(spec) if layout is None else layout
    values = tuple((name, shorten(display(row, name))) for name in shown)
    return Finding(
        rule_id=spec.id,
        severity=spec.severity,
        nct_id=str(row["nct_id"]),
        snapshot=str(row["snapshot"]),
        fields=fields,
        message=message_of_row(row, rule, dict(values)),
        rule_source=spec.location,
        title=spec.title,
        values=values,
    )


def message_of_row(row: dict[str, Any], rule: CompiledRule, values: dict[str, str]) -> str:
    spec = rule.spec
    if spec.message is None:
        # Without a template: the values the record has (an `any` over six dates would
        # otherwise list five "(absent)"), and the day ages were judged on when that matters.
        shown = ", ".join(default_parts(values))
        as_of = f" (as of {rule.as_of.isoformat()})" if uses_as_of(spec.when) else ""
        return f"{spec.title}: {shown or 'no values'}{as_of}"

    def fill(match: Any) -> str:
        name = match.group(1)
        if name == "as_of":
            return rule.as_of.isoformat()
        if name in rule.params:
            return str(rule.params[name])
        if "(" in name:
            return counted(row, name)
        return values[name] if name in values else shorten(display(row, name))

    return PLACEHOLDER.sub(fill, spec.message)


def counted(row: dict[str, Any], name: str) -> str:
    """``{added(list)}`` / ``{removed(list)}`` for one pair row, worked out from its cells."""
    import json

    from auditor.list_fields import list_registry

    function, _, key = name.rstrip(")").partition("(")
    spec = list_registry()[key]

    def identities(prefix: str) -> set[tuple[str, ...]] | None:
        if not isinstance(row.get(prefix + spec.count_column), int | np.integer):
            return None
        cells = [json.loads(row[prefix + spec.item_column(n)]) for n in spec.identity or spec.item_names]
        items = {
            tuple(" ".join(str(v or "").split()).casefold() for v in item)
            for item in zip(*cells, strict=True)
        }
        return {item for item in items if any(item)}

    new, old = identities(""), identities("old.")
    if new is None or old is None:
        return "?"
    return str(len(new - old) if function == "added" else len(old - new))
