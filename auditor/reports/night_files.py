"""The data files of tonight's changes beside the nightly page: ``changes.json`` (the model's
own :meth:`~auditor.nightly.NightChanges.to_dict`), ``changes.csv`` (one row per study of the
batch, in page order) and ``rules.txt`` (``audit rules explain`` of every rule in the legend).
Pure functions of what they are given."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from auditor.nightly import NightChanges
from auditor.reports.findings_csv import safe_cell
from auditor.reports.staleness_md import md

CHANGES_JSON = "changes.json"
CHANGES_CSV = "changes.csv"

CSV_COLUMNS = (
    "nct_id",
    "state",
    "gravest",
    "status_alarm",
    "status_before",
    "status_after",
    "material_lines",
    "lines",
    "headline",
    "brief_title",
    "lead_sponsor",
    "diff_page",
)


def changes_json(changes: NightChanges) -> str:
    """``changes.json`` on one line: with a night's thousands of diffs it is the largest file of
    the folder (about 20 kB a changed study), and json's C encoder, which writes it several times
    faster than the indented form, only runs without ``indent`` (``python -m json.tool`` shows it
    indented)."""
    return json.dumps(changes.to_dict(), ensure_ascii=False) + "\n"


def changes_csv(changes: NightChanges) -> str:
    """One row per study of the batch (changed, new, metadata only, error), in page order;
    cells a spreadsheet would run as a formula are made text (record text is untrusted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for study in changes.studies:
        result = study.diff.result
        status = None if result is None else result.headline.status
        row = [
            study.nct_id,
            study.diff.state,
            study.gravest,
            "" if status is None else status.alarm,
            "" if status is None else status.old or "",
            "" if status is None else status.new or "",
            len(study.lines_of("material")),
            len(study.lines),
            "" if result is None else "; ".join(result.headline.lines()),
            study.title,
            study.diff.sponsor or "",
            f"changes/{study.nct_id}.html" if study.nct_id in changes.diff_pages else "",
        ]
        writer.writerow([safe_cell(str(value)) for value in row])
    return buffer.getvalue()


def rules_text(explained: Iterable[str]) -> str:
    """``rules.txt``: the explain texts one after the other, a blank line between."""
    return "\n".join(explained)


def changes_markdown(changes: NightChanges, *, limit: int = 0) -> list[str]:
    """Tonight's changes as ``report.md`` lines: the counts, the material changes (``limit`` > 0:
    at most that many; all are in changes.csv) and the pair findings."""
    counts = changes.summary_dict()
    lines = [
        f"## What changed in the registry tonight (since {changes.previous_as_of.isoformat()})",
        "",
        f"- **{counts['changed']:,}** studies changed, **{counts['material']:,}** with a material change",
        f"- **{counts['into_unknown']:,}** went UNKNOWN tonight",
        f"- **{counts['new']:,}** new in the store, {counts['unchanged']:,} the same as the night before",
        f"- **{counts['pair_findings']:,}** pair-rule findings",
        "",
    ]
    material = changes.graded("material")
    shown = material if limit <= 0 else material[:limit]
    if shown:
        lines += ["| NCT ID | sponsor | what changed |", "| --- | --- | --- |"]
        for study in shown:
            result = study.diff.result
            what = [*([] if result is None else result.headline.lines())]
            what += [f"{n.label}: {n.summary}" for n in study.lines_of("material")]
            lines.append(f"| {md(study.nct_id)} | {md(study.diff.sponsor or '')} | {md('; '.join(what))} |")
        lines.append("")
    if changes.pair_findings:
        lines += [f"### Pair-rule findings ({len(changes.pair_findings):,})", ""]
        lines += [f"- {md(f.rule_id)} {md(f.nct_id)}: {md(f.message)}" for f in changes.pair_findings]
        lines.append("")
    return lines
