"""Findings as GitLab Code Quality JSON (the Code Climate issue subset GitLab reads).

An array of ``{"description", "check_name", "fingerprint", "severity", "location": {"path",
"lines": {"begin"}}}`` (docs.gitlab.com, "Code Quality": "Implement a custom tool"), shown in
merge requests and compared between the base and the head branch by ``fingerprint``.

* ``fingerprint``: a hash of our finding fingerprint (rule, study, fields) and the relative
  path, unique within a report (GitLab drops duplicates) and stable across runs.
* ``severity``: error → critical, warning → major, info → info.
* ``path`` is relative to the run's folder (the repository root in a GitLab job);
  ``lines.begin`` is the finding's line where the reader knows it, else 1.

Waived findings are left out: the format has no suppressed state, and an issue of any severity
would show in the merge request as a problem. The closing summary on stderr counts them.
"""

from __future__ import annotations

import hashlib
import json

from auditor.findings import Finding, Severity
from auditor.reports.run_info import DEFAULT_RUN, RunInfo, snapshot_file

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def render_gitlab(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    issues = []
    seen: set[str] = set()
    for f in findings:
        path = run.relative(f.snapshot) or snapshot_file(f.snapshot)
        fingerprint = hashlib.sha256(f"{f.fingerprint}\x1f{path}".encode()).hexdigest()[:32]
        if fingerprint in seen:  # the same finding twice in one file: GitLab would drop one
            continue
        seen.add(fingerprint)
        issues.append(
            {
                "type": "issue",
                "engine_name": "auditor",
                "check_name": f.rule_id,
                "description": f"{f.nct_id}: {f.message}",
                "categories": ["Bug Risk"],
                "fingerprint": fingerprint,
                "severity": SEVERITIES[f.severity],
                "location": {"path": path, "lines": {"begin": f.line or 1}},
            }
        )
    return json.dumps(issues, ensure_ascii=False, indent=1) + "\n"
