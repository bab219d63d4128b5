"""The staleness report as Markdown (``report.md``): for a pull request, a wiki page or an
e-mail body. Same content as the HTML page, as tables, with the complete stale list.

Values from records are escaped so that a title cannot break a table (``|``), turn into
formatting (``*``, ``_``, backticks, brackets) or into HTML (``<``, ``>``, ``&``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from auditor.reports.staleness_html import history_url, years_text
from auditor.staleness import AGE_BUCKETS, FIX_REASONS, GroupCount, RecordSummary, StalenessReport

_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md(value: object) -> str:
    """One table-cell-safe line of Markdown text."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def _nct(nct_id: str) -> str:
    url = history_url(nct_id)
    return f"[{nct_id}]({url})" if url else md(nct_id)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _last_known(summary: RecordSummary) -> bool:
    return bool(summary.last_known_status) and summary.overall_status == "UNKNOWN"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _groups(groups: Sequence[GroupCount], name: str) -> list[str]:
    rows = [[md(g.name), f"{g.stale:,}", f"{g.total:,}", _percent(g.stale, g.total)] for g in groups]
    return _table([name, "stale", "records", "share"], rows, right=(1, 2, 3))


def render_markdown(report: StalenessReport, *, list_limit: int = 0, changes: Sequence[str] = ()) -> str:
    """The report as Markdown; ``list_limit`` > 0 shortens the stale list; ``changes``: the
    lines of tonight's changes (:func:`auditor.reports.night_files.changes_markdown`), put after
    the staleness changes."""
    stale = len(report.stale)
    lines = [f"# Staleness report {report.as_of.isoformat()}", ""]
    about = f"As of {report.as_of.isoformat()} · rules: {', '.join(report.rule_ids) or 'none'}"
    if report.params:
        about += " · parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(report.params.items()))
    if report.previous_as_of is not None:
        about += f" · compared with the report of {report.previous_as_of.isoformat()}"
    lines += [md(about), ""]
    lines.append(f"- **{report.records:,}** records audited")
    lines.append(f"- **{stale:,}** stale now ({_percent(stale, report.records)})")
    if report.previous_as_of is not None:
        counts = report.fixed_by_reason
        why = ", ".join(f"{counts[r]:,} {r}" for r in FIX_REASONS if counts[r])
        lines.append(f"- **{len(report.newly_stale):,}** newly stale")
        lines.append(f"- **{len(report.fixed):,}** fixed" + (f" ({why})" if why else ""))
        lines.append(f"- **{report.still_stale:,}** still stale")
    if report.input_errors:
        lines.append(f"- **{len(report.input_errors):,}** inputs could not be read (listed at the end)")
    lines.append("")

    if report.previous_as_of is not None:
        lines += [f"## Newly stale ({len(report.newly_stale):,})", ""]
        if report.newly_stale:
            rows = [
                [
                    _nct(s.nct_id),
                    md(s.summary.lead_sponsor),
                    md(s.summary.overall_status),
                    years_text(s.age_days),
                ]
                for s in report.newly_stale
            ]
            lines += _table(["NCT ID", "sponsor", "status", "years"], rows, right=(3,))
        else:
            lines.append("None.")
        lines += ["", f"## Fixed ({len(report.fixed):,})", ""]
        if report.fixed:
            rows = [[_nct(f.nct_id), md(f.reason), md(f.detail)] for f in report.fixed]
            lines += _table(["NCT ID", "why", "what moved"], rows)
        else:
            lines.append("None.")
        lines.append("")
    lines += changes

    lines += ["## Records by years since verification", ""]
    rows = [
        [md(g.name), *(f"{report.by_age_status[b].get(g.name, 0):,}" for b in AGE_BUCKETS)]
        for g in report.by_status
    ]
    rows.append(["**all**", *(f"**{sum(report.by_age_status[b].values()):,}**" for b in AGE_BUCKETS)])
    lines += _table(["status", *AGE_BUCKETS], rows, right=tuple(range(1, len(AGE_BUCKETS) + 1)))
    lines.append("")

    if len(report.history) > 1:
        lines += ["## The last nights", ""]
        material = any(n.material is not None for n in report.history)
        rows = [
            [
                n.as_of.isoformat(),
                "" if n.records is None else f"{n.records:,}",
                f"{n.stale:,}",
                "" if n.newly_stale is None else f"{n.newly_stale:,}",
                "" if n.fixed is None else f"{n.fixed:,}",
                *([] if not material else ["" if n.material is None else f"{n.material:,}"]),
            ]
            for n in report.history
        ]
        header = [
            "night",
            "records",
            "stale",
            "newly stale",
            "fixed",
            *(["material changes"] if material else []),
        ]
        lines += _table(header, rows, right=tuple(range(1, len(header))))
        lines.append("")

    lines += [f"## Top {len(report.by_sponsor)} sponsors by stale records", ""]
    lines += _groups(report.by_sponsor, "sponsor")
    lines += ["", "## By status", ""]
    lines += _groups([g for g in report.by_status if g.stale], "status")
    lines.append("")

    shown = report.stale if list_limit <= 0 else report.stale[:list_limit]
    lines += [f"## Stale records ({stale:,}), longest unverified first", ""]
    if len(shown) < stale:
        lines += [f"The {len(shown):,} longest unverified; every one is in findings.csv.", ""]
    rows = [
        [
            _nct(s.nct_id),
            md(s.summary.brief_title),
            md(s.summary.lead_sponsor),
            md(s.summary.overall_status)
            + (f" (last known: {md(s.summary.last_known_status)})" if _last_known(s.summary) else ""),
            s.summary.status_verified.isoformat() if s.summary.status_verified else "",
            years_text(s.age_days),
            s.stale_since.isoformat() + (" (new)" if s.is_new else ""),
            md(", ".join(s.rule_ids)),
        ]
        for s in shown
    ]
    lines += _table(
        ["NCT ID", "brief title", "sponsor", "status", "verified", "years", "stale since", "rule"],
        rows,
        right=(5,),
    )
    if report.input_errors:
        lines += ["", f"## Inputs that could not be read ({len(report.input_errors):,})", ""]
        lines += [f"- {md(e)}" for e in report.input_errors]
    return "\n".join(lines) + "\n"
