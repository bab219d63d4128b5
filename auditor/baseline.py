"""Baselines: findings already known, so that a CI gate fails only on new problems.

A baseline file is the JSON report of an earlier run (``audit check … --format json --output
baseline.json``); a finding is "known" when its fingerprint (rule, study, fields — not the
snapshot path or the message, see :attr:`Finding.fingerprint`) is in it. A finding whose values
changed but whose rule and fields did not is still the same problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from auditor.errors import InputError
from auditor.findings import Finding
from auditor.inputs import MAX_REPORT_BYTES, read_file


def load_baseline(path: str | Path) -> frozenset[str]:
    """The fingerprints recorded in a findings JSON report (or a plain ``{"fingerprints": […]}``)."""
    data = read_file(path, what="baseline", limit=MAX_REPORT_BYTES)
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read baseline: {exc}", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"baseline is not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("baseline is not valid JSON: nested too deeply", path=path) from None
    if isinstance(document, dict) and isinstance(document.get("fingerprints"), list):
        items = document["fingerprints"]
    elif isinstance(document, dict) and isinstance(document.get("findings"), list):
        items = [
            entry.get("fingerprint") if isinstance(entry, dict) else None for entry in document["findings"]
        ]
    else:
        raise InputError("not a baseline (expected the JSON report of audit check)", path=path)
    if not all(isinstance(item, str) for item in items):
        raise InputError("baseline has a finding without a fingerprint", path=path)
    return frozenset(items)


def new_findings(findings: Iterable[Finding], known: frozenset[str]) -> tuple[list[Finding], int]:
    """The findings not in the baseline, and how many were suppressed."""
    kept: list[Finding] = []
    suppressed = 0
    for finding in findings:
        if finding.fingerprint in known:
            suppressed += 1
        else:
            kept.append(finding)
    return kept, suppressed
