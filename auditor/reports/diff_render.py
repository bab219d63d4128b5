"""Renderers of a :class:`~auditor.diff.DiffResult` and a :class:`~auditor.diff.BatchResult`:
pure functions ``result → str``.

One per format in :data:`RENDERERS` (``text``, ``json``, ``markdown``, ``html`` — the HTML page
lives in :mod:`auditor.reports.diff_html`); writing to stdout or a file is the CLI's job.
``text`` is for terminals (ANSI colour only when asked); ``markdown`` escapes every value for
GitHub-flavoured Markdown.

Every format leads with the headline (status transition, stop reason, enrollment change, date
slips: :mod:`auditor.diff.headline`) and the count of changes per ClinicalTrials.gov module,
then the report lines (:mod:`auditor.diff.lines`: list items named, moves and reorders in one
line, mass edits summarised unless ``details``) grouped by module, each with its grade.

JSON schema (``--format json``), version 2 — keys are always present, in this order::

    {
      "schema": 2,
      "nct_id": "NCT…",                       # of the "after" snapshot
      "before": Snapshot, "after": Snapshot,  # in the order shown (older first)
      "swapped": bool,                        # the arguments were given newest first
      "ignored": [str],                       # key patterns treated as metadata (besides the
                                              # capture dates, always metadata)
      "min_grade": "material"|"minor"|"administrative"|"cosmetic",
      "notes": [str],                         # what was not compared, and why
      "headline": {"status": {"old", "new", "alarm"} | null,
                   "enrollment": {"old", "new", "old_type", "new_type", "percent"} | null,
                   "date_slips": [{"key", "old", "new", "gap"}], "stop_reason": str | null,
                   "by_module": {module: int}, "by_grade": {grade: int}},
      "summary": {"changes": int, "flagged": int, "cosmetic": int, "metadata": int,
                  "repeated": int, "hidden": int,   # summary-block repeats; below min_grade
                  "by_class": {class: int}, "by_module": {module: int},
                  "by_grade": {grade: int},
                  "items": {"added": int, "removed": int}},  # whole list items
      "changes": [Change],                    # study changes, in record order
      "metadata": [Change],                   # Ignite timestamps, capture dates, ignored keys
      "repeated": [Change]                    # the summary block's copies of body changes
    }
    Snapshot = {"nct_id", "path", "format", "sha256", "ignite_modified": ISO str | null}
    Change = {
      "key": str, "occurrence": int,          # identity: n-th field with this key (0-based)
      "old_key": str | null,                  # key in the old record, if its list item moved
      "item_moved": bool,                     # its item moved out of order (every field listed)
      "header": bool,                         # the Ignite page's summary copy of the field
      "section": str, "moved_from": str | null, "label": str,
      "kind": "values_changed" | "dictionary_item_added" | "dictionary_item_removed"
              | "moved_section" | "iterable_item_moved",
      "class": SemanticClass value (status_transition, date_shifted, date_precision_changed,
               date_set, date_cleared, boolean_flipped, missing_to_value, value_to_missing,
               missing_kind_changed, text_edited, whitespace_only, format_only,
               url_scheme_only, enum_changed, number_changed, value_changed, field_added,
               field_removed, item_added, item_removed, item_moved, section_moved),
      "module": str,                          # ClinicalTrials.gov History-of-Changes module
      "grade": "material" | "minor" | "administrative" | "cosmetic",
      "flag": "backwards" | "into_unknown" | null,
      "summary": str,                         # the one-line description people read
      "old": Field | null, "new": Field | null,
      "days": int | null,                     # date shifts: + later, - earlier
      "similarity": float | null,             # text edits: word-level ratio 0..1
      "word_diff": [["equal"|"delete"|"insert", str]] | null
    }
    Field = {"section", "label", "raw", "type", "value", "precision"?, "missing"?, "line"?}
            (as in ``audit parse``; "value" is null for a missing value)

:data:`JSON_SCHEMA` states the same as a JSON Schema (the tests validate against it). A batch
(``audit diff OLD_DIR NEW_DIR``) is ``BatchResult.to_dict()``: ``{"schema": 1, "min_grade",
"summary": {"studies", "by_state", "by_module", "studies_by_module", "by_grade",
"by_sponsor", "status_transitions"}, "studies": [{"nct_id", "state", "sponsor", "error",
"diff": <the document above> | null}]}``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from auditor.diff import BatchResult, ChangeKind, DiffResult, Grade, SemanticClass
from auditor.diff.lines import Line, report_lines
from auditor.diff.modules import module_table
from auditor.reports.diff_html import render_batch_html, render_html
from auditor.reports.diff_parts import (
    LEGEND,
    batch_problems,
    batch_rollup,
    batch_totals,
    headline_lines,
    modules,
    notes,
    one_line,
    shorten,
    snapshot_line,
    totals,
)

_ANSI = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}
_MARK_STYLE = {"+": "green", "-": "red", "~": "yellow", ">": "cyan"}
_GRADE_STYLE = {
    "material": ("red", "bold"),
    "minor": ("yellow",),
    "administrative": ("dim",),
    "cosmetic": ("dim",),
}

# --- text ----------------------------------------------------------------------------------


def _painter(color: bool) -> Callable[..., str]:
    def paint(text: str, *styles: str) -> str:
        if not color or not styles:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    return paint


def render_text(result: DiffResult, *, color: bool = False, details: bool = False) -> str:
    """The terminal view; ANSI colours only when ``color`` (the CLI decides: TTY, NO_COLOR)."""
    return "\n".join(_text_lines(result, _painter(color), color=color, details=details)) + "\n"


def _text_lines(result: DiffResult, paint: Callable[..., str], *, color: bool, details: bool) -> list[str]:
    lines = [
        paint(f"audit diff {result.nct_id}", "bold"),
        paint(f"--- before: {one_line(snapshot_line(result.before))}", "red"),
        paint(f"+++ after:  {one_line(snapshot_line(result.after))}", "green"),
    ]
    lines += [paint(f"note: {one_line(note)}", "dim") for note in notes(result)]
    head = headline_lines(result)
    if head:
        lines += ["", paint("Headline", "bold")]
        lines += [f"  {one_line(h)}" for h in head]
    for module, group in modules(report_lines(result, details=details)):
        lines += ["", paint(one_line(module), "bold")]
        for line in group:
            lines += _text_line(line, paint, color=color)
    if result.metadata:
        lines += ["", paint("Snapshot metadata (not study changes)", "bold")]
        for line in report_lines(result, result.metadata, details=True):
            lines += _text_line(line, paint, color=color, words=False, graded=False)
    lines += ["", paint(totals(result), "bold")]
    return lines


def _text_line(
    line: Line, paint: Callable[..., str], *, color: bool, words: bool = True, graded: bool = True
) -> list[str]:
    """One line: mark, grade, label, summary; for text edits the words (``[-old-]{+new+}``)."""
    label = one_line(line.label)
    name = label if line.identity == label else f"{label} ({one_line(line.identity)})"
    grade = paint(f"[{line.grade}] ", *_GRADE_STYLE[str(line.grade)]) if graded else ""
    head = f"  {paint(line.mark, _MARK_STYLE[line.mark])} {grade}{name}: {one_line(line.summary)}"
    if line.moved_from and line.mark == "~":
        head += f" [moved from {line.moved_from}]"
    if line.flagged:
        head += " " + paint("!!", "red", "bold")
    out = [head]
    if words and line.word_diff:
        parts = []
        for op, raw_text in shorten(line.word_diff):
            text = one_line(raw_text)
            if op == "delete":
                parts.append(paint(text, "red") if color else f"[-{text}-]")
            elif op == "insert":
                parts.append(paint(text, "green") if color else f"{{+{text}+}}")
            else:
                parts.append(text)
        out.append("      " + " ".join(parts))
    return out


def render_batch_text(batch: BatchResult, *, color: bool = False, details: bool = False) -> str:
    """The registry-wide roll-up, then one section per changed study."""
    paint = _painter(color)
    lines = [paint("audit diff: " + batch_totals(batch), "bold")]
    lines += [f"  {one_line(line)}" for line in batch_rollup(batch)]
    lines += [f"  {one_line(line)}" for line in batch_problems(batch)]
    for study in batch.changed:
        assert study.result is not None
        lines += ["", "=" * 78]
        lines += _text_lines(study.result, paint, color=color, details=details)
    return "\n".join(lines) + "\n"


# --- json ----------------------------------------------------------------------------------


def render_json(result: DiffResult, *, details: bool = False) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_batch_json(batch: BatchResult, *, details: bool = False) -> str:
    return json.dumps(batch.to_dict(), indent=2, ensure_ascii=False) + "\n"


# --- markdown ------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]|~#"})


def md_escape(text: str) -> str:
    """Text safe in a GitHub Markdown table cell: one line, HTML and Markdown escaped."""
    return html.escape(one_line(text), quote=False).translate(_MD_SPECIAL)


def render_markdown(result: DiffResult, *, details: bool = False, level: int = 1) -> str:
    h = "#" * level
    lines = [
        f"{h} Changes to {md_escape(result.nct_id)}",
        "",
        f"- **Before:** {md_escape(snapshot_line(result.before))}",
        f"- **After:** {md_escape(snapshot_line(result.after))}",
        f"- **Summary:** {md_escape(totals(result))}",
    ]
    lines += [f"- **Headline:** {md_escape(line)}" for line in headline_lines(result)]
    if notes(result):
        lines.append("")
        lines += [f"> Note: {md_escape(note)}  " for note in notes(result)]
    for module, group in modules(report_lines(result, details=details)):
        lines += ["", f"{h}# {md_escape(module)}", ""]
        lines += _md_table(group)
    if result.metadata:
        lines += ["", f"{h}# Snapshot metadata (not study changes)", ""]
        lines += _md_table(report_lines(result, result.metadata, details=True))
    lines += ["", f"_{md_escape(LEGEND)}_"]
    return "\n".join(lines) + "\n"


def _md_table(lines: Sequence[Line]) -> list[str]:
    rows = ["| | Field | Change | Grade |", "|---|---|---|---|"]
    for line in lines:
        text = md_escape(line.summary)
        if line.flagged:
            text = f"**⚠ {text}**"
        if line.word_diff:
            text += "<br>" + " ".join(_md_op(op, t) for op, t in shorten(line.word_diff))
        label = f"{md_escape(line.label)} <code>{html.escape(line.identity)}</code>"
        mark = line.mark.replace("-", "\u2212")
        rows.append(f"| {mark} | {label} | {text} | {md_escape(str(line.grade))} |")
    return rows


def _md_op(op: str, text: str) -> str:
    text = md_escape(text)
    return {"delete": f"<del>{text}</del>", "insert": f"<ins>{text}</ins>"}.get(op, text)


def render_batch_markdown(batch: BatchResult, *, details: bool = False) -> str:
    lines = [f"# audit diff: {md_escape(batch_totals(batch))}", ""]
    lines += [f"- {md_escape(line)}" for line in (*batch_rollup(batch), *batch_problems(batch))]
    out = "\n".join(lines) + "\n"
    for study in batch.changed:
        assert study.result is not None
        out += "\n" + render_markdown(study.result, details=details, level=2)
    return out


# --- dispatch ------------------------------------------------------------------------------


def render(result: DiffResult, fmt: str, *, color: bool = False, details: bool = False) -> str:
    """Render ``result`` in ``fmt`` (a key of :data:`RENDERERS`)."""
    if fmt == "text":
        return render_text(result, color=color, details=details)
    return RENDERERS[fmt](result, details=details)


def render_batch(batch: BatchResult, fmt: str, *, color: bool = False, details: bool = False) -> str:
    if fmt == "text":
        return render_batch_text(batch, color=color, details=details)
    return BATCH_RENDERERS[fmt](batch, details=details)


_NULLABLE_STR = {"type": ["string", "null"]}
_FIELD_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["section", "label", "raw", "type", "value"],
    "properties": {"section": {"type": "string"}, "label": {"type": "string"}, "raw": {"type": "string"}},
}
_CHANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "key",
        "old_key",
        "item_moved",
        "occurrence",
        "header",
        "section",
        "moved_from",
        "label",
        "kind",
        "class",
        "module",
        "grade",
        "flag",
        "summary",
        "old",
        "new",
        "days",
        "similarity",
        "word_diff",
    ],
    "properties": {
        "key": {"type": "string"},
        "old_key": _NULLABLE_STR,
        "item_moved": {"type": "boolean"},
        "occurrence": {"type": "integer", "minimum": 0},
        "header": {"type": "boolean"},
        "section": {"type": "string"},
        "moved_from": _NULLABLE_STR,
        "label": {"type": "string"},
        "kind": {"enum": [str(k) for k in ChangeKind]},
        "class": {"enum": [str(s) for s in SemanticClass]},
        "module": {"enum": list(module_table().labels)},
        "grade": {"enum": [str(g) for g in Grade]},
        "flag": {"enum": ["backwards", "into_unknown", None]},
        "summary": {"type": "string"},
        "old": _FIELD_SCHEMA,
        "new": _FIELD_SCHEMA,
        "days": {"type": ["integer", "null"]},
        "similarity": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "word_diff": {
            "type": ["array", "null"],
            "items": {
                "type": "array",
                "prefixItems": [{"enum": ["equal", "delete", "insert"]}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        },
    },
}
_SNAPSHOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["nct_id", "path", "format", "sha256", "ignite_modified"],
    "properties": {"ignite_modified": _NULLABLE_STR},
}
#: JSON Schema (draft 2020-12) of ``render_json`` output, schema version 2.
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema",
        "nct_id",
        "before",
        "after",
        "swapped",
        "ignored",
        "min_grade",
        "notes",
        "headline",
        "summary",
        "changes",
        "metadata",
        "repeated",
    ],
    "properties": {
        "schema": {"const": 2},
        "nct_id": {"type": "string"},
        "before": _SNAPSHOT_SCHEMA,
        "after": _SNAPSHOT_SCHEMA,
        "swapped": {"type": "boolean"},
        "ignored": {"type": "array", "items": {"type": "string"}},
        "min_grade": {"enum": [str(g) for g in Grade]},
        "headline": {
            "type": "object",
            "required": ["status", "enrollment", "date_slips", "stop_reason", "by_module", "by_grade"],
        },
        "notes": {"type": "array", "items": {"type": "string"}},
        "summary": {
            "type": "object",
            "required": [
                "changes",
                "flagged",
                "cosmetic",
                "metadata",
                "repeated",
                "hidden",
                "by_class",
                "by_module",
                "by_grade",
                "items",
            ],
        },
        "changes": {"type": "array", "items": _CHANGE_SCHEMA},
        "metadata": {"type": "array", "items": _CHANGE_SCHEMA},
        "repeated": {"type": "array", "items": _CHANGE_SCHEMA},
    },
}


RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}
BATCH_RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_batch_text,
    "json": render_batch_json,
    "markdown": render_batch_markdown,
    "html": render_batch_html,
}
