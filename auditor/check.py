"""Records × rules → findings.

Single-record rules run over :func:`auditor.table.records_table` (one row per snapshot); pair
rules over :func:`auditor.table.pairs_table` (one row per consecutive pair). Both go through
:func:`check_table`, which validates the frame lazily against the compiled pandera schema so that
every failing row of every rule is collected, then turns each into a frozen
:class:`~auditor.findings.Finding` whose message shows the actual values.

``as_of`` is always a parameter: "today" is decided by the command line, never in here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from auditor.findings import Finding
from auditor.records import Record
from auditor.rules import RuleSet
from auditor.rules.compile import AUX_SUFFIXES, CompiledRule, compile_rules, needed_columns, to_schema
from auditor.rules.spec import PLACEHOLDER, ConditionSpec, RuleSpec
from auditor.table import ABSENT, OLD_PREFIX, display

if TYPE_CHECKING:
    import pandas as pd

Params = Mapping[str, str | int | float] | None


def check_records(
    records: Iterable[Record], rules: RuleSet, *, params: Params = None, as_of: date
) -> list[Finding]:
    """Run the single-record rules of ``rules`` over ``records``."""
    from auditor.table import records_table

    selected = rules.scope("record")
    if not len(selected):
        return []
    records = list(records)
    findings = check_table(records_table(records), selected, as_of=as_of, params=params)
    return with_lines(findings, records)


def with_lines(findings: list[Finding], records: list[Record]) -> list[Finding]:
    """Findings with the source line of their first field that has one (Ignite text keeps
    lines), so that SARIF and the terminal can point at it."""
    by_snapshot = {(r.source.path, r.nct_id): r for r in records}
    out = []
    for finding in findings:
        record = by_snapshot.get((finding.snapshot, finding.nct_id))
        line = None
        if record is not None:
            for key in finding.fields:
                field = record.get(key)
                if field is not None and field.line is not None:
                    line = field.line
                    break
        out.append(finding if line is None else replace(finding, line=line))
    return out


def check_pairs(
    pairs: Iterable[tuple[Record, Record]], rules: RuleSet, *, params: Params = None, as_of: date
) -> list[Finding]:
    """Run the pair rules of ``rules`` over ``(older, newer)`` snapshot pairs of the same study."""
    from auditor.table import pairs_table

    selected = rules.scope("pair")
    if not len(selected):
        return []
    return check_table(pairs_table(pairs), selected, as_of=as_of, params=params)


def check_table(frame: pd.DataFrame, rules: RuleSet, *, as_of: date, params: Params = None) -> list[Finding]:
    """Findings of ``rules`` over a records (or pair) table, in row order then rule order.

    The table must have the columns :mod:`auditor.table` documents that the rules read (a
    narrower table is fine). A pair table (one with ``old.`` columns) runs the pair rules of
    ``rules``, any other table the single-record rules. The table's index is ignored.
    """
    import pandera.errors as pa_errors

    is_pair_table = any(str(column).startswith(OLD_PREFIX) for column in frame.columns)
    rules = rules.scope("pair" if is_pair_table else "record")
    if frame.empty or not len(rules):
        return []
    compiled = compile_rules(list(rules), as_of=as_of, params=params)
    frame = frame.reset_index(drop=True)
    hits: list[tuple[int, int, Any]] = []
    columns = list(frame.columns)
    for number, rule in enumerate(compiled):
        # One schema per rule over only the columns it reads: the same checks as
        # to_schema(compiled), but pandera's failure report stays rows × a few columns.
        schema = to_schema([rule])
        try:
            schema.validate(frame[needed_columns(rule.spec, columns)], lazy=True)
        except pa_errors.SchemaErrors as exc:
            cases = exc.failure_cases
            if cases["index"].isna().any():  # the check itself raised: a bug, not a finding
                raise RuntimeError(f"rule {rule.spec.id} could not run: {exc}") from exc
            failing = cases["index"].drop_duplicates()
            hits.extend((int(label), number, label) for label in failing)
    hits.sort(key=lambda hit: (hit[0], hit[1]))
    rows = _rows(frame, compiled, hits)
    layouts = {number: _layout(compiled[number].spec) for number in {hit[1] for hit in hits}}
    return [_finding(rows[(number, label)], compiled[number], layouts[number]) for _, number, label in hits]


def _rows(
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
        wanted = {"nct_id", "snapshot", *spec.fields, *PLACEHOLDER.findall(spec.message or "")}
        names = list(dict.fromkeys([*needed_columns(spec, columns), *_with_aux(wanted, columns)]))
        for label, row in zip(labels, frame.loc[labels, names].to_dict("records"), strict=True):
            out[(number, label)] = row
    return out


def _with_aux(names: set[str], columns: list[str]) -> list[str]:
    present = set(columns)
    return [n + s for n in names for s in ("", *AUX_SUFFIXES) if n + s in present]


def _layout(spec: RuleSpec) -> tuple[list[str], tuple[str, ...]]:
    """A rule's shown columns and finding fields: the same for each of its findings, so worked
    out once per rule (walking the condition tree per finding was a tenth of a large check)."""
    referenced = spec.fields or spec.referenced_fields()
    shown = list(dict.fromkeys([*spec.referenced_fields(), *referenced]))
    fields = tuple(dict.fromkeys(name.removeprefix(OLD_PREFIX) for name in referenced))
    return shown, fields


def _finding(
    row: dict[str, Any], rule: CompiledRule, layout: tuple[list[str], tuple[str, ...]] | None = None
) -> Finding:
    spec = rule.spec
    shown, fields = _layout(spec) if layout is None else layout
    values = tuple((name, shorten(display(row, name))) for name in shown)
    return Finding(
        rule_id=spec.id,
        severity=spec.severity,
        nct_id=str(row["nct_id"]),
        snapshot=str(row["snapshot"]),
        fields=fields,
        message=_message(row, rule, dict(values)),
        rule_source=spec.location,
        title=spec.title,
        values=values,
    )


def shorten(text: str, limit: int = 240) -> str:
    """A long text value (a whole summary) shown by its head and tail, where cut-offs show."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]} … {text[-(limit // 3) :]}"


def _default_parts(values: dict[str, str]) -> list[str]:
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


def _uses_as_of(cond: ConditionSpec) -> bool:
    if cond.op in ("older_than", "newer_than"):
        return True
    children = list(cond.args.get("conditions", ()))
    if "condition" in cond.args:
        children.append(cond.args["condition"])
    return any(_uses_as_of(child) for child in children)


def _message(row: dict[str, Any], rule: CompiledRule, values: dict[str, str]) -> str:
    spec = rule.spec
    if spec.message is None:
        # Without a template: the values the record has (an `any` over six dates would
        # otherwise list five "(absent)"), and the day ages were judged on when that matters.
        shown = ", ".join(_default_parts(values))
        as_of = f" (as of {rule.as_of.isoformat()})" if _uses_as_of(spec.when) else ""
        return f"{spec.title}: {shown or 'no values'}{as_of}"

    def fill(match: Any) -> str:
        name = match.group(1)
        if name == "as_of":
            return rule.as_of.isoformat()
        if name in rule.params:
            return str(rule.params[name])
        return values[name] if name in values else shorten(display(row, name))

    return PLACEHOLDER.sub(fill, spec.message)
