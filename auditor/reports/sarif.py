"""Findings as SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, VS Code viewers).

Valid against the official schema (``tests/test_ci_formats.py`` validates corpus reports).

* **Tool**: ``driver.name`` ``auditor``, ``driver.version``; one ``reportingDescriptor`` per
  rule checked (and per rule with findings), with ``shortDescription`` (the title),
  ``fullDescription`` and ``help`` (the rationale, the source and the rule file's line), the
  default level and the rule's tags.
* **Results**: each finding's location is its snapshot file (for pairs, the newer snapshot)
  as a URI *relative* to the run's folder with ``uriBaseId`` ``SRCROOT``, declared in
  ``originalUriBaseIds`` (GitHub code scanning resolves it against the checkout); a file outside
  that folder keeps an absolute ``file://`` URI. ``region.startLine`` is the line of the
  finding's first field where the reader knows it (Ignite text), else 1 (the file).
  ``partialFingerprints`` carries our fingerprint, so dashboards track a finding across runs
  the way ``--baseline`` does. Levels: error → error, warning → warning, info → note.
* **Waived** findings are results with ``suppressions`` (``kind: external``, the reason as
  ``justification``): dashboards show them as suppressed, not open.

JSON encoding escapes the record text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.findings import Finding, Severity
from auditor.reports.run_info import DEFAULT_RUN, RuleInfo, RunInfo, snapshot_file

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
BASE_ID = "SRCROOT"


def artifact_location(snapshot: str, run: RunInfo) -> dict[str, str]:
    """The ``artifactLocation`` of a snapshot path: relative to ``SRCROOT`` when it lies in the
    run's folder, else an absolute ``file://`` URI (``!`` keeps archive members)."""
    relative = run.relative(snapshot)
    if relative is not None:
        return {"uri": quote(relative, safe="/!._-~"), "uriBaseId": BASE_ID}
    path = snapshot_file(snapshot)
    archive, bang, member = path.partition("!")
    absolute = Path(run.base_dir or "/", archive).as_posix()
    return {"uri": "file://" + quote(absolute + bang + member, safe="/!._-~")}


def render_sarif(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    descriptors: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule in run.rules:
        index[rule.id] = len(descriptors)
        descriptors.append(_descriptor(rule))
    waived = [(w.finding, w) for w in run.waived_findings()]
    for f, _ in [*((f, None) for f in findings), *waived]:
        if f.rule_id not in index:
            index[f.rule_id] = len(descriptors)
            descriptors.append(
                _descriptor(RuleInfo(f.rule_id, f.title or f.rule_id, f.severity, defined_at=f.rule_source))
            )
    results = [_result(f, index, run) for f in findings]
    for f, w in waived:
        result = _result(f, index, run)
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f"{w.reason} ({w.waiver_at})"}
        ]
        results.append(result)
    the_run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "auditor",
                "version": run.version,
                "semanticVersion": run.version,
                "rules": descriptors,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if run.base_dir is not None:
        base = Path(run.base_dir).as_posix().rstrip("/") + "/"
        the_run["originalUriBaseIds"] = {BASE_ID: {"uri": "file://" + quote(base, safe="/._-~")}}
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [the_run]}
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.title or rule.id},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"ruleSource": rule.defined_at, "scope": rule.scope, "tags": list(rule.tags)},
    }
    if rule.rationale:
        descriptor["fullDescription"] = {"text": rule.rationale}
    help_lines = [line for line in (rule.rationale, _labelled("Source", rule.source)) if line]
    help_lines.append(_labelled("Defined at", rule.defined_at) or "")
    text = "\n\n".join(line for line in help_lines if line)
    if text:
        descriptor["help"] = {"text": text, "markdown": text}
    return descriptor


def _labelled(label: str, value: str) -> str:
    return f"{label}: {value}" if value else ""


def _result(f: Finding, index: dict[str, int], run: RunInfo) -> dict[str, Any]:
    return {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": LEVELS[f.severity],
        "message": {"text": f"{f.nct_id}: {f.message}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(f.snapshot, run),
                    "region": {"startLine": f.line or 1},
                }
            }
        ],
        "partialFingerprints": {"auditorFingerprint/v1": f.fingerprint},
        "properties": {"nctId": f.nct_id, "fields": list(f.fields), "snapshot": f.snapshot},
    }
