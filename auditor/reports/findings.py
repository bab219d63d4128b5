"""Findings reporters by format name: pure functions ``list[Finding] -> str``.

Writing (stdout or an atomic file) is the CLI's job, not a reporter's.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.findings import Finding
from auditor.reports.findings_csv import render_csv
from auditor.reports.findings_json import render_json
from auditor.reports.findings_text import render_text
from auditor.reports.junit import render_junit
from auditor.reports.sarif import render_sarif

Reporter = Callable[[list[Finding]], str]

REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "csv": render_csv,
    "junit": render_junit,
    "sarif": render_sarif,
}
