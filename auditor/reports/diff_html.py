"""``audit diff --format html``: one self-contained page per diff or batch.

The page uses the nightly staleness page's style and Content-Security-Policy
(:data:`auditor.reports.staleness_html.STYLE` and ``CSP``, imported, not copied) plus a few rules
of its own; it loads nothing and runs no script. Edited fields show before and after side by
side (text edits with the words struck and inserted); a legend says what the marks and grades
mean; each study links to its record and its history on ClinicalTrials.gov; long path labels
wrap. Every value from a record is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from auditor.diff import BatchResult, DiffResult
from auditor.diff.lines import Line, report_lines
from auditor.records import is_valid_nct_id
from auditor.reports.diff_parts import (
    LEGEND,
    batch_problems,
    batch_rollup,
    batch_totals,
    headline_lines,
    modules,
    notes,
    shorten,
    snapshot_line,
    totals,
)
from auditor.reports.staleness_html import CSP, STYLE, history_url

#: Rules of the diff page on top of the nightly page's STYLE.
DIFF_STYLE = """
td.lbl{overflow-wrap:anywhere;word-break:break-word;max-width:24rem}
td.val{overflow-wrap:anywhere;white-space:pre-wrap;max-width:28rem}
del{background:#fadbd8;text-decoration:line-through}ins{background:#d5f5e3;text-decoration:none}
.g-material{color:#c0392b;font-weight:600}.g-minor{color:#a04000}
.g-administrative,.g-cosmetic{color:var(--muted)}
.mk{font-weight:700;text-align:center}.flag{color:#c0392b;font-weight:700}
ul.head li{margin:.15rem 0}.study{margin-top:2.5rem}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def nav_line(links: Sequence[tuple[str, str]]) -> str:
    """A line of links (``(href, text)``, both escaped) at the top of a page: where the reader
    came from and where else to go. Empty when there are none."""
    if not links:
        return ""
    items = " · ".join(f'<a href="{_e(href)}">{_e(text)}</a>' for href, text in links)
    return f'<nav class="sub">{items}</nav>\n'


def _page(title: str, body: list[str]) -> str:
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{_e(title)}</title><style>{STYLE}{DIFF_STYLE}</style></head>\n<body>\n",
            *body,
            f'\n<p class="muted">{_e(LEGEND)}</p>\n</body></html>\n',
        ]
    )


def render_html(result: DiffResult, *, details: bool = False, nav: Sequence[tuple[str, str]] = ()) -> str:
    """One study's diff as a page; ``nav``: links ``(href, text)`` shown above it (the nightly
    report's diff pages link back to their night and to the record's history)."""
    return _page(f"Changes to {result.nct_id}", [nav_line(nav), *_study(result, details=details, level=1)])


def render_batch_html(batch: BatchResult, *, details: bool = False) -> str:
    body = [f"<h1>{_e('audit diff: ' + batch_totals(batch))}</h1>", '<ul class="head">']
    body += [f"<li>{_e(line)}</li>" for line in (*batch_rollup(batch), *batch_problems(batch))]
    body.append("</ul>")
    for study in batch.changed:
        assert study.result is not None
        body.append(f'<section class="study" id="{_e(study.nct_id)}">')
        body += _study(study.result, details=details, level=2)
        body.append("</section>")
    return _page("audit diff", body)


def _links(nct_id: str) -> str:
    if not is_valid_nct_id(nct_id):
        return ""
    record = f"https://clinicaltrials.gov/study/{nct_id}"
    return f' <a href="{_e(record)}">record</a> · <a href="{_e(history_url(nct_id))}">history</a>'


def _study(result: DiffResult, *, details: bool, level: int) -> list[str]:
    h, h2 = f"h{level}", f"h{level + 1}"
    parts = [
        f"<{h}>Changes to {_e(result.nct_id)}{_links(result.nct_id)}</{h}>",
        '<p class="sub">',
        f"<b>Before:</b> {_e(snapshot_line(result.before))}<br>",
        f"<b>After:</b> {_e(snapshot_line(result.after))}<br>",
        f"<b>Summary:</b> {_e(totals(result))}</p>",
    ]
    head = headline_lines(result)
    if head:
        parts.append('<ul class="head">' + "".join(f"<li>{_e(x)}</li>" for x in head) + "</ul>")
    parts += [f'<p class="muted">Note: {_e(note)}</p>' for note in notes(result)]
    for module, group in modules(report_lines(result, details=details)):
        parts.append(f"<{h2}>{_e(module)}</{h2}>")
        parts.append(_table(group))
    if result.metadata:
        parts.append(f"<{h2}>Snapshot metadata (not study changes)</{h2}>")
        parts.append(_table(report_lines(result, result.metadata, details=True)))
    return parts


def _table(lines: list[Line]) -> str:
    rows = [
        "<table><tr><th></th><th>Field</th><th>Before</th><th>After</th><th>Change</th><th>Grade</th></tr>"
    ]
    for line in lines:
        rows.append(
            f'<tr><td class="mk">{_e(line.mark)}</td>'
            f'<td class="lbl">{_e(line.label)}<br><code>{_e(line.identity)}</code></td>'
            f"{_sides(line)}<td>{_summary(line)}</td>"
            f'<td class="g-{_e(line.grade)}">{_e(line.grade)}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def _sides(line: Line) -> str:
    """Before and after cells: the words struck/inserted for a text edit, else the values."""
    if line.word_diff:
        ops: list[Any] = shorten(line.word_diff)
        old = " ".join(f"<del>{_e(t)}</del>" if op == "delete" else _e(t) for op, t in ops if op != "insert")
        new = " ".join(f"<ins>{_e(t)}</ins>" if op == "insert" else _e(t) for op, t in ops if op != "delete")
        return f'<td class="val">{old}</td><td class="val">{new}</td>'
    if len(line.changes) != 1:
        return '<td class="val"></td><td class="val"></td>'
    old = "" if line.old is None else _e(line.old)
    new = "" if line.new is None else _e(line.new)
    return f'<td class="val">{old}</td><td class="val">{new}</td>'


def _summary(line: Line) -> str:
    text = _e(line.summary)
    if line.moved_from and line.mark == "~":
        text += f" [moved from {_e(line.moved_from)}]"
    return f'<span class="flag">⚠ {text}</span>' if line.flagged else text
