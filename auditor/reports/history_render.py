"""Render record timelines (``audit history``) as terminal text, JSON, Markdown or HTML.

Pure functions ``list[RecordHistory] → str``, one per format, listed in :data:`RENDERERS`.
Every value in HTML is escaped. A snapshot with no ordering date is shown as "position
unknown: no date in the snapshot" (the store puts it last). Text, Markdown and HTML list at most
:data:`NOTABLE_SHOWN` notable changes per step and say how many more there are; JSON lists all.

JSON shape (``"schema": 1``)::

    {"schema": 1,
     "records": [{"nct_id", "snapshots": int,
                  "steps": [{"number", "nct_id", "path", "sha256", "format",
                             "ignite_created", "ignite_modified",   # ISO minutes or null
                             "modified", "tiebreak",                # the ordering dates
                             "registry_updated", "content_sha", "status",
                             "position_known",                      # false: no ordering date,
                                                                    # put last by when added
                             "changes": null                        # the first snapshot
                                 | {"total", "cosmetic", "by_class": {class: n},
                                    "notable": [{"key", "label", "class", "flag", "days",
                                                 "old", "new", "summary"}],
                                    "notes": [str]}}],
                  "findings": [Finding.to_dict()]}]}
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence

from auditor.history import HistoryStep, RecordHistory, to_document
from auditor.records import SourceFormat
from auditor.reports.diff_html import nav_line
from auditor.reports.staleness_html import CSP

NOTABLE_SHOWN = 12


def _dates(step: HistoryStep) -> str:
    e = step.entry
    unknown = step.position_note
    if unknown is not None:
        return unknown
    if e.format in (SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE):
        created = f" (created {e.tiebreak.replace('T', ' ')})" if e.tiebreak else ""
        return f"Ignite modified {e.modified.replace('T', ' ') or 'unknown'}{created}"
    captured = f" (captured {e.tiebreak})" if e.tiebreak else ""
    return f"registry updated {e.modified or 'unknown'}{captured}"


def _counts(step: HistoryStep) -> str:
    if step.first:
        return "first snapshot"
    if not step.changes:
        return "no change"
    parts = ", ".join(f"{name} {n}" for name, n in step.by_class.items())
    total = len(step.changes)
    return f"{total} change{'s' if total != 1 else ''}: {parts}"


def _notable_lines(step: HistoryStep) -> tuple[list[str], int]:
    notable = step.notable
    lines = [f"{'!' if c.flagged else '·'} {c.label}: {c.summary}" for c in notable[:NOTABLE_SHOWN]]
    return lines, max(0, len(notable) - NOTABLE_SHOWN)


def render_text(items: Sequence[RecordHistory]) -> str:
    out: list[str] = []
    for h in items:
        out.append(f"{h.nct_id}: {len(h.steps)} snapshot{'s' if len(h.steps) != 1 else ''}")
        for step in h.steps:
            status = f"  status {step.status}" if step.status else ""
            out.append(f"  {step.number:>3}. {_dates(step)}  [{step.entry.format}]{status}")
            out.append(f"       {step.entry.path}")
            out.append(f"       {_counts(step)}")
            lines, more = _notable_lines(step)
            out.extend(f"         {line}" for line in lines)
            if more:
                out.append(f"         … and {more} more")
            out.extend(f"       note: {n}" for n in step.notes)
        for f in h.findings:
            out.append(f"  warning: {f.rule_id}: {f.message}")
        out.append("")
    return "\n".join(out)


def render_json(items: Sequence[RecordHistory]) -> str:
    return json.dumps(to_document(items), indent=1, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_markdown(items: Sequence[RecordHistory]) -> str:
    out: list[str] = []
    for h in items:
        out.append(f"## {h.nct_id} — {len(h.steps)} snapshot{'s' if len(h.steps) != 1 else ''}")
        out.append("")
        out.append("| # | dates | format | status | changes |")
        out.append("| --- | --- | --- | --- | --- |")
        for step in h.steps:
            out.append(
                f"| {step.number} | {_md(_dates(step))} | {step.entry.format} | "
                f"{_md(step.status or '')} | {_md(_counts(step))} |"
            )
        out.append("")
        for step in h.steps:
            lines, more = _notable_lines(step)
            if not lines and not step.notes:
                continue
            out.append(f"**Step {step.number}** (`{step.entry.path}`)")
            out.append("")
            out.extend(f"- {_md(line[2:])}{' ⚑' if line.startswith('!') else ''}" for line in lines)
            if more:
                out.append(f"- … and {more} more")
            out.extend(f"- note: {_md(n)}" for n in step.notes)
            out.append("")
        if h.findings:
            out.append("**Warnings**")
            out.append("")
            out.extend(f"- `{f.rule_id}`: {_md(f.message)}" for f in h.findings)
            out.append("")
    return "\n".join(out)


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.3em .6em;"
    "vertical-align:top;text-align:left}th{background:#f3f3f3}.flag{color:#b00}.warn{color:#a60}"
    "ul{margin:.2em 0 .2em 1.2em;padding:0}code{font-size:90%}"
)


def html_title(items: Sequence[RecordHistory]) -> str:
    """The page's title: the NCT IDs (up to three), else how many records."""
    ids = [h.nct_id for h in items]
    if not ids:
        return "Record history"
    return f"History of {', '.join(ids)}" if len(ids) <= 3 else f"History of {len(ids)} records"


def render_html(
    items: Sequence[RecordHistory],
    *,
    nav: Sequence[tuple[str, str]] = (),
    step_diffs: Mapping[tuple[str, int], str] | None = None,
) -> str:
    """The timelines as one self-contained page (no script, a Content-Security-Policy that loads
    nothing). ``nav``: links ``(href, text)`` above it (the nightly report's history pages link
    back to their night); ``step_diffs``: ``(nct_id, step number) → href`` of each step's diff
    page, linked from the step's row."""
    e = html.escape
    title = html_title(items)
    step_diffs = step_diffs or {}
    out = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}"><title>{e(title)}</title>',
        f"<style>{_CSS}</style></head><body>",
    ]
    if nav:
        out.append(nav_line(nav).rstrip("\n"))
    for h in items:
        out.append(f"<h2>{e(h.nct_id)} — {len(h.steps)} snapshot{'s' if len(h.steps) != 1 else ''}</h2>")
        out.append("<table><tr><th>#</th><th>dates</th><th>format</th><th>status</th><th>changes</th></tr>")
        for step in h.steps:
            items_html = "".join(
                f'<li class="flag">{e(c.label)}: {e(c.summary)}</li>'
                if c.flagged
                else f"<li>{e(c.label)}: {e(c.summary)}</li>"
                for c in step.notable[:NOTABLE_SHOWN]
            )
            more = len(step.notable) - NOTABLE_SHOWN
            if more > 0:
                items_html += f"<li>… and {more} more</li>"
            items_html += "".join(f"<li>note: {e(n)}</li>" for n in step.notes)
            notable = f"<ul>{items_html}</ul>" if items_html else ""
            href = step_diffs.get((h.nct_id, step.number))
            counts = e(_counts(step))
            if href is not None:
                counts = f'<a href="{e(href)}">{counts}</a>'
            out.append(
                f'<tr id="step-{step.number}"><td>{step.number}</td>'
                f"<td>{e(_dates(step))}<br><code>{e(step.entry.path)}</code></td>"
                f"<td>{e(str(step.entry.format))}</td><td>{e(step.status or '')}</td>"
                f"<td>{counts}{notable}</td></tr>"
            )
        out.append("</table>")
        if h.findings:
            out.append("<ul>")
            out.extend(f'<li class="warn">{e(f.rule_id)}: {e(f.message)}</li>' for f in h.findings)
            out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[Sequence[RecordHistory]], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}
