"""The staleness report as one self-contained HTML page (``index.html``).

Opens from disk with no server and loads nothing from the network: CSS and a few lines of
vanilla JavaScript are inline, charts are inline SVG drawn by matplotlib, and a
Content-Security-Policy forbids any other source. Every value from a record is HTML-escaped.

The page leads with what to do today (headline numbers, records newly stale, records fixed),
then the charts (records by years since verification and status; the last nights' counts), the
stale records by sponsor and by status, and the full stale list, sortable by any column (click
a header; ``#sort=age``, ``#sort=sponsor``, ``#sort=status`` … in the address sorts on load) and
filterable. The stale list shows the oldest ``table_limit`` records; the complete list is in
``findings.csv`` beside the page.

Each NCT ID links to its record history on ClinicalTrials.gov
(``https://clinicaltrials.gov/study/NCT…?tab=history``): the registry's own list of every
version, which exists for every study, whatever our store holds.

The bytes are a function of the report data alone: matplotlib's SVG ids are salted with a fixed
string, no date or version is written into the SVG metadata, and every list is in a fixed order.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from auditor.records import is_valid_nct_id
from auditor.staleness import (
    AGE_BUCKETS,
    FIX_REASONS,
    NightCounts,
    StalenessReport,
    StaleRecord,
)

DEFAULT_TABLE_LIMIT = 5000
#: Rows of the newly stale and fixed lists on the page (longest unverified first); the rest are
#: in the stale list (marked new) and in report.md.
NEW_LIST_LIMIT = 20

#: One colour per status, stable across reports (UNKNOWN stands out; active statuses warm).
STATUS_COLOURS: dict[str, str] = {
    "UNKNOWN": "#c0392b",
    "RECRUITING": "#e67e22",
    "NOT_YET_RECRUITING": "#f1c40f",
    "ACTIVE_NOT_RECRUITING": "#d35400",
    "ENROLLING_BY_INVITATION": "#f5b041",
    "SUSPENDED": "#8e44ad",
    "COMPLETED": "#2e86c1",
    "TERMINATED": "#5d6d7e",
    "WITHDRAWN": "#aab7b8",
    "AVAILABLE": "#17a589",
    "NO_LONGER_AVAILABLE": "#7dcea0",
    "TEMPORARILY_NOT_AVAILABLE": "#45b39d",
    "APPROVED_FOR_MARKETING": "#1abc9c",
    "WITHHELD": "#566573",
    "OTHER": "#d5d8dc",
}

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


# --- charts ----------------------------------------------------------------------------------


def _svg(figure: Any, salt: str) -> str:
    """A matplotlib figure as an inline ``<svg>`` element with deterministic bytes."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "svg.id": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    svg = text[text.find("<svg") :].strip()
    # Two charts share one page: prefix matplotlib's ids (axes_1, patch_1 …) and references to them.
    svg = re.sub(r'\bid="(?!' + re.escape(salt) + r'")', f'id="{salt}-', svg)
    svg = svg.replace('href="#', f'href="#{salt}-').replace("url(#", f"url(#{salt}-")
    return svg


def _rc() -> Any:  # matplotlib types rc keys as a Literal of every rcParam name
    return {
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "text.parse_math": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",
    }


def age_status_chart(report: StalenessReport) -> str:
    """Stacked bars: all records by years since status verification, coloured by status."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    statuses = [g.name for g in report.by_status]
    with matplotlib.rc_context(_rc()):
        figure = Figure(figsize=(8.0, 3.6))
        axes = figure.add_subplot()
        bottoms = [0] * len(AGE_BUCKETS)
        for status in statuses:
            heights = [report.by_age_status[b].get(status, 0) for b in AGE_BUCKETS]
            axes.bar(
                AGE_BUCKETS,
                heights,
                bottom=bottoms,
                label=status,
                color=STATUS_COLOURS.get(status, STATUS_COLOURS["OTHER"]),
                width=0.7,
            )
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        for x, total in enumerate(bottoms):
            if total:
                axes.annotate(
                    f"{total:,}",
                    (x, total),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("years since the status was last verified")
        axes.set_ylabel("records")
        axes.margins(y=0.12)
        if statuses:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        figure.subplots_adjust(left=0.09, right=0.72, bottom=0.15, top=0.95)
        return _svg(figure, "auditor-age")


def trend_chart(history: Sequence[NightCounts]) -> str:
    """Stale records per night (line) over newly stale and fixed per night (bars)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [n.as_of.isoformat()[5:] for n in history]
    xs = list(range(len(history)))
    with matplotlib.rc_context(_rc()):
        figure = Figure(figsize=(8.0, 3.2))
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        top.plot(xs, [n.stale for n in history], marker="o", color=STATUS_COLOURS["UNKNOWN"])
        for x, night in zip(xs, history, strict=True):
            top.annotate(
                f"{night.stale:,}",
                (x, night.stale),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 3),
                textcoords="offset points",
            )
        top.set_ylabel("stale")
        top.yaxis.set_major_locator(MaxNLocator(integer=True))
        top.margins(y=0.3)
        top.set_ylim(bottom=0)
        width = 0.38
        newly = [n.newly_stale or 0 for n in history]
        fixed = [n.fixed or 0 for n in history]
        bottom.bar([x - width / 2 for x in xs], newly, width, label="newly stale", color="#e67e22")
        bottom.bar([x + width / 2 for x in xs], fixed, width, label="fixed", color="#27ae60")
        bottom.set_ylabel("per night")
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set_xticks(xs, labels)
        bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        figure.subplots_adjust(left=0.09, right=0.84, bottom=0.12, top=0.95, hspace=0.15)
        return _svg(figure, "auditor-trend")


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
        text += f' <span class="muted">(was {_e(last_known)})</span>'
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


def _stale_row(index: int, s: StaleRecord, local: frozenset[str]) -> str:
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
        f"<td>{_e(', '.join(s.rule_ids))}</td></tr>"
    )


def _stale_section(report: StalenessReport, table_limit: int, local: frozenset[str]) -> str:
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
    body = "".join(_stale_row(i, s, local) for i, s in enumerate(shown))
    return (
        f"<h2>Stale records ({len(report.stale):,})</h2>{note}"
        '<p class="muted">Click a column to sort (again to reverse). NCT IDs link to the record\'s '
        "history on ClinicalTrials.gov.</p>"
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


def render_html(
    report: StalenessReport,
    *,
    table_limit: int = DEFAULT_TABLE_LIMIT,
    local_history: frozenset[str] = frozenset(),
) -> str:
    """The whole page as text (UTF-8 when written). NCT IDs in ``local_history`` link to
    ``history/<NCT>.html`` beside the page (and to ClinicalTrials.gov by an arrow)."""
    title = f"Staleness report {report.as_of.isoformat()}"
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n",
            '<body data-js="off">',
            f"<h1>{_e(title)}</h1>",
            _subtitle(report),
            _headline(report),
            _today(report, local_history),
            _age_section(report),
            _trend_section(report),
            _groups_section(report),
            _stale_section(report, table_limit, local_history),
            _errors_section(report),
            '<p class="muted">Files beside this page: report.md, findings.json, findings.csv, summary.json, '
            "stale.json.</p>",
            f"\n<script>{SCRIPT}</script>\n</body></html>\n",
        ]
    )
