"""Findings as a terminal summary: one line per finding, then counts per rule and severity."""

from __future__ import annotations

import re
from collections import Counter

from auditor.findings import Finding, Severity

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Record text with control characters (terminal escapes included) shown as ``\\xNN``
    and line breaks as ``\\n``, so a finding is one line and cannot restyle the terminal."""
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _at(line: int | None) -> str:
    return "" if line is None else f":{line}"


def render_text(findings: list[Finding]) -> str:
    """``snapshot[:line]: NCT…: severity [rule-id] message`` lines, then a summary."""
    lines = [
        printable(f"{f.snapshot}{_at(f.line)}: {f.nct_id}: {f.severity} [{f.rule_id}] {f.message}")
        for f in findings
    ]
    if not findings:
        return "No findings.\n"
    by_rule = Counter((f.rule_id, f.severity) for f in findings)
    by_severity = Counter(f.severity for f in findings)
    studies = len({f.nct_id for f in findings})
    lines.append("")
    lines.append(f"{len(findings)} findings in {studies} studies:")
    for (rule_id, severity), count in sorted(
        by_rule.items(), key=lambda item: (-item[0][1].rank, item[0][0])
    ):
        lines.append(f"  {count:6d}  {severity:<7}  {rule_id}")
    totals = ", ".join(f"{by_severity[s]} {s}" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    lines.append(f"total: {totals}")
    return "\n".join(lines) + "\n"
