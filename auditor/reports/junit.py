"""Findings as JUnit XML, the format CI servers (Jenkins, GitLab, GitHub test reporters) read.

One ``<testsuite>`` per rule, one failing ``<testcase>`` per finding (``classname`` = rule id,
``name`` = NCT ID and snapshot). With no findings, one passing test case says so, because some
consumers reject an empty report. Text goes through ElementTree (escaped) after characters
that XML 1.0 cannot carry are replaced.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import groupby

from auditor.findings import Finding

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (each becomes U+FFFD)."""
    return _NOT_XML.sub("\ufffd", text)


def render_junit(findings: list[Finding]) -> str:
    root = ET.Element(
        "testsuites",
        name="audit check",
        tests=str(max(len(findings), 1)),
        failures=str(len(findings)),
        errors="0",
    )
    if not findings:
        suite = ET.SubElement(
            root, "testsuite", name="audit check", tests="1", failures="0", errors="0", skipped="0"
        )
        ET.SubElement(suite, "testcase", classname="audit check", name="no findings")
    ordered = sorted(findings, key=lambda f: f.rule_id)
    for rule_id, group in groupby(ordered, key=lambda f: f.rule_id):
        items = list(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=xml_text(rule_id),
            tests=str(len(items)),
            failures=str(len(items)),
            errors="0",
            skipped="0",
        )
        for f in items:
            attributes = {
                "classname": xml_text(rule_id),
                "name": xml_text(f"{f.nct_id} {f.snapshot}"),
                "file": xml_text(f.snapshot.split(" -> ")[-1]),
            }
            if f.line is not None:
                attributes["line"] = str(f.line)
            case = ET.SubElement(suite, "testcase", attributes)
            failure = ET.SubElement(case, "failure", message=xml_text(f.message), type=str(f.severity))
            failure.text = xml_text(
                f"{f.title}\n{f.message}\nfields: {', '.join(f.fields)}\nrule: {f.rule_source}\n"
                f"fingerprint: {f.fingerprint}"
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
