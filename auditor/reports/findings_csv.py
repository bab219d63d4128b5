"""Findings as CSV, one row per finding.

With a waiver file (``run.waived`` not ``None``) a ``waiver`` column is added, empty for open
findings, holding the reason for the waived ones, which follow the open ones.

Cells that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or CR)
get a leading ``'``: record text is untrusted input.
"""

from __future__ import annotations

import csv
import io

from auditor.findings import Finding
from auditor.reports.run_info import DEFAULT_RUN, RunInfo

COLUMNS = ("rule_id", "severity", "nct_id", "snapshot", "fields", "message", "rule_source", "fingerprint")


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it rather than runs it (see the module docstring)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    waivers = run.waived is not None
    writer.writerow(COLUMNS + (("waiver",) if waivers else ()))
    rows = [(f, "") for f in findings] + [(w.finding, w.reason) for w in run.waived_findings()]
    for f, reason in rows:
        row: tuple[str, ...] = (
            f.rule_id,
            str(f.severity),
            f.nct_id,
            f.snapshot,
            ";".join(f.fields),
            f.message,
            f.rule_source,
            f.fingerprint,
        )
        if waivers:
            row += (reason,)
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
