"""Findings as JUnit XML, the format CI servers (Jenkins, GitLab, GitHub test reporters) read.

Each rule checked is a ``<testsuite>`` (``name`` = rule id) and each finding a ``<testcase>``
(``classname`` = rule id, ``name`` = NCT ID and snapshot, ``file``, ``line``). The report agrees
with the exit code:

* a finding at or above ``--fail-on`` has a ``<failure>``; one below it is a passing test case
  whose ``<system-out>`` holds the finding (seen in the report, not a failure: a run that exits
  0 has ``failures="0"``, so Jenkins does not mark the build unstable);
* a waived finding is ``<skipped>`` with the waiver's reason;
* ``tests`` counts the checks made: snapshots × rules (pairs × rules for pair and history rules
  and the store's checks, where the number of pairs is known, else that rule's findings). The
  snapshots without a finding are not listed one by one — a nightly run checks hundreds of
  thousands — but as one passing test case per rule ("N snapshots without a finding"), so every
  suite has at least one test case.

Text goes through ElementTree (escaped) after characters that XML 1.0 cannot carry are replaced.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from auditor.findings import Finding
from auditor.reports.run_info import DEFAULT_RUN, RuleInfo, RunInfo, Waived, snapshot_file
from auditor.text import plural

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (each becomes U+FFFD)."""
    return _NOT_XML.sub("\ufffd", text)


def render_junit(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_rule[f.rule_id].append(f)
    waived_by_rule: dict[str, list[Waived]] = defaultdict(list)
    for w in run.waived_findings():
        waived_by_rule[w.finding.rule_id].append(w)
    rules = {rule.id: rule for rule in run.rules}
    order = [*rules, *sorted((set(by_rule) | set(waived_by_rule)) - set(rules))]
    root = ET.Element("testsuites", name="audit check")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for rule_id in order:
        counts = _suite(root, rule_id, rules.get(rule_id), by_rule[rule_id], waived_by_rule[rule_id], run)
        for key in totals:
            totals[key] += counts[key]
    if not order:
        suite = ET.SubElement(root, "testsuite", name="audit check", tests="1", failures="0", errors="0")
        suite.set("skipped", "0")
        ET.SubElement(suite, "testcase", classname="audit check", name="no rule run, no findings")
        totals["tests"] = 1
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(
    root: ET.Element,
    rule_id: str,
    rule: RuleInfo | None,
    found: list[Finding],
    waived: list[Waived],
    run: RunInfo,
) -> dict[str, int]:
    listed = len(found) + len(waived)
    over_time = rule is not None and rule.scope != "record"  # pair, history and store checks
    checked = run.pairs if over_time else run.checked
    if rule is None or checked is None:
        checked = listed
    tests = max(checked, listed)
    failures = run.failing(found)
    name = xml_text(rule_id)
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(tests), failures=str(failures), errors="0")
    suite.set("skipped", str(len(waived)))
    for f in found:
        case = _case(suite, name, f)
        if run.fails(f):
            failure = ET.SubElement(case, "failure", message=xml_text(f.message), type=str(f.severity))
            failure.text = _details(f)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{f.severity} (below --fail-on): " + _details(f)
    for w in waived:
        case = _case(suite, name, w.finding)
        skipped = ET.SubElement(case, "skipped", message=xml_text(f"waived: {w.reason}"))
        skipped.text = _details(w.finding) + xml_text(f"waiver: {w.waiver_at}\n")
    if tests > listed:
        clean = tests - listed
        noun = "pair" if over_time else "snapshot"
        ET.SubElement(
            suite,
            "testcase",
            classname=name,
            name=f"{plural(clean, noun)} without a finding",
        )
    return {"tests": tests, "failures": failures, "skipped": len(waived)}


def _case(suite: ET.Element, classname: str, f: Finding) -> ET.Element:
    attributes = {
        "classname": classname,
        "name": xml_text(f"{f.nct_id} {f.snapshot}"),
        "file": xml_text(snapshot_file(f.snapshot)),
    }
    if f.line is not None:
        attributes["line"] = str(f.line)
    return ET.SubElement(suite, "testcase", attributes)


def _details(f: Finding) -> str:
    return xml_text(
        f"{f.title}\n{f.message}\nfields: {', '.join(f.fields)}\nrule: {f.rule_source}\n"
        f"fingerprint: {f.fingerprint}\n"
    )
