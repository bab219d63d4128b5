"""The staleness report as one self-contained HTML page (``index.html``).

Opens from disk with no server and loads nothing from the network: CSS and a few lines of
vanilla JavaScript are inline, charts are inline SVG drawn by matplotlib
(:mod:`auditor.reports.charts`), and a
Content-Security-Policy forbids any other source. Every value from a record is HTML-escaped.

The page leads with what to do today (headline numbers, records newly stale, records fixed),
then the charts (records by years since verification and status; the last nights' counts), the
stale records by sponsor and by status, and the full stale list, sortable by any column (click
a header; ``#sort=age``, ``#sort=sponsor``, ``#sort=status`` … in the address sorts on load) and
filterable. The stale list shows the oldest ``table_limit`` records; the complete list is in
``findings.csv`` beside the page.

Each NCT ID links to its record history on ClinicalTrials.gov
(``https://clinicaltrials.gov/study/NCT…?tab=history``): the registry's own list of every
version, which exists for every study, whatever our store holds; or, when the night writes
history pages, to ``history/<NCT>.html`` beside the page (an arrow still goes to the registry).

The nightly command adds its own parts (what changed tonight, the pair findings, the legend of
rules, links to the other nights and the files): :class:`PageParts`, rendered by
:mod:`auditor.reports.nightly_html`.

The bytes are a function of the report data alone (the charts' too), every list in a fixed order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from auditor.records import is_valid_nct_id
from auditor.reports.charts import age_status_chart, trend_chart
from auditor.staleness import (
    AGE_BUCKETS,
    FIX_REASONS,
    StalenessReport,
    StaleRecord,
)

DEFAULT_TABLE_LIMIT = 5000
#: Rows of the newly stale and fixed lists on the page (longest unverified first); the rest are
#: in the stale list (marked new) and in report.md.
NEW_LIST_LIMIT = 20

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def history_url(nct_id: str) -> str | None:
    """The record history of a study on ClinicalTrials.gov; ``None`` for a malformed NCT ID."""
    if not is_valid_nct_id(nct_id):
        return None
    return f"https://clinicaltrials.gov/study/{nct_id}?tab=history"


def years_text(age_days: int | None) -> str:
    return "" if age_days is None else f"{age_days / 365.25:.1f}"


# --- page ------------------------------------------------------------------------------------

STYLE = """
:root{--fg:#1b2631;--muted:#5d6d7e;--line:#d5d8dc;--bg:#fbfcfc;--accent:#c0392b}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:1.2rem 1.5rem 3rem;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.6rem;margin:.2rem 0}
h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid var(--line)}
.sub{color:var(--muted);margin:0 0 1rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{flex:1 1 9rem;background:#fff;border:1px solid var(--line);border-radius:6px;padding:.6rem .9rem}
.card b{display:block;font-size:1.7rem;line-height:1.2}.card span{color:var(--muted);font-size:.85rem}
.card.alert b{color:var(--accent)}.card.good b{color:#1e8449}
.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.88rem}
th,td{border-bottom:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#eaecee;position:sticky;top:0;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th button{all:unset;cursor:pointer;font-weight:600}th button::after{content:" \\2195";color:var(--muted)}
th[aria-sort=ascending] button::after{content:" \\2191"}
th[aria-sort=descending] button::after{content:" \\2193"}
.tag{display:inline-block;padding:0 .35rem;border-radius:3px;font-size:.78rem;background:#eaecee}
.tag.new{background:#fdebd0;color:#a04000}.st{white-space:nowrap}
.muted{color:var(--muted)}.two{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
@media (max-width:800px){.two{grid-template-columns:1fr}}
input[type=search]{padding:.35rem .5rem;width:22rem;max-width:100%;margin:.3rem 0 .6rem}
"""

#: Rules of the nightly page on top of STYLE (the diff pages share STYLE, not these).
NIGHT_STYLE = """
.g-material{color:#c0392b;font-weight:600}.g-minor{color:#a04000}
.g-administrative,.g-cosmetic{color:var(--muted)}.flag{color:#c0392b;font-weight:700}
ul.head{margin:0;padding-left:1.1rem}ul.head li{margin:.1rem 0}tr:target{background:#fdebd0}
"""


@dataclass(frozen=True)
class PageParts:
    """HTML the nightly command adds to the page (each part already escaped and complete):
    ``nav`` above the headline, ``changes`` and ``pair_findings`` after the staleness changes,
    ``legend`` and ``files`` at the end; ``rule_anchors``: rule ids with a legend entry, which
    the stale list links to."""

    nav: str = ""
    changes: str = ""
    pair_findings: str = ""
    legend: str = ""
    files: str = ""
    rule_anchors: frozenset[str] = field(default_factory=frozenset)


SCRIPT = """
(function () {
  "use strict";
  var body = document.body;
  window.addEventListener("error", function () { body.setAttribute("data-js-error", "1"); });
  var table = document.getElementById("stale-table");
  if (table) {
    var tbody = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    var value = function (row, i, numeric) {
      var cell = row.cells[i];
      var v = cell.getAttribute("data-v");
      if (v === null) { v = cell.textContent; }
      if (numeric) { var n = parseFloat(v); return isNaN(n) ? -Infinity : n; }
      return v.toLowerCase();
    };
    var sortBy = function (i, dir) {
      var numeric = heads[i].getAttribute("data-type") === "num";
      var rows = Array.prototype.slice.call(tbody.rows);
      rows.sort(function (a, b) {
        var x = value(a, i, numeric), y = value(b, i, numeric);
        var c = x < y ? -1 : (x > y ? 1 : 0);
        if (c === 0) { return Number(a.getAttribute("data-i")) - Number(b.getAttribute("data-i")); }
        return c * dir;
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r); });
      tbody.appendChild(frag);
      for (var j = 0; j < heads.length; j++) { heads[j].removeAttribute("aria-sort"); }
      heads[i].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      table.setAttribute("data-sorted", heads[i].getAttribute("data-key") + (dir > 0 ? "" : "-desc"));
    };
    Array.prototype.forEach.call(heads, function (th, i) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var now = th.getAttribute("aria-sort");
        var dir = now ? (now === "ascending" ? -1 : 1) : (numeric ? -1 : 1);
        sortBy(i, dir);
      });
    });
    var filter = document.getElementById("stale-filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var q = filter.value.toLowerCase();
        Array.prototype.forEach.call(tbody.rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    }
    var m = /(?:^#|&)sort=([a-z_]+)(-desc)?/.exec(window.location.hash);
    if (m) {
      Array.prototype.forEach.call(heads, function (th, i) {
        if (th.getAttribute("data-key") === m[1]) {
          var numeric = th.getAttribute("data-type") === "num";
          sortBy(i, m[2] ? -1 : (numeric ? -1 : 1));
        }
      });
    }
  }
  body.setAttribute("data-js", "ok");
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _nct_cell(nct_id: str, local: frozenset[str] = frozenset()) -> str:
    url = history_url(nct_id)
    if url is None:
        return f"<td>{_e(nct_id)}</td>"
    if nct_id in local:
        return (
            f'<td class="st"><a href="history/{_e(nct_id)}.html" title="its snapshots in our store">'
            f"{_e(nct_id)}</a>"
            f' <a class="muted" href="{_e(url)}" title="record history on ClinicalTrials.gov">↗</a></td>'
        )
    return f'<td><a href="{_e(url)}" title="record history on ClinicalTrials.gov">{_e(nct_id)}</a></td>'


def _num(value: int) -> str:
    return f'<td class="num">{value:,}</td>'


NUM_CLASS = ' class="num"'


def _card(value: str, label: str, kind: str = "") -> str:
    cls = f"card {kind}".strip()
    return f'<div class="{cls}"><b>{_e(value)}</b><span>{_e(label)}</span></div>'


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _status_text(status: str, last_known: str) -> str:
    text = _e(status or "—")
    if last_known and status == "UNKNOWN":
        text += f' <span class="muted">(last known: {_e(last_known)})</span>'
    return text


def _headline(report: StalenessReport) -> str:
    stale = len(report.stale)
    cards = [
        _card(f"{report.records:,}", "records audited"),
        _card(f"{stale:,}", f"stale now ({_percent(stale, report.records)})", "alert" if stale else "good"),
    ]
    if report.previous_as_of is not None:
        cards += [
            _card(f"{len(report.newly_stale):,}", "newly stale", "alert" if report.newly_stale else ""),
            _card(f"{len(report.fixed):,}", "fixed", "good" if report.fixed else ""),
            _card(f"{report.still_stale:,}", "still stale"),
        ]
    if report.input_errors:
        cards.append(_card(f"{len(report.input_errors):,}", "inputs with errors", "alert"))
    return '<div class="cards">' + "".join(cards) + "</div>"


def _subtitle(report: StalenessReport) -> str:
    rules = ", ".join(report.rule_ids) or "none"
    params = ", ".join(f"{k}={v}" for k, v in sorted(report.params.items()))
    compared = (
        f"compared with the report of {report.previous_as_of.isoformat()}"
        if report.previous_as_of is not None
        else "no earlier report to compare with"
    )
    text = f"As of {report.as_of.isoformat()} · rules: {rules}"
    if params:
        text += f" · parameters: {params}"
    return f'<p class="sub">{_e(text)} · {_e(compared)}</p>'


def _today(report: StalenessReport, local: frozenset[str]) -> str:
    if report.previous_as_of is None:
        return (
            "<h2>What changed since the last report</h2>"
            '<p class="muted">This is the first report in this folder; tomorrow\'s will list the '
            "records that became stale and those that were fixed.</p>"
        )
    parts = ["<h2>What changed since the last report</h2>"]
    newly = report.newly_stale
    parts.append(f"<h3>Newly stale ({len(newly):,})</h3>")
    if newly:
        parts.append(
            "<table><thead><tr><th>NCT ID</th><th>Brief title</th><th>Sponsor</th><th>Status</th>"
            '<th class="num">Years</th></tr></thead><tbody>'
        )
        for s in newly[:NEW_LIST_LIMIT]:
            parts.append(
                f"<tr>{_nct_cell(s.nct_id, local)}<td>{_e(s.summary.brief_title)}</td>"
                f"<td>{_e(s.summary.lead_sponsor)}</td>"
                f'<td class="st">{_status_text(s.summary.overall_status, s.summary.last_known_status)}</td>'
                f'<td class="num">{_e(years_text(s.age_days))}</td></tr>'
            )
        parts.append("</tbody></table>")
        if len(newly) > NEW_LIST_LIMIT:
            more = len(newly) - NEW_LIST_LIMIT
            parts.append(f'<p class="muted">…and {more:,} more, marked <i>new</i> in the list below.</p>')
    else:
        parts.append('<p class="muted">None.</p>')
    counts = report.fixed_by_reason
    summary = ", ".join(f"{counts[r]:,} {r}" for r in FIX_REASONS if counts[r])
    parts.append(f"<h3>Fixed ({len(report.fixed):,})</h3>")
    if report.fixed:
        parts.append(f'<p class="muted">{_e(summary)}</p>')
        parts.append("<table><thead><tr><th>NCT ID</th><th>Why</th><th>What moved</th></tr></thead><tbody>")
        for f in report.fixed[:NEW_LIST_LIMIT]:
            parts.append(
                f"<tr>{_nct_cell(f.nct_id, local)}<td>{_e(f.reason)}</td><td>{_e(f.detail)}</td></tr>"
            )
        parts.append("</tbody></table>")
        if len(report.fixed) > NEW_LIST_LIMIT:
            more = len(report.fixed) - NEW_LIST_LIMIT
            parts.append(f'<p class="muted">…and {more:,} more in report.md.</p>')
    else:
        parts.append('<p class="muted">None.</p>')
    return "".join(parts)


def _age_section(report: StalenessReport) -> str:
    head = "".join(f'<th class="num">{_e(b)}</th>' for b in AGE_BUCKETS)
    rows = []
    for group in report.by_status:
        cells = "".join(_num(report.by_age_status[b].get(group.name, 0)) for b in AGE_BUCKETS)
        rows.append(f"<tr><td>{_e(group.name)}</td>{cells}</tr>")
    totals = "".join(_num(sum(report.by_age_status[b].values())) for b in AGE_BUCKETS)
    rows.append(f"<tr><td><b>all</b></td>{totals}</tr>")
    return (
        "<h2>Records by years since verification</h2>"
        f'<div class="chart" id="age-chart">{age_status_chart(report)}</div>'
        "<details><summary>The numbers</summary>"
        f"<table><thead><tr><th>status</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def _trend_section(report: StalenessReport) -> str:
    out = ["<h2>The last nights</h2>"]
    if len(report.history) < 2:
        out.append('<p class="muted">One report so far; the trend chart starts with the second night.</p>')
        return "".join(out)
    out.append(f'<div class="chart" id="trend-chart">{trend_chart(report.history)}</div>')
    return "".join(out)


def _groups_section(report: StalenessReport) -> str:
    def table(title: str, groups: Sequence[Any], name: str) -> str:
        rows = "".join(
            f'<tr><td>{_e(g.name)}</td><td class="num">{g.stale:,}</td><td class="num">{g.total:,}</td>'
            f'<td class="num">{_percent(g.stale, g.total)}</td></tr>'
            for g in groups
        )
        return (
            f'<div><h3>{_e(title)}</h3><table><thead><tr><th>{_e(name)}</th><th class="num">stale</th>'
            '<th class="num">records</th><th class="num">share</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )

    stale_statuses = [g for g in report.by_status if g.stale]
    return (
        "<h2>Who and what</h2>"
        '<div class="two">'
        + table(f"Top {len(report.by_sponsor)} sponsors by stale records", report.by_sponsor, "sponsor")
        + table("By status", stale_statuses, "status")
        + "</div>"
    )


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("nct", "NCT ID", "text"),
    ("title", "Brief title", "text"),
    ("sponsor", "Sponsor", "text"),
    ("status", "Status", "text"),
    ("verified", "Verified", "text"),
    ("age", "Years", "num"),
    ("since", "Stale since", "text"),
    ("rule", "Rule", "text"),
)


def rule_anchor(rule_id: str) -> str:
    """The id of a rule's legend entry on the page (``rule-`` and the id; anything but letters,
    digits, ``-`` and ``_`` becomes ``_``)."""
    return "rule-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in rule_id)


def _rules_cell(rule_ids: Sequence[str], anchors: frozenset[str]) -> str:
    """The rule ids of a row, each linked to its legend entry when the page has one."""
    return ", ".join(
        f'<a href="#{_e(rule_anchor(r))}">{_e(r)}</a>' if r in anchors else _e(r) for r in rule_ids
    )


def _stale_row(index: int, s: StaleRecord, local: frozenset[str], anchors: frozenset[str]) -> str:
    summary = s.summary
    new = ' <span class="tag new">new</span>' if s.is_new else ""
    age_key = "" if s.age_days is None else str(s.age_days)
    return (
        f'<tr data-i="{index}">{_nct_cell(s.nct_id, local)}'
        f"<td>{_e(summary.brief_title)}</td>"
        f"<td>{_e(summary.lead_sponsor)}</td>"
        f'<td class="st" data-v="{_e(summary.overall_status)}">'
        f"{_status_text(summary.overall_status, summary.last_known_status)}</td>"
        f'<td class="st">{_e(summary.status_verified.isoformat() if summary.status_verified else "")}</td>'
        f'<td class="num" data-v="{age_key}">{_e(years_text(s.age_days))}</td>'
        f'<td class="st">{_e(s.stale_since.isoformat())}{new}</td>'
        f"<td>{_rules_cell(s.rule_ids, anchors)}</td></tr>"
    )


def _stale_section(
    report: StalenessReport, table_limit: int, local: frozenset[str], anchors: frozenset[str]
) -> str:
    shown = report.stale if table_limit <= 0 else report.stale[:table_limit]
    head = "".join(
        f'<th data-key="{key}" data-type="{kind}"{NUM_CLASS if kind == "num" else ""}>'
        f'<button type="button">{_e(label)}</button></th>'
        for key, label, kind in COLUMNS
    )
    note = ""
    if len(shown) < len(report.stale):
        note = (
            f'<p class="muted">Showing the {len(shown):,} longest unverified of {len(report.stale):,} stale '
            "records; every one is in findings.csv and report.md beside this page.</p>"
        )
    body = "".join(_stale_row(i, s, local, anchors) for i, s in enumerate(shown))
    links = (
        "NCT IDs link to the record's snapshots in our store (history/ beside this page; ↗ to its "
        "history on ClinicalTrials.gov)"
        if local
        else "NCT IDs link to the record's history on ClinicalTrials.gov"
    )
    return (
        f"<h2>Stale records ({len(report.stale):,})</h2>{note}"
        f'<p class="muted">Click a column to sort (again to reverse). {_e(links)}.</p>'
        '<input type="search" id="stale-filter" placeholder="Filter: sponsor, title, NCT ID…" '
        'aria-label="Filter the stale records">'
        f'<table id="stale-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _errors_section(report: StalenessReport) -> str:
    if not report.input_errors:
        return ""
    items = "".join(f"<li>{_e(e)}</li>" for e in report.input_errors[:100])
    more = len(report.input_errors) - 100
    tail = f'<p class="muted">…and {more:,} more.</p>' if more > 0 else ""
    return f"<h2>Inputs that could not be read ({len(report.input_errors):,})</h2><ul>{items}</ul>{tail}"


DEFAULT_FILES = (
    '<p class="muted">Files beside this page: report.md, findings.json, findings.csv, summary.json, '
    "stale.json.</p>"
)


def render_html(
    report: StalenessReport,
    *,
    table_limit: int = DEFAULT_TABLE_LIMIT,
    local_history: frozenset[str] = frozenset(),
    parts: PageParts | None = None,
) -> str:
    """The whole page as text (UTF-8 when written). NCT IDs in ``local_history`` link to
    ``history/<NCT>.html`` beside the page (and to ClinicalTrials.gov by an arrow); ``parts``:
    what the nightly command adds (:class:`PageParts`)."""
    parts = parts or PageParts()
    title = f"Staleness report {report.as_of.isoformat()}"
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{_e(title)}</title><style>{STYLE}{NIGHT_STYLE if parts.nav else ''}</style></head>\n",
            '<body data-js="off">',
            parts.nav,
            f"<h1>{_e(title)}</h1>",
            _subtitle(report),
            _headline(report),
            _today(report, local_history),
            parts.changes,
            parts.pair_findings,
            _age_section(report),
            _trend_section(report),
            _groups_section(report),
            _stale_section(report, table_limit, local_history, parts.rule_anchors),
            _errors_section(report),
            parts.legend,
            parts.files or DEFAULT_FILES,
            f"\n<script>{SCRIPT}</script>\n</body></html>\n",
        ]
    )
