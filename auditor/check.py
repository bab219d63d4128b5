"""Records × rules → findings.

Single-record rules run over :func:`auditor.table.records_table` (one row per snapshot); pair
and history rules over :func:`auditor.table.pairs_table` (one row per consecutive pair; a
history rule reads every pair of a record, so its pairs must all be in the table, in order, as
``Store.pairs()`` gives them). Both go through
:func:`check_table`, which runs the checks of the compiled pandera schema over the frame so that
every failing row of every rule is collected, then turns each into a frozen
:class:`~auditor.findings.Finding` whose message shows the actual values (built a rule and a
column at a time: a registry-sized run has hundreds of thousands of findings).

``as_of`` is always a parameter: "today" is decided by the command line, never in here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from auditor.findings import Finding
from auditor.records import Record
from auditor.rules import RuleSet
from auditor.rules.compile import (
    CompiledRule,
    compile_rules,
    condition_columns,
    keys_read,
)
from auditor.rules.pair_ops import item_differences
from auditor.rules.spec import PLACEHOLDER, ConditionSpec, RuleSpec
from auditor.slots import slot_setters
from auditor.table import ABSENT, OLD_PREFIX, base_column, display_column, pairs_table, records_table

if TYPE_CHECKING:
    import pandas as pd

Params = Mapping[str, str | int | float] | None


def check_records(
    records: Iterable[Record], rules: RuleSet, *, params: Params = None, as_of: date
) -> list[Finding]:
    """Run the single-record rules of ``rules`` over ``records`` (a table of only the keys they
    read: a list field costs a pass over a record's keys)."""
    selected = rules.scope("record")
    if not len(selected):
        return []
    records = list(records)
    table = records_table(records, keys_read(selected))
    findings = check_table(table, selected, as_of=as_of, params=params)
    return with_lines(findings, field_lines(records))


#: ``(snapshot, nct_id)`` → key → line: where the fields of Ignite records were written.
FieldLines = dict[tuple[str, str], dict[str, int]]


def field_lines(records: Iterable[Record]) -> FieldLines:
    """Where the fields of each record were written (Ignite text keeps lines; JSON/XML none),
    by key: the line of the field :meth:`~auditor.records.Record.get` gives for a repeated key."""
    out: FieldLines = {}
    for record in records:
        if all(line is None for line in record.columns.line):
            continue
        lines = {}
        for key in dict.fromkeys(record.columns.key):
            found = record.get(key)
            if found is not None and found.line is not None:
                lines[key] = found.line
        if lines:
            out[(record.source.path, record.nct_id)] = lines
    return out


def with_lines(findings: list[Finding], lines: FieldLines) -> list[Finding]:
    """Findings with the source line of their first field that has one, so that SARIF and the
    terminal can point at it."""
    if not lines:
        return findings
    out = []
    for finding in findings:
        where = lines.get((finding.snapshot, finding.nct_id))
        line = None if where is None else next((where[k] for k in finding.fields if k in where), None)
        out.append(finding if line is None else replace(finding, line=line))
    return out


def check_pairs(
    pairs: Iterable[tuple[Record, Record]], rules: RuleSet, *, params: Params = None, as_of: date
) -> list[Finding]:
    """Run the pair and history rules of ``rules`` over ``(older, newer)`` snapshot pairs of the
    same study (a study's pairs together and in order: history rules count along them)."""
    selected = rules.scope("pair", "history")
    if not len(selected):
        return []
    return check_table(pairs_table(pairs, keys_read(selected)), selected, as_of=as_of, params=params)


def check_table(frame: pd.DataFrame, rules: RuleSet, *, as_of: date, params: Params = None) -> list[Finding]:
    """Findings of ``rules`` over a records (or pair) table, in row order then rule order.

    The table must have the columns :mod:`auditor.table` documents that the rules read (a
    narrower table is fine). A pair table (one with ``old.`` columns) runs the pair rules of
    ``rules``, any other table the single-record rules. The table's index is ignored.

    **How the rules run.** The rules compile to one pandera schema (:func:`to_schema`); each of
    its checks is run on the columns its rule reads, and the rows where it does not pass are the
    findings. This calls the checks' masks directly rather than ``schema.validate(lazy=True)``:
    the lazy validation reshapes every failing row into a failure-case report (a row per failing
    cell, stacked and unstacked), which cost three times the checks on a registry-sized table
    with tens of thousands of findings. Same rows, bit for bit (the validation path is kept as the
    reference in ``tests/oracles.py``, and ``tests/test_check_fast.py`` holds the two equal).
    """
    prepared = prepare(frame, rules, as_of=as_of, params=params)
    if prepared is None:
        return []
    frame, compiled = prepared
    return _findings(frame, compiled, failing_rows(frame, compiled))


def prepare(
    frame: pd.DataFrame, rules: RuleSet, *, as_of: date, params: Params
) -> tuple[pd.DataFrame, list[CompiledRule]] | None:
    """The table with a fresh 0..n-1 index and the compiled rules it takes (pair rules for a
    pair table, else the record rules); ``None`` when there is nothing to run."""
    is_pair_table = any(str(column).startswith(OLD_PREFIX) for column in frame.columns)
    rules = rules.scope("pair", "history") if is_pair_table else rules.scope("record")
    if frame.empty or not len(rules):
        return None
    compiled = compile_rules(list(rules), as_of=as_of, params=params)
    frame = frame.reset_index(drop=True)
    return frame, compiled


def failing_rows(frame: pd.DataFrame, compiled: list[CompiledRule]) -> list[Any]:
    """Per rule, the positions (ascending numpy array) of the rows of ``frame`` it finds."""
    import numpy as np

    columns = list(frame.columns)
    out = []
    for rule in compiled:
        try:
            # the mask the schema's check wraps (to_schema), called as the check would call it:
            # the same rows, without importing pandera (0.3 s of start-up for a one-file check)
            found = rule.mask(frame[condition_columns(rule.spec, columns)]).to_numpy(dtype=bool)
        except Exception as exc:  # the check itself raised: a bug, not a finding
            raise RuntimeError(f"rule {rule.spec.id} could not run: {exc}") from exc
        out.append(np.flatnonzero(found))
    return out


def _findings(frame: pd.DataFrame, compiled: list[CompiledRule], failing: list[Any]) -> list[Finding]:
    """The findings of each rule's failing rows, in row order then rule order.

    Built a rule at a time: the values a rule shows are formatted a column at a time
    (:func:`auditor.table.display_column`) and its message template is split once."""
    import numpy as np

    per_rule: list[list[Finding]] = []
    for rule, rows in zip(compiled, failing, strict=True):
        per_rule.append(_rule_findings(frame, rule, rows) if len(rows) else [])
    if not any(per_rule):
        return []
    rows_all = np.concatenate([np.asarray(r, dtype=np.int64) for r in failing])
    rule_all = np.concatenate([np.full(len(r), n, dtype=np.int64) for n, r in enumerate(failing)])
    nth_all = np.concatenate([np.arange(len(r), dtype=np.int64) for r in failing])
    order = np.lexsort((rule_all, rows_all))
    return [per_rule[n][i] for n, i in zip(rule_all[order].tolist(), nth_all[order].tolist(), strict=True)]


def _rule_findings(frame: pd.DataFrame, rule: CompiledRule, rows: Any) -> list[Finding]:
    spec = rule.spec
    shown, fields = finding_layout(spec)
    columns: dict[str, list[str]] = {}

    def column(name: str) -> list[str]:
        if name not in columns:
            columns[name] = display_column(frame, name, rows)
        return columns[name]

    shown_values = [[v if len(v) <= SHOWN_LIMIT else shorten(v) for v in column(name)] for name in shown]
    nct_ids = [str(v) for v in frame["nct_id"].take(rows).tolist()]
    snapshots = [str(v) for v in frame["snapshot"].take(rows).tolist()]
    n = len(rows)
    # Each finding's (name, value) pairs, made a column at a time and zipped into rows in C.
    pairs: list[tuple[tuple[str, str], ...]] = (
        list(
            zip(*[[(name, v) for v in vs] for name, vs in zip(shown, shown_values, strict=True)], strict=True)
        )
        if shown
        else [()] * n
    )
    if spec.message is None:
        as_of = f" (as of {rule.as_of.isoformat()})" if uses_as_of(spec.when) else ""
        messages = []
        head = f"{spec.title}: "
        if len(set(shown)) == len(shown) and not any(name.startswith(OLD_PREFIX) for name in shown):
            # No old./new pairs and no repeated name: default_parts is "name value" for each
            # value the record has, made a column at a time.
            texts = [
                [None if v == ABSENT else f"{name} {v}" for v in values]
                for name, values in zip(shown, shown_values, strict=True)
            ]
            for row_texts in zip(*texts, strict=True) if texts else [()] * n:
                parts = ", ".join([t for t in row_texts if t is not None])
                messages.append(f"{head}{parts or 'no values'}{as_of}")
        else:
            for row_pairs in pairs:
                parts = ", ".join(default_parts(dict(row_pairs)))
                messages.append(f"{head}{parts or 'no values'}{as_of}")
    else:
        pieces: list[Iterable[str]] = []  # per template piece: its text for every row
        shown_at = {name: i for i, name in enumerate(shown)}
        for k, piece in enumerate(PLACEHOLDER.split(spec.message)):
            if k % 2 == 0:
                pieces.append(itertools.repeat(piece, n))
            elif piece == "as_of":
                pieces.append(itertools.repeat(rule.as_of.isoformat(), n))
            elif piece in rule.params:
                pieces.append(itertools.repeat(str(rule.params[piece]), n))
            elif "(" in piece:
                pieces.append(_counted(frame, piece, rows))
            elif piece in shown_at:
                pieces.append(shown_values[shown_at[piece]])
            else:
                pieces.append([shorten(v) for v in column(piece)])
        messages = list(map("".join, zip(*pieces, strict=True)))
    make = _finding_maker()
    rule_id, severity, location, title = spec.id, spec.severity, spec.location, spec.title
    return [
        make(rule_id, severity, nct_id, snapshot, fields, message, location, title, row_pairs, None)
        for nct_id, snapshot, message, row_pairs in zip(nct_ids, snapshots, messages, pairs, strict=True)
    ]


_FINDING_FIELDS = (
    "rule_id",
    "severity",
    "nct_id",
    "snapshot",
    "fields",
    "message",
    "rule_source",
    "title",
    "values",
    "line",
)


def _counted(frame: pd.DataFrame, piece: str, rows: Any) -> list[str]:
    """A message's ``{added(locations)}`` / ``{removed(locations)}`` for the failing rows: how
    many items of the list the pair added or removed, by identity."""
    function, _, list_key = piece.rstrip(")").partition("(")
    added, removed = item_differences(frame.take(rows), list_key)
    counts = added if function == "added" else removed
    return ["?" if n < 0 else str(n) for n in counts.tolist()]


@cache
def _finding_maker() -> Callable[..., Finding]:
    """``Finding(...)``'s equal (positional, every field), about twice as fast: ``object.__new__``
    plus the slot setters (:mod:`auditor.slots`). A large check makes hundreds of thousands of
    findings."""
    setters = slot_setters(Finding, _FINDING_FIELDS)
    if setters is None:
        return Finding  # pragma: no cover - Finding changed; stay correct
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 = setters
    new = object.__new__

    def make(a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, g: Any, h: Any, i: Any, j: Any) -> Finding:
        made = new(Finding)
        s0(made, a)
        s1(made, b)
        s2(made, c)
        s3(made, d)
        s4(made, e)
        s5(made, f)
        s6(made, g)
        s7(made, h)
        s8(made, i)
        s9(made, j)
        return made

    return make


def finding_layout(spec: RuleSpec) -> tuple[list[str], tuple[str, ...]]:
    """A rule's shown columns and finding fields: the same for each of its findings, so worked
    out once per rule (walking the condition tree per finding was a tenth of a large check)."""
    referenced = spec.fields or spec.referenced_fields()
    shown = list(dict.fromkeys([*spec.referenced_fields(), *referenced]))
    # A list's columns (primary_outcomes__count, locations.facility) are one field: the list.
    fields = tuple(dict.fromkeys(base_column(name.removeprefix(OLD_PREFIX)) for name in referenced))
    return shown, fields


#: A value longer than this is shown by its head and tail (:func:`shorten`).
SHOWN_LIMIT = 240


def shorten(text: str, limit: int = SHOWN_LIMIT) -> str:
    """A long text value (a whole summary) shown by its head and tail, where cut-offs show."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]} … {text[-(limit // 3) :]}"


def default_parts(values: dict[str, str]) -> list[str]:
    """``key value`` for each value the record has; ``key old -> new`` for a pair."""
    parts = []
    for name, value in values.items():
        if name.startswith(OLD_PREFIX) and name.removeprefix(OLD_PREFIX) in values:
            continue
        old = values.get(OLD_PREFIX + name)
        if old is not None and (old != ABSENT or value != ABSENT):
            parts.append(f"{name} {old} -> {value}")
        elif old is None and value != ABSENT:
            parts.append(f"{name} {value}")
    return parts


def uses_as_of(cond: ConditionSpec) -> bool:
    if cond.op in ("older_than", "newer_than") or cond.args.get("than") == "as_of":
        return True
    children = list(cond.args.get("conditions", ()))
    if "condition" in cond.args:
        children.append(cond.args["condition"])
    return any(uses_as_of(child) for child in children)
