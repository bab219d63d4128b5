"""Builds records for the rule tests in ``tests/rules/*.yaml`` (sqlfluff-style rule cases), and
weakens rules for the check that every clause of every rule is needed by a case.

A case gives a record either as ``fields`` (registry key → raw text, typed exactly as a reader
would type it, through :func:`auditor.readers.typing.type_field`) with optional ``lists`` (list key →
items: mappings of sub-field → raw text, or plain values) and ``format`` (``ignite`` — the
default —, ``json`` or ``xml``: where the list items are written, and whether an absent list
means "no items"), or as ``corpus`` (a real snapshot: a path under the corpus and an NCT ID) or
``seed: true``. Pair cases give ``old`` and ``new``; history cases give ``history``, the
snapshots of one record in order. YAML anchors and ``<<:`` merge keys keep cases short.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CORPUS, SEED

from auditor.fields import registry
from auditor.list_fields import list_registry
from auditor.readers import read_one
from auditor.readers.typing import type_field
from auditor.records import Field, Record, Source, SourceFormat
from auditor.rules.cells import parse_period
from auditor.rules.compile import compile_rule
from auditor.rules.spec import ConditionSpec, RuleSpec
from auditor.values import parse_date, parse_timestamp

RULE_CASES = Path(__file__).parent / "rules"
_FORMATS = {
    "ignite": SourceFormat.IGNITE_TEXT,
    "json": SourceFormat.CTGOV_JSON,
    "xml": SourceFormat.CTGOV_XML,
}


def build_record(spec: dict[str, Any], *, path: str = "case.txt") -> Record:
    reg = registry().by_key
    fmt = _FORMATS[spec.get("format", "ignite")]
    fields = []
    for key, raw in (spec.get("fields") or {}).items():
        entry = reg[key]
        field, _ = type_field(entry.section, entry.label, "" if raw is None else str(raw), key=key)
        fields.append(field)
    for key, items in (spec.get("lists") or {}).items():
        fields.extend(_list_fields(key, items, fmt))
    return Record(
        nct_id=spec.get("nct_id", "NCT03765957"),
        source=Source(spec.get("path", path), fmt, "0" * 64),
        fields=tuple(fields),
        ignite_created=_stamp(spec.get("ignite_created")),
        ignite_modified=_stamp(spec.get("ignite_modified")),
        truncated=bool(spec.get("truncated", False)),
    )


def _list_fields(key: str, items: list[Any], fmt: SourceFormat) -> list[Field]:
    """The record fields a reader makes for a list's items, under the format's path keys."""
    spec = list_registry()[key]
    xml = fmt is SourceFormat.CTGOV_XML
    if xml and spec.xml_single:  # legacy XML's one <phase> element: "Phase 1/Phase 2"
        by_codes = {codes: text for text, codes in spec.xml_values}
        raw = by_codes[tuple(str(item) for item in items)]
        return [type_field("Misc", spec.xml_single, raw, key=spec.xml_single)[0]]
    prefix = spec.xml if xml else spec.json
    assert prefix is not None, f"list {key} has no path in this format"
    out = []
    for i, item in enumerate(items):
        values = item if isinstance(item, dict) else {"": item}
        for name, raw in values.items():
            path = (
                "" if not name else "." + next(f.xml if xml else f.json for f in spec.items if f.name == name)
            )
            item_key = f"{prefix}[{i}]{path}"
            out.append(type_field("Misc", item_key, "" if raw is None else str(raw), key=item_key)[0])
    return out


def _stamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    stamp = parse_timestamp(text)
    assert stamp is not None, f"bad timestamp in a rule case: {text!r}"
    return stamp


@cache
def corpus_records(path: str) -> dict[str, Record]:
    from auditor.readers import read_path

    return {record.nct_id: record for record in read_path(path)}


def case_record(spec: dict[str, Any]) -> Record:
    """The record a rule case names: the seed, a corpus study, or one built from the case's
    fields; skips with the reason when ../shared is missing."""
    if spec.get("seed"):
        if not SEED.is_file():
            pytest.skip(f"seed record not found at {SEED}")
        return read_one(SEED)
    if "corpus" in spec:
        path = CORPUS / spec["corpus"]["path"]
        if not path.exists():
            pytest.skip(f"corpus file not found at {path} (../shared/corpus is missing)")
        return corpus_records(str(path))[spec["corpus"]["nct_id"]]
    return build_record(spec)


def load_cases() -> dict[str, dict[str, Any]]:
    """Every rule-case document by rule id."""
    out = {}
    for file in sorted(RULE_CASES.glob("*.yaml")):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        out[document["rule"]] = document
    return out


def case_as_of(document: dict[str, Any], case: dict[str, Any]) -> date:
    return date.fromisoformat(str(case.get("as_of", document.get("as_of", "2026-01-05"))))


# ---------------------------------------------------------------- weakening a rule


#: Values a weakened ``isin`` gains, most confusable first (the first one not already listed).
_CONFUSABLE = {
    "overall_status": [
        "SUSPENDED", "UNKNOWN", "COMPLETED", "TERMINATED", "WITHDRAWN", "ENROLLING_BY_INVITATION",
        "RECRUITING", "ACTIVE_NOT_RECRUITING", "NOT_YET_RECRUITING",
    ],
    "study_type": ["OBSERVATIONAL", "INTERVENTIONAL", "EXPANDED_ACCESS"],
    "value": ["PHASE1", "EARLY_PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"],
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    """A rule weakened (or otherwise changed) in one place; ``what`` says where and how."""

    what: str
    spec: RuleSpec


def mutants(spec: RuleSpec) -> Iterator[Mutant]:
    """One clause at a time: drop a condition from an ``all`` / ``any``, drop or add a value of
    an ``isin``, change an ``eq`` value, move a number, a date, a period or a parameter's
    default by one unit (a day, a month, a year, one)."""
    line, path = spec.when.line, spec.when.path
    yield Mutant(
        "when: always true", replace(spec, when=ConditionSpec("all", {"conditions": ()}, line, path))
    )
    yield Mutant("when: never true", replace(spec, when=ConditionSpec("any", {"conditions": ()}, line, path)))
    for what, when in _condition_mutants(spec.when, "when"):
        yield Mutant(what, replace(spec, when=when))
    for name, value in spec.params.items():
        for nudged in _nudged(value):
            yield Mutant(
                f"params.{name}: {value} -> {nudged}", replace(spec, params={**spec.params, name: nudged})
            )


def _with(cond: ConditionSpec, **args: Any) -> ConditionSpec:
    return replace(cond, args={**cond.args, **args})


def _condition_mutants(cond: ConditionSpec, path: str) -> Iterator[tuple[str, ConditionSpec]]:
    here = f"{path}.{cond.op}"
    args = cond.args
    children = list(args.get("conditions", ()))
    if len(children) > 1:
        for i in range(len(children)):
            yield (
                f"{here}: drop [{i}] {children[i].op}",
                _with(cond, conditions=tuple(children[:i] + children[i + 1 :])),
            )
    for i, child in enumerate(children):
        for what, changed in _condition_mutants(child, f"{here}[{i}]"):
            yield what, _with(cond, conditions=(*children[:i], changed, *children[i + 1 :]))
    for name in ("condition", "where"):
        if name in args:
            for what, changed in _condition_mutants(args[name], f"{here}.{name}"):
                yield what, _with(cond, **{name: changed})
    if cond.op == "isin":
        values = list(args["values"])
        if len(values) > 1:
            for i, value in enumerate(values):
                yield f"{here}: drop {value}", _with(cond, values=values[:i] + values[i + 1 :])
        extra = next((v for v in _CONFUSABLE.get(args["field"], []) if v not in values), None)
        if extra is not None:
            yield f"{here}: add {extra}", _with(cond, values=[*values, extra])
    if cond.op in ("eq", "ne") and "value" in args:
        value = args["value"]
        if isinstance(value, bool):
            yield f"{here}: {value} -> {not value}", _with(cond, value=not value)
        elif isinstance(value, str) and value.startswith("$"):
            pass
        elif isinstance(value, int):
            for nudged in (value - 1, value + 1):
                if nudged >= 0:
                    yield f"{here}: {value} -> {nudged}", _with(cond, value=nudged)
        else:
            other = _other_enum(str(args["field"]).removeprefix("old."), value)
            if other is not None:
                yield f"{here}: {value} -> {other}", _with(cond, value=other)
    if cond.op in ("lt", "le", "gt", "ge") and "value" in args:
        for nudged in _nudged_value(args["value"]):
            yield f"{here}: {args['value']} -> {nudged}", _with(cond, value=nudged)
    for name in ("years", "months", "days", "times", "eq", "ne", "lt", "le", "gt", "ge"):
        value = args.get(name)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and cond.op not in ("eq", "ne", "lt", "le", "gt", "ge")
        ):
            for nudged in (value - 1, value + 1):
                if nudged >= 0:
                    yield f"{here}.{name}: {value} -> {nudged}", _with(cond, **{name: nudged})
    if isinstance(args.get("by"), str) and not args["by"].startswith("$"):
        for nudged in _nudged(args["by"]):
            yield f"{here}.by: {args['by']} -> {nudged}", _with(cond, by=nudged)


def _other_enum(key: str, value: Any) -> Any:
    if key.endswith("_date_type") or key == "enrollment_type":
        order = ["ESTIMATED", "ACTUAL"]
    elif key in _CONFUSABLE:
        order = _CONFUSABLE[key]
    else:
        entry = registry().by_key.get(key)
        order = sorted(entry.enum) if entry is not None else []
    return next((v for v in order if v != value), None)


def _nudged_value(value: Any) -> list[Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [v for v in (value - 1, value + 1) if v >= 0]
    parsed = parse_date(str(value))
    if parsed is not None and parsed.day is not None:
        day = parsed.earliest()
        return [(day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()]
    return []


def _nudged(value: Any) -> list[Any]:
    """A parameter's default or a period moved by one unit: ``2`` → 1, 3; ``1y30d`` → 1y29d, 1y31d."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [v for v in (value - 1, value + 1) if v >= 0]
    try:
        period = parse_period(value)
    except ValueError:
        return []
    unit = next((i for i in (2, 1, 0) if period[i]), 2)
    out = []
    for step in (-1, 1):
        parts = list(period)
        parts[unit] += step
        if parts[unit] >= 0:
            out.append("".join(f"{n}{u}" for n, u in zip(parts, "ymd", strict=True) if n) or "0d")
    return out


# ---------------------------------------------------------------- running a rule over its cases


def case_rows(document: dict[str, Any], load: Any) -> list[tuple[dict[str, Any], Any]]:
    """Each case with what to run it on: ``("record", record)``, ``("pair", (old, new))`` or
    ``("history", [pairs…])``; ``load`` builds a record from a case's record spec."""
    out = []
    for n, case in enumerate(document["cases"]):
        if "history" in case:
            records = [_unique(load(r), n, i) for i, r in enumerate(case["history"])]
            out.append((case, ("history", list(itertools.pairwise(records)))))
        elif "old" in case:
            out.append((case, ("pair", (_unique(load(case["old"]), n, 0), _unique(load(case["new"]), n, 1)))))
        else:
            out.append((case, ("record", _unique(load(case["record"]), n, 0))))
    return out


def _unique(record: Record, case: int, step: int) -> Record:
    """The record under a snapshot name of its own, so that many cases share one table."""
    source = replace(record.source, path=f"case{case}/{step}/{record.source.path}")
    nct_id = record.nct_id if record.nct_id != "NCT03765957" else f"NCT9{case:07d}"
    return replace(record, source=source, nct_id=nct_id, fields=record.fields)


@dataclass(frozen=True)
class CaseTables:
    """A rule's cases as tables, one per (as-of, parameters, record or pair) group, built once
    and run under every weakened rule: ``groups`` holds ``(as_of, params, frame, owners)`` where
    ``owners[row]`` is the case a table row belongs to."""

    count: int
    groups: tuple[tuple[date, dict[str, Any], Any, tuple[int, ...]], ...]


def case_tables(document: dict[str, Any], rows: list[tuple[dict[str, Any], Any]]) -> CaseTables:
    from auditor.table import pairs_table, records_table

    grouped: dict[tuple[Any, ...], list[int]] = {}
    for i, (case, (kind, _)) in enumerate(rows):
        key = (
            case_as_of(document, case),
            tuple(sorted((case.get("params") or {}).items())),
            kind == "record",
        )
        grouped.setdefault(key, []).append(i)
    groups = []
    for (as_of, params, is_record), members in grouped.items():
        if is_record:
            frame = records_table([rows[i][1][1] for i in members])
            owners = list(members)
        else:
            pairs: list[tuple[Record, Record]] = []
            owners = []
            for i in members:
                kind, data = rows[i][1]
                found = data if kind == "history" else [data]
                pairs.extend(found)
                owners.extend([i] * len(found))
            frame = pairs_table(pairs)
        groups.append((as_of, dict(params), frame, tuple(owners)))
    return CaseTables(len(rows), tuple(groups))


def outcomes(spec: RuleSpec, tables: CaseTables) -> list[bool]:
    """For each case, whether ``spec`` finds something: the rule's mask over the case tables
    (no finding is formatted)."""
    results = [False] * tables.count
    for as_of, params, frame, owners in tables.groups:
        if not len(frame):
            continue
        mask = compile_rule(spec, as_of=as_of, params=params).mask(frame).to_numpy(dtype=bool)
        for i, hit in zip(owners, mask, strict=True):
            results[i] = results[i] or bool(hit)
    return results
