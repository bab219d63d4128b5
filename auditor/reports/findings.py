"""Findings reporters by format name: pure functions ``(findings, run) -> str``.

``run`` (:class:`~auditor.reports.run_info.RunInfo`) tells a report what it cannot see in the
findings — the rules checked, the threshold, the waived findings; it may be left out.
Writing (stdout or an atomic file) is the CLI's job, not a reporter's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from auditor.findings import Finding
from auditor.reports.findings_csv import render_csv
from auditor.reports.findings_json import json_pieces, render_json
from auditor.reports.findings_text import render_text
from auditor.reports.github import render_github
from auditor.reports.gitlab import render_gitlab
from auditor.reports.junit import render_junit
from auditor.reports.run_info import DEFAULT_RUN, RunInfo
from auditor.reports.sarif import render_sarif


class Reporter(Protocol):
    def __call__(self, findings: list[Finding], run: RunInfo = DEFAULT_RUN, /) -> str: ...


REPORTERS: dict[str, Reporter] = {
    "text": render_text,
    "json": render_json,
    "csv": render_csv,
    "junit": render_junit,
    "sarif": render_sarif,
    "github": render_github,
    "gitlab": render_gitlab,
}


def report_pieces(fmt: str, findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> Iterable[str]:
    """The report in ``fmt`` as pieces to write one after another: JSON a few thousand findings
    at a time (a registry-sized report is hundreds of MB), the others whole."""
    if fmt == "json":
        return json_pieces(findings, run)
    return [REPORTERS[fmt](findings, run)]
