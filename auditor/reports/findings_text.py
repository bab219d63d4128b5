"""Findings as a terminal summary: one line per finding, then counts per rule and severity."""

from __future__ import annotations

import re
from collections import Counter

from auditor.findings import Finding, Severity
from auditor.reports.run_info import DEFAULT_RUN, RunInfo
from auditor.text import plural

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: ANSI colours of the severity words when colour is on (bold red, yellow, cyan).
_STYLE = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_RESET = "\x1b[0m"


def printable(text: str) -> str:
    """Record text with control characters (terminal escapes included) shown as ``\\xNN``
    and line breaks as ``\\n``, so a finding is one line and cannot restyle the terminal."""
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _at(line: int | None) -> str:
    return "" if line is None else f":{line}"


def render_text(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    """``snapshot[:line]: NCT…: severity [rule-id] message`` lines, then a summary."""

    def severity(s: Severity) -> str:
        return f"{_STYLE[s]}{s}{_RESET}" if run.color else str(s)

    lines = [
        printable(f"{f.snapshot}{_at(f.line)}: {f.nct_id}: ").replace("\x1b", "")
        + severity(f.severity)
        + printable(f" [{f.rule_id}] {f.message}")
        for f in findings
    ]
    waived = run.waived_findings()
    if not findings:
        lines.append("No findings.")
    else:
        by_rule = Counter((f.rule_id, f.severity) for f in findings)
        by_severity = Counter(f.severity for f in findings)
        studies = len({f.nct_id for f in findings})
        lines.append("")
        lines.append(f"{plural(len(findings), 'finding')} in {plural(studies, 'study', 'studies')}:")
        lines.append(f"  {'count':>6}  {'severity':<8} rule")
        for (rule_id, sev), count in sorted(by_rule.items(), key=lambda item: (-item[0][1].rank, item[0][0])):
            lines.append(f"  {count:6d}  {severity(sev)}{' ' * (8 - len(sev))} {rule_id}")
        totals = ", ".join(
            f"{by_severity[s]} {s}" if s is Severity.INFO else plural(by_severity[s], str(s))
            for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        )
        lines.append(f"total: {totals}")
    if waived:
        reasons = Counter(w.reason for w in waived)
        lines.append(f"waived: {plural(len(waived), 'finding')} ({plural(len(reasons), 'reason')})")
    return "\n".join(lines) + "\n"
