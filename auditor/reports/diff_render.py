"""Renderers of a :class:`~auditor.diff.DiffResult`: pure functions ``result → str``.

One per format in :data:`RENDERERS` (``text``, ``json``, ``markdown``, ``html``); writing to
stdout or a file is the CLI's job. ``text`` is for terminals (ANSI colour only when asked);
``markdown`` escapes every value for GitHub-flavoured Markdown; ``html`` is one
self-contained page (inline CSS, no scripts, no external assets) with every value escaped.

A list item added or removed as a whole (classes ``item_added`` / ``item_removed``, see
:mod:`auditor.diff`) is one line or row in ``text``, ``markdown`` and ``html`` — "list item
added (4 fields): Sarah Cannon, Nashville, …" — and the totals count the items; ``json`` keeps
one change per field, and ``summary.items`` counts the items.

JSON schema (``--format json``), version 1 — keys are always present, in this order::

    {
      "schema": 1,
      "nct_id": "NCT…",                       # of the "after" snapshot
      "before": Snapshot, "after": Snapshot,  # in the order shown (older first)
      "swapped": bool,                        # the arguments were given newest first
      "ignored": [str],                       # key patterns treated as metadata
      "notes": [str],                         # what was not compared, and why
      "summary": {"changes": int, "flagged": int, "cosmetic": int, "metadata": int,
                  "by_class": {class: int},
                  "items": {"added": int, "removed": int}},  # whole list items

      "changes": [Change],                    # study changes, in record order
      "metadata": [Change]                    # Ignite timestamps and ignored keys
    }
    Snapshot = {"nct_id", "path", "format", "sha256", "ignite_modified": ISO str | null}
    Change = {
      "key": str, "occurrence": int,          # identity: n-th field with this key (0-based)
      "old_key": str | null,                  # key in the old record, if its list item moved
      "header": bool,                         # the Ignite page's summary copy of the field
      "section": str, "moved_from": str | null, "label": str,
      "kind": "values_changed" | "dictionary_item_added" | "dictionary_item_removed"
              | "moved_section",
      "class": SemanticClass value (status_transition, date_shifted, date_precision_changed,
               date_set, date_cleared, boolean_flipped, missing_to_value, value_to_missing,
               missing_kind_changed, text_edited, whitespace_only, format_only, enum_changed,
               number_changed, value_changed, field_added, field_removed, item_added,
               item_removed, section_moved),
      "flag": "backwards" | "into_unknown" | null,
      "summary": str,                         # the one-line description people read
      "old": Field | null, "new": Field | null,
      "days": int | null,                     # date shifts: + later, - earlier
      "similarity": float | null,             # text edits: word-level ratio 0..1
      "word_diff": [["equal"|"delete"|"insert", str]] | null
    }
    Field = {"section", "label", "raw", "type", "value", "precision"?, "missing"?, "line"?}
            (as in ``audit parse``; "value" is null for a missing value)

:data:`JSON_SCHEMA` states the same as a JSON Schema (the tests validate against it).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from auditor.diff import Change, ChangeKind, DiffResult, SemanticClass

#: Equal runs of more words than this are shortened around the edits.
CONTEXT_WORDS = 6

_MARK = {
    ChangeKind.ADDED: "+",
    ChangeKind.REMOVED: "-",
    ChangeKind.CHANGED: "~",
    ChangeKind.MOVED: ">",
}
_ANSI = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}


# --- shared helpers ------------------------------------------------------------------------


def _sections(changes: Iterable[Change]) -> list[tuple[str, list[Change]]]:
    """Changes grouped by section, sections in order of first appearance."""
    groups: dict[str, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.section, []).append(c)
    return list(groups.items())


class Row(NamedTuple):
    """One line of a report: a change, or all the fields of one list item added or removed."""

    kind: ChangeKind
    semantic: SemanticClass
    label: str
    identity: str
    summary: str
    flagged: bool = False
    moved_from: str | None = None
    word_diff: tuple[tuple[str, str], ...] = ()


#: The values listed for an added or removed list item are cut to this many characters.
ITEM_TEXT = 120
_FIRST_INDEX = re.compile(r"^[^\[]*\[\d+\]")


def _rows(changes: Iterable[Change]) -> list[Row]:
    """Report lines: a list item added or removed as a whole is one line ("list item added
    (7 fields): Sarah Cannon, Nashville, …"); every other change is its own line."""
    out: list[Row] = []
    group: list[Change] = []

    def flush() -> None:
        if group:
            out.append(_item_row(group))
            group.clear()

    for c in changes:
        if (
            c.item
            and group
            and (c.list_item, c.header, c.semantic)
            != (
                group[0].list_item,
                group[0].header,
                group[0].semantic,
            )
        ):
            flush()
        if c.item:
            group.append(c)
            continue
        flush()
        out.append(
            Row(c.kind, c.semantic, c.label, c.identity, c.summary, c.flagged, c.moved_from, c.word_diff)
        )
    flush()
    return out


def _item_row(changes: list[Change]) -> Row:
    first = changes[0]
    item = first.list_item
    assert item is not None
    m = _FIRST_INDEX.match(first.label)
    label = m.group() if m else first.label
    identity = f"{item[0]}[{item[1]}]"
    values = ", ".join(" ".join(raw.split()) for c in changes if (raw := c.new_raw or c.old_raw))
    if len(values) > ITEM_TEXT:
        values = values[: ITEM_TEXT - 1] + "…"
    verb = "added" if first.kind is ChangeKind.ADDED else "removed"
    n = len(changes)
    summary = f"list item {verb} ({n} field{'s' if n != 1 else ''}): {values}"
    return Row(first.kind, first.semantic, label, identity, summary)


def _shorten(ops: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Word-diff ops with long unchanged runs cut to a few words of context around edits."""
    out: list[tuple[str, str]] = []
    last = len(ops) - 1
    for i, (op, text) in enumerate(ops):
        words = text.split(" ")
        if op != "equal" or len(words) <= 2 * CONTEXT_WORDS:
            out.append((op, text))
            continue
        head = " ".join(words[:CONTEXT_WORDS])
        tail = " ".join(words[-CONTEXT_WORDS:])
        if i == 0:
            out.append(("equal", "… " + tail))
        elif i == last:
            out.append(("equal", head + " …"))
        else:
            out.append(("equal", f"{head} … {tail}"))
    return out


def _totals(result: DiffResult) -> str:
    n, meta = len(result.changes), len(result.metadata)
    if n == 0:
        text = "no changes"
    else:
        text = f"{n} study change{'s' if n != 1 else ''}"
        extras = []
        if result.flagged:
            extras.append(f"{len(result.flagged)} flagged")
        cosmetic = sum(1 for c in result.changes if c.cosmetic)
        if cosmetic:
            extras.append(f"{cosmetic} cosmetic")
        for verb, count in result.items().items():
            if count:
                extras.append(f"{count} list item{'s' if count != 1 else ''} {verb}")
        if extras:
            text += f" ({', '.join(extras)})"
    if meta:
        text += f"; {meta} metadata change{'s' if meta != 1 else ''}"
    return text


def _snapshot_line(record: Any) -> str:
    stamp = f", Ignite modified {record.ignite_modified:%Y-%m-%d %H:%M}" if record.ignite_modified else ""
    return f"{record.source.path} ({record.source.format}{stamp})"


# --- text ----------------------------------------------------------------------------------


def render_text(result: DiffResult, *, color: bool = False) -> str:
    """The terminal view; ANSI colours only when ``color`` (the CLI decides: TTY, NO_COLOR)."""

    def paint(text: str, *styles: str) -> str:
        if not color or not styles:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    lines = [
        paint(f"audit diff {result.nct_id}", "bold"),
        paint(f"--- before: {_one_line(_snapshot_line(result.before))}", "red"),
        paint(f"+++ after:  {_one_line(_snapshot_line(result.after))}", "green"),
    ]
    lines += [paint(f"note: {_one_line(note)}", "dim") for note in result.notes]
    for section, changes in _sections(result.changes):
        lines += ["", paint(_one_line(section), "bold")]
        for row in _rows(changes):
            lines += _text_change(row, paint, color=color)
    if result.metadata:
        lines += ["", paint("Snapshot metadata (not study changes)", "bold")]
        for row in _rows(result.metadata):
            lines += _text_change(row, paint, color=color, details=False)
    lines += ["", paint(_totals(result), "bold")]
    return "\n".join(lines) + "\n"


def _text_change(change: Row, paint: Callable[..., str], *, color: bool, details: bool = True) -> list[str]:
    """One change: a head line, and for text edits the words (``[-old-]{+new+}`` without colour)."""
    mark = _MARK[change.kind]
    style = {"+": "green", "-": "red", "~": "yellow", ">": "cyan"}[mark]
    label = _one_line(change.label)
    name = label if change.identity == label else f"{label} ({_one_line(change.identity)})"
    head = f"  {paint(mark, style)} {name}: {_one_line(change.summary)}"
    if change.moved_from and change.kind is ChangeKind.CHANGED:
        head += f" [moved from {change.moved_from}]"
    if change.flagged:
        head += " " + paint("!!", "red", "bold")
    out = [head]
    if details and change.semantic is SemanticClass.TEXT_EDITED and change.word_diff:
        parts = []
        for op, raw_text in _shorten(change.word_diff):
            text = _one_line(raw_text)
            if op == "delete":
                parts.append(paint(text, "red") if color else f"[-{text}-]")
            elif op == "insert":
                parts.append(paint(text, "green") if color else f"{{+{text}+}}")
            else:
                parts.append(text)
        out.append("      " + " ".join(parts))
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _one_line(text: str) -> str:
    """One line, with control characters (an ESC from a hostile file) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", " ".join(text.split()))


# --- json ----------------------------------------------------------------------------------


def render_json(result: DiffResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


# --- markdown ------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]|~#"})


def md_escape(text: str) -> str:
    """Text safe in a GitHub Markdown table cell: one line, HTML and Markdown escaped."""
    return html.escape(_one_line(text), quote=False).translate(_MD_SPECIAL)


def render_markdown(result: DiffResult) -> str:
    lines = [
        f"# Changes to {md_escape(result.nct_id)}",
        "",
        f"- **Before:** {md_escape(_snapshot_line(result.before))}",
        f"- **After:** {md_escape(_snapshot_line(result.after))}",
        f"- **Summary:** {md_escape(_totals(result))}",
    ]
    if result.notes:
        lines.append("")
        lines += [f"> Note: {md_escape(note)}  " for note in result.notes]
    for section, changes in _sections(result.changes):
        lines += ["", f"## {md_escape(section)}", ""]
        lines += _md_table(changes)
    if result.metadata:
        lines += ["", "## Snapshot metadata (not study changes)", ""]
        lines += _md_table(result.metadata)
    return "\n".join(lines) + "\n"


def _md_table(changes: Sequence[Change]) -> list[str]:
    rows = ["| | Field | Change | Class |", "|---|---|---|---|"]
    for c in _rows(changes):
        text = md_escape(c.summary)
        if c.flagged:
            text = f"**⚠ {text}**"
        if c.semantic is SemanticClass.TEXT_EDITED and c.word_diff:
            text += "<br>" + " ".join(_md_op(op, t) for op, t in _shorten(c.word_diff))
        label = f"{md_escape(c.label)} <code>{html.escape(c.identity)}</code>"
        mark = _MARK[c.kind].replace("-", "\u2212")
        rows.append(f"| {mark} | {label} | {text} | {md_escape(str(c.semantic))} |")
    return rows


def _md_op(op: str, text: str) -> str:
    text = md_escape(text)
    return {"delete": f"<del>{text}</del>", "insert": f"<ins>{text}</ins>"}.get(op, text)


# --- html ----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} code{font-size:.9em;color:#555}
del{background:#fdd;text-decoration:line-through} ins{background:#dfd;text-decoration:none}
.flag{color:#b00;font-weight:bold} .note{color:#666}
.k-dictionary_item_added{color:#070} .k-dictionary_item_removed{color:#a00}
"""


def render_html(result: DiffResult) -> str:
    e = html.escape
    title = f"Changes to {result.nct_id}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<ul>",
        f"<li><b>Before:</b> {e(_snapshot_line(result.before))}</li>",
        f"<li><b>After:</b> {e(_snapshot_line(result.after))}</li>",
        f"<li><b>Summary:</b> {e(_totals(result))}</li>",
        "</ul>",
    ]
    parts += [f'<p class="note">Note: {e(note)}</p>' for note in result.notes]
    for section, changes in _sections(result.changes):
        parts.append(f"<h2>{e(section)}</h2>")
        parts.append(_html_table(changes))
    if result.metadata:
        parts.append("<h2>Snapshot metadata (not study changes)</h2>")
        parts.append(_html_table(result.metadata))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_table(changes: Sequence[Change]) -> str:
    e = html.escape
    rows = ["<table><tr><th></th><th>Field</th><th>Change</th><th>Class</th></tr>"]
    for c in _rows(changes):
        text = e(c.summary)
        if c.flagged:
            text = f'<span class="flag">⚠ {text}</span>'
        if c.semantic is SemanticClass.TEXT_EDITED and c.word_diff:
            words = " ".join(
                {"delete": f"<del>{e(t)}</del>", "insert": f"<ins>{e(t)}</ins>"}.get(op, e(t))
                for op, t in _shorten(c.word_diff)
            )
            text += f"<br>{words}"
        rows.append(
            f'<tr class="k-{e(str(c.kind))}"><td>{e(_MARK[c.kind])}</td>'
            f"<td>{e(c.label)}<br><code>{e(c.identity)}</code></td>"
            f"<td>{text}</td><td>{e(str(c.semantic))}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


RENDERERS: dict[str, Callable[[DiffResult], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}


def render(result: DiffResult, fmt: str, *, color: bool = False) -> str:
    """Render ``result`` in ``fmt`` (a key of :data:`RENDERERS`)."""
    if fmt == "text":
        return render_text(result, color=color)
    return RENDERERS[fmt](result)


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
        "occurrence",
        "header",
        "section",
        "moved_from",
        "label",
        "kind",
        "class",
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
        "occurrence": {"type": "integer", "minimum": 0},
        "header": {"type": "boolean"},
        "section": {"type": "string"},
        "moved_from": _NULLABLE_STR,
        "label": {"type": "string"},
        "kind": {"enum": [str(k) for k in ChangeKind]},
        "class": {"enum": [str(s) for s in SemanticClass]},
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
#: JSON Schema (draft 2020-12) of ``render_json`` output, schema version 1.
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
        "notes",
        "summary",
        "changes",
        "metadata",
    ],
    "properties": {
        "schema": {"const": 1},
        "nct_id": {"type": "string"},
        "before": _SNAPSHOT_SCHEMA,
        "after": _SNAPSHOT_SCHEMA,
        "swapped": {"type": "boolean"},
        "ignored": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "summary": {
            "type": "object",
            "required": ["changes", "flagged", "cosmetic", "metadata", "by_class", "items"],
        },
        "changes": {"type": "array", "items": _CHANGE_SCHEMA},
        "metadata": {"type": "array", "items": _CHANGE_SCHEMA},
    },
}
