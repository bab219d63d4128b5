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
    return json.dumps(changes.to_dict(), indent=2, ensure_ascii=False) + "\n"


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
