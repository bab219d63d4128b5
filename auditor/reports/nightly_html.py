"""The nightly page's parts beyond staleness: what changed in the registry tonight, the pair
rules' findings of the night, the legend of the rules shown, the files beside the page and the
links to the other nights. :func:`render_night` puts them into the staleness page
(:func:`auditor.reports.staleness_html.render_html`), which stays one self-contained file.

Links, all relative so that a reports folder can be moved or published as it is:

* each changed study → its diff page for the night (``changes/<NCT>.html``, ``audit diff``'s
  page) and its history (``history/<NCT>.html`` when the night writes history pages, else the
  record's history on ClinicalTrials.gov);
* the previous night → ``../<day>/index.html`` (known when the report is made); the next night
  → ``../index.html#after-<day>``: the index of nights sends the browser on to the first night
  after that day. A night's page cannot name its next night when it is made, and a past night
  made again must be the same bytes, so the index (rewritten every night) knows it instead;
* rule ids → the legend on the page (``#rule-<id>``), whose entries link to ``rules.txt`` (the
  ``audit rules explain`` text of every rule shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from auditor.nightly import ALARM_WORDS, RULES_FILE, ChangedStudy, LegendEntry, NightChanges, NightPage
from auditor.records import is_valid_nct_id
from auditor.reports.staleness_html import PageParts, history_url, render_html, rule_anchor
from auditor.staleness import StalenessReport
from auditor.text import plural

#: Material lines listed per study on the page (all are on its diff page).
LINES_SHOWN = 8
#: Rows of the smaller lists (new studies, other changes, pair findings) before "…and N more".
LIST_LIMIT = 200
TOP_SPONSORS = 25


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _rule_link(rule_id: str) -> str:
    return f'<a href="#{_e(rule_anchor(rule_id))}">{_e(rule_id)}</a>'


def nav_links(as_of_text: str, previous: str | None) -> str:
    """The line of links to the other nights at the top of a night's page."""
    links = []
    if previous is not None:
        links.append(f'<a href="../{_e(previous)}/index.html" rel="prev">← the night of {_e(previous)}</a>')
    links.append('<a href="../index.html">all nights</a>')
    links.append(f'<a href="../index.html#after-{_e(as_of_text)}" rel="next">the next night →</a>')
    return '<nav class="sub" id="nights">' + " · ".join(links) + "</nav>"


def files_links(files: Sequence[str]) -> str:
    items = ", ".join(f'<a href="{_e(name)}">{_e(name)}</a>' for name in files)
    return f'<p class="muted" id="files">Files beside this page: {items}.</p>'


def _study_links(study: ChangedStudy, changes: NightChanges, local: frozenset[str]) -> str:
    nct = study.nct_id
    if not is_valid_nct_id(nct):
        return f"<td>{_e(nct)}</td>"
    main = (
        f'<a href="changes/{_e(nct)}.html" title="its changes tonight">{_e(nct)}</a>'
        if nct in changes.diff_pages
        else _e(nct)
    )
    if nct in local:
        history = (
            f'<a class="muted" href="history/{_e(nct)}.html" title="its snapshots in our store">history</a>'
        )
    else:
        history = (
            f'<a class="muted" href="{_e(history_url(nct))}" '
            'title="record history on ClinicalTrials.gov">history ↗</a>'
        )
    return f'<td class="st">{main} · {history}</td>'


def _what(study: ChangedStudy) -> str:
    """The study's headline and its material lines (the rest is on its diff page)."""
    result = study.diff.result
    head = [] if result is None else result.headline.lines()
    material = study.lines_of("material")
    items = [f"<li><b>{_e(line)}</b></li>" for line in head]
    for note in material[:LINES_SHOWN]:
        css = ' class="flag"' if note.flagged else ""
        items.append(f"<li{css}>{_e(note.label)}: {_e(note.summary)}</li>")
    if len(material) > LINES_SHOWN:
        items.append(f'<li class="muted">…and {len(material) - LINES_SHOWN} more on its diff page</li>')
    if not items:
        counts = ", ".join(f"{n} {grade}" for grade, n in _grade_counts(study).items())
        items.append(f'<li class="muted">{_e(counts)}</li>')
    return '<ul class="head">' + "".join(items) + "</ul>"


def _grade_counts(study: ChangedStudy) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in study.lines:
        out[line.grade] = out.get(line.grade, 0) + 1
    return out


def _changed_table(
    rows: Sequence[ChangedStudy], changes: NightChanges, local: frozenset[str], tid: str
) -> str:
    body = "".join(
        f"<tr>{_study_links(s, changes, local)}<td>{_e(s.title)}</td><td>{_e(s.diff.sponsor or '')}</td>"
        f'<td class="g-{_e(s.gravest)}">{_e(s.gravest)}</td><td>{_what(s)}</td></tr>'
        for s in rows
    )
    return (
        f'<table id="{tid}"><thead><tr><th>NCT ID</th><th>Brief title</th><th>Sponsor</th><th>Gravest</th>'
        f"<th>What changed</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _more(shown: int, total: int, where: str) -> str:
    return f'<p class="muted">…and {total - shown:,} more in {where}.</p>' if total > shown else ""


def _card(value: int, label: str, kind: str = "") -> str:
    cls = f"card {kind}".strip()
    return f'<div class="{cls}"><b>{value:,}</b><span>{_e(label)}</span></div>'


def changes_section(changes: NightChanges, local: frozenset[str], table_limit: int) -> str:
    """ "What changed in the registry tonight" (see :mod:`auditor.nightly` for the order)."""
    counts = changes.summary_dict()
    prev = changes.previous_as_of.isoformat()
    parts = [
        '<section id="changes"><h2>What changed in the registry tonight</h2>',
        f'<p class="sub">Each study\'s snapshot as of {_e(prev)} (the previous report) against its '
        f"snapshot as of {_e(changes.as_of.isoformat())}, compared by the batch diff (<code>audit diff"
        "</code>); material changes first. Each NCT ID opens the study's changes tonight.</p>",
        '<div class="cards">',
        _card(counts["changed"], "studies changed", ""),
        _card(counts["material"], "with a material change", "alert" if counts["material"] else ""),
        _card(counts["into_unknown"], "went UNKNOWN tonight", "alert" if counts["into_unknown"] else ""),
        _card(counts["new"], "new in the store"),
        _card(counts["pair_findings"], "pair-rule findings", "alert" if counts["pair_findings"] else ""),
        "</div>",
        f'<p class="muted">{_e(plural(counts["unchanged"], "study", "studies"))} the same as the night '
        "before; "
        f"{counts['metadata_only']:,} whose snapshot changed with no study change (capture dates, "
        f"formatting); {counts['errors']:,} that could not be compared.</p>",
    ]
    unknown = [s for s in changes.changed if s.alarm == "into_unknown"]
    if unknown:
        words = ALARM_WORDS["into_unknown"]
        parts.append(f"<h3>{_e(words[:1].upper() + words[1:])} ({len(unknown):,})</h3>")
        parts.append(_changed_table(unknown[:LIST_LIMIT], changes, local, "into-unknown-table"))
        parts.append(_more(min(len(unknown), LIST_LIMIT), len(unknown), "changes.csv"))
    material = changes.graded("material")
    shown = material if table_limit <= 0 else material[:table_limit]
    parts.append(f"<h3>Material changes ({len(material):,})</h3>")
    if material:
        parts.append(_changed_table(shown, changes, local, "material-table"))
        parts.append(_more(len(shown), len(material), "changes.csv and changes.json"))
    else:
        parts.append('<p class="muted">None.</p>')
    other = [s for s in changes.changed if s.gravest != "material"]
    parts.append(f"<h3>Minor, administrative and cosmetic changes ({len(other):,})</h3>")
    if other:
        rows = "".join(
            f"<tr>{_study_links(s, changes, local)}<td>{_e(s.title)}</td>"
            f'<td class="g-{_e(s.gravest)}">{_e(s.gravest)}</td>'
            f"<td>{_e(', '.join(f'{n} {g}' for g, n in _grade_counts(s).items()))}</td></tr>"
            for s in other[:LIST_LIMIT]
        )
        parts.append(
            '<table id="other-table"><thead><tr><th>NCT ID</th><th>Brief title</th><th>Gravest</th>'
            f"<th>Lines</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        parts.append(_more(min(len(other), LIST_LIMIT), len(other), "changes.csv"))
    else:
        parts.append('<p class="muted">None.</p>')
    parts.append(_new_and_errors(changes, local))
    parts.append(_rollups(changes))
    parts.append("</section>")
    return "".join(parts)


def _new_and_errors(changes: NightChanges, local: frozenset[str]) -> str:
    parts: list[str] = []
    new = changes.in_state("only_new")
    if new:
        rows = "".join(
            f"<tr>{_study_links(s, changes, local)}<td>{_e(s.title)}</td>"
            f"<td>{_e(s.diff.sponsor or '')}</td></tr>"
            for s in new[:LIST_LIMIT]
        )
        parts.append(
            f"<h3>New in the store ({len(new):,})</h3><table><thead><tr><th>NCT ID</th><th>Brief title</th>"
            f"<th>Sponsor</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        parts.append(_more(min(len(new), LIST_LIMIT), len(new), "changes.csv"))
    errors = changes.in_state("error")
    if errors:
        items = "".join(f"<li>{_e(s.nct_id)}: {_e(s.diff.error or '')}</li>" for s in errors[:LIST_LIMIT])
        parts.append(f"<h3>Could not be compared ({len(errors):,})</h3><ul>{items}</ul>")
    return "".join(parts)


def _rollups(changes: NightChanges) -> str:
    studies = changes.batch.studies_by_module()
    lines = changes.batch.by_module()
    modules = "".join(
        f'<tr><td>{_e(name)}</td><td class="num">{studies[name]:,}</td>'
        f'<td class="num">{lines.get(name, 0):,}</td></tr>'
        for name in studies
    )
    sponsors = list(changes.batch.by_sponsor().items())
    sponsor_rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="num">{n:,}</td></tr>' for name, n in sponsors[:TOP_SPONSORS]
    )
    return (
        '<div class="two"><div><h3>By module</h3><table id="by-module"><thead><tr><th>module</th>'
        '<th class="num">studies</th><th class="num">changes</th></tr></thead>'
        f"<tbody>{modules}</tbody></table></div>"
        f"<div><h3>By sponsor (top {min(len(sponsors), TOP_SPONSORS)} of {len(sponsors):,})</h3>"
        '<table id="by-sponsor"><thead><tr><th>sponsor</th><th class="num">studies changed</th></tr></thead>'
        f"<tbody>{sponsor_rows}</tbody></table></div></div>"
    )


def pair_findings_section(changes: NightChanges) -> str:
    """The pair rules' findings over (the previous night, tonight) of each changed study."""
    findings = changes.pair_findings
    parts = [f'<section id="pair-findings"><h2>Pair-rule findings of the night ({len(findings):,})</h2>']
    if not findings:
        parts.append('<p class="muted">None: no study moved the way a pair rule looks for.</p></section>')
        return "".join(parts)
    by_rule = ", ".join(f"{n:,} {rule}" for rule, n in changes.pair_findings_by_rule().items())
    parts.append(f'<p class="muted">{_e(by_rule)}</p>')
    rows = []
    for f in findings[:LIST_LIMIT]:
        nct = _e(f.nct_id)
        cell = f'<a href="changes/{nct}.html">{nct}</a>' if f.nct_id in changes.diff_pages else nct
        rows.append(
            f"<tr><td>{_rule_link(f.rule_id)}</td><td>{_e(f.severity)}</td><td>{cell}</td>"
            f"<td>{_e(f.message)}</td></tr>"
        )
    parts.append(
        '<table id="pair-table"><thead><tr><th>Rule</th><th>Severity</th><th>NCT ID</th><th>Finding</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    parts.append(_more(min(len(findings), LIST_LIMIT), len(findings), "changes.json"))
    parts.append("</section>")
    return "".join(parts)


def legend_section(legend: Sequence[LegendEntry]) -> str:
    if not legend:
        return ""
    rows = "".join(
        f'<tr id="{_e(rule_anchor(r.rule_id))}"><td class="st"><b>{_e(r.rule_id)}</b></td>'
        f"<td>{_e(r.title)}</td>"
        f"<td>{_e(r.severity)}, {_e(r.scope)}</td><td>{_e(r.rationale)}</td>"
        f'<td><a href="{RULES_FILE}">explain</a></td></tr>'
        for r in legend
    )
    return (
        '<h2 id="legend">Rules on this page</h2>'
        f'<p class="muted">The whole text of each, as <code>audit rules explain ID</code> prints it, is in '
        f'<a href="{RULES_FILE}">{RULES_FILE}</a>.</p>'
        "<table><thead><tr><th>Rule</th><th>Title</th><th>Kind</th><th>Why</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def render_night(report: StalenessReport, page: NightPage, *, table_limit: int) -> str:
    """The nightly page: the staleness report with tonight's changes, the pair findings, the
    legend, the links to the other nights and to the files beside it."""
    previous = page.previous.isoformat() if page.previous is not None else None
    changes = page.changes
    parts = PageParts(
        nav=nav_links(report.as_of.isoformat(), previous),
        changes="" if changes is None else changes_section(changes, page.local_history, table_limit),
        pair_findings="" if changes is None else pair_findings_section(changes),
        legend=legend_section(page.legend),
        files=files_links(page.files),
        rule_anchors=frozenset(r.rule_id for r in page.legend),
    )
    return render_html(report, table_limit=table_limit, local_history=page.local_history, parts=parts)
