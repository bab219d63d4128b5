"""Findings as CSV, one row per finding.

Cells that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or CR)
get a leading ``'``: record text is untrusted input.
"""

from __future__ import annotations

import csv
import io

from auditor.findings import Finding

COLUMNS = ("rule_id", "severity", "nct_id", "snapshot", "fields", "message", "rule_source", "fingerprint")


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(findings: list[Finding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for f in findings:
        row = (
            f.rule_id,
            str(f.severity),
            f.nct_id,
            f.snapshot,
            ";".join(f.fields),
            f.message,
            f.rule_source,
            f.fingerprint,
        )
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
