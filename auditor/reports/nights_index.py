"""``reports/index.html``: every night of a reports folder with its headline numbers, newest
first, each linking to its page. Rewritten after every report (it is not part of a night's
folder, so a past night's folder stays the same bytes).

It also resolves a night's "the next night" link: a night's page links to
``../index.html#after-<day>`` (its next night does not exist when it is made), and a few lines
of inline script here send the browser on to the first night after that day, or say there is
none yet. Without script the index is shown with that night's row highlighted. Self-contained
like the nightly page: no network, the same Content-Security-Policy, every value escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from auditor.reports.staleness_html import CSP, NIGHT_STYLE, STYLE
from auditor.staleness import NightCounts

INDEX_FILE = "index.html"

SCRIPT = """
(function () {
  "use strict";
  var body = document.body;
  var m = /^#after-(\\d{4}-\\d{2}-\\d{2})$/.exec(window.location.hash);
  if (m) {
    var later = Array.prototype.filter.call(
      document.querySelectorAll("tr[data-night]"),
      function (row) { return row.getAttribute("data-night") > m[1]; });
    later.sort(function (a, b) {
      return a.getAttribute("data-night") < b.getAttribute("data-night") ? -1 : 1; });
    if (later.length) {
      body.setAttribute("data-js", "ok");
      window.location.replace(later[0].querySelector("a").getAttribute("href"));
      return;
    }
    var note = document.getElementById("no-next");
    note.textContent = "No night after " + m[1] + " yet.";
    note.hidden = false;
  }
  body.setAttribute("data-js", "ok");
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _cell(value: int | None) -> str:
    return '<td class="num">—</td>' if value is None else f'<td class="num">{value:,}</td>'


def render_index(nights: Sequence[NightCounts]) -> str:
    """The index page of ``nights`` (any order: shown newest first)."""
    rows = []
    for night in sorted(nights, key=lambda n: n.as_of, reverse=True):
        day = night.as_of.isoformat()
        rows.append(
            f'<tr id="after-{_e(day)}" data-night="{_e(day)}">'
            f'<td><a href="{_e(day)}/index.html">{_e(day)}</a></td>'
            f"{_cell(night.records)}{_cell(night.stale)}{_cell(night.newly_stale)}{_cell(night.fixed)}"
            f"{_cell(night.changed)}{_cell(night.material)}</tr>"
        )
    head = "".join(
        f'<th class="num">{_e(name)}</th>'
        for name in ("records", "stale", "newly stale", "fixed", "changed", "material changes")
    )
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>Nightly reports</title><style>{STYLE}{NIGHT_STYLE}</style></head>\n",
            '<body data-js="off">',
            "<h1>Nightly reports</h1>",
            f'<p class="sub">{len(nights):,} night{"s" if len(nights) != 1 else ""}, newest first. '
            "Changed and material count the studies that changed since the night before (— for a night "
            "without a store or an earlier night to compare with).</p>",
            '<p id="no-next" class="muted" hidden></p>',
            f'<table id="nights"><thead><tr><th>night</th>{head}</tr></thead>',
            f"<tbody>{''.join(rows)}</tbody></table>",
            f"\n<script>{SCRIPT}</script>\n</body></html>\n",
        ]
    )
