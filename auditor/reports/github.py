"""Findings as GitHub Actions workflow commands: one annotation per finding.

``::error file=snapshots/NCT….json,line=12,title=unknown-status-stale::NCT…: message`` — the
documented syntax (docs.github.com, "Workflow commands for GitHub Actions": ``error``,
``warning`` and ``notice`` with ``file``, ``line`` and ``title``). Values are escaped as the
Actions toolkit escapes them (``@actions/core`` ``command.ts``): in the message ``%``, CR and
LF become ``%25``, ``%0D``, ``%0A``; in a property ``:`` and ``,`` also become ``%3A``,
``%2C``. So record text can neither end the annotation early nor start another command.

Severities map to error / warning / notice whatever ``--fail-on`` is (the exit code fails the
step, not the annotations). Paths are relative to the run's folder (the checkout, where GitHub
places annotations); waived findings are not annotated, only counted in the closing line.
"""

from __future__ import annotations

import re
from collections import Counter

from auditor.findings import Finding, Severity
from auditor.reports.run_info import DEFAULT_RUN, RunInfo, snapshot_file
from auditor.text import plural

_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """A message as the toolkit escapes it, with other control characters (a terminal escape,
    a vertical tab) shown as ``\\xNN`` so that record text cannot restyle the log."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    lines = []
    for f in findings:
        path = run.relative(f.snapshot) or snapshot_file(f.snapshot)
        properties = [f"file={escape_property(path)}"]
        if f.line is not None:
            properties.append(f"line={f.line}")
        properties.append(f"title={escape_property(f'{f.rule_id} ({f.severity})')}")
        message = escape_data(f"{f.nct_id}: {f.message}")
        lines.append(f"::{COMMANDS[f.severity]} {','.join(properties)}::{message}")
    lines.append(summary_line(findings, run))
    return "\n".join(lines) + "\n"


def summary_line(findings: list[Finding], run: RunInfo) -> str:
    """``audit: 3 findings (1 error, 2 warnings), 1 failing at --fail-on error, 2 waived``."""
    counts = Counter(f.severity for f in findings)
    parts = [
        f"{counts[s]} info" if s is Severity.INFO else plural(counts[s], str(s))
        for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if counts[s]
    ]
    text = f"audit: {plural(len(findings), 'finding')}"
    if parts:
        text += f" ({', '.join(parts)})"
    if run.fail_on is None:
        text += ", none failing (--fail-on none)"
    else:
        text += f", {run.failing(findings)} failing at --fail-on {run.fail_on}"
    if run.waived is not None:
        text += f", {len(run.waived)} waived"
    if run.baselined:
        text += f", {run.baselined} in the baseline"
    return text
