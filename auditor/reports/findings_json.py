"""Findings as JSON: ``{"schema": 1, "count": n, "findings": [Finding.to_dict()…]}``.

This document is also a baseline (``audit check --baseline FILE`` reads its fingerprints).
"""

from __future__ import annotations

import json

from auditor.findings import Finding

SCHEMA = 1


def render_json(findings: list[Finding]) -> str:
    document = {"schema": SCHEMA, "count": len(findings), "findings": [f.to_dict() for f in findings]}
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
