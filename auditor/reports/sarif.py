"""Findings as SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, VS Code viewers).

Each rule that has findings becomes a ``reportingDescriptor``; each finding a ``result`` whose
location is the snapshot file (for pairs, the newer snapshot) and ``region.startLine`` the line
of the finding's first field where the reader knows it (Ignite text), else 1 (the file).
``partialFingerprints`` carries our fingerprint so that dashboards track a finding across runs
the way ``--baseline`` does. Levels: error → error, warning → warning, info → note. JSON
encoding escapes the record text.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from auditor.findings import Finding, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(snapshot: str) -> str:
    """A URI reference for a snapshot path (the newer one of a pair; ``!`` keeps archive members)."""
    path = snapshot.split(" -> ")[-1].replace("\\", "/")
    return quote(path, safe="/!:._-~")


def render_sarif(findings: list[Finding]) -> str:
    rules: dict[str, int] = {}
    descriptors: list[dict[str, object]] = []
    for f in findings:
        if f.rule_id in rules:
            continue
        rules[f.rule_id] = len(descriptors)
        descriptor: dict[str, object] = {
            "id": f.rule_id,
            "name": f.rule_id,
            "shortDescription": {"text": f.title or f.rule_id},
            "defaultConfiguration": {"level": LEVELS[f.severity]},
            "properties": {"ruleSource": f.rule_source},
        }
        descriptors.append(descriptor)
    results = []
    for f in findings:
        results.append(
            {
                "ruleId": f.rule_id,
                "ruleIndex": rules[f.rule_id],
                "level": LEVELS[f.severity],
                "message": {"text": f"{f.nct_id}: {f.message}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": artifact_uri(f.snapshot)},
                            "region": {"startLine": f.line or 1},
                        }
                    }
                ],
                "partialFingerprints": {"auditorFingerprint/v1": f.fingerprint},
                "properties": {"nctId": f.nct_id, "fields": list(f.fields), "snapshot": f.snapshot},
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "auditor",
                        "rules": descriptors,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
