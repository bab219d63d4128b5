"""Findings as JSON: ``{"schema": 1, "count": n, "findings": [Finding.to_dict()…]}``.

With a waiver file (``run.waived`` not ``None``) a ``"waived"`` list follows the findings: each
waived finding's ``to_dict()`` with a ``"waiver"`` object (reason, expires, defined_at).

This document is also a baseline (``audit check --baseline FILE`` reads its fingerprints).

The text is exactly ``json.dumps(document, ensure_ascii=False, indent=1)`` plus a newline, but
written by :func:`_indented`: with ``indent`` the standard library falls back to its pure-Python
encoder, a generator per value, which cost more than the check itself on a registry-sized
report. Strings go through the C string encoder; the layout is rebuilt here
(``tests/test_findings_json.py`` holds the two equal).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditor.findings import Finding
from auditor.reports.run_info import DEFAULT_RUN, RunInfo

SCHEMA = 1
#: Findings per piece of :func:`json_pieces` (a few MB of text).
PIECE_FINDINGS = 10_000

try:
    from json.encoder import c_encode_basestring as _encode_string  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    from json.encoder import py_encode_basestring as _encode_string


def render_json(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> str:
    return "".join(json_pieces(findings, run))


def json_pieces(findings: list[Finding], run: RunInfo = DEFAULT_RUN) -> Iterator[str]:
    """:func:`render_json`'s text in pieces of :data:`PIECE_FINDINGS` findings, for writing as
    they are made: a registry-sized report (hundreds of MB) is then never held whole, nor once as
    text and once as bytes."""
    if not findings or run.waived is not None:
        yield _small_or_waived(findings, run)
        return
    # The layout of ``_indented`` for this one document shape, written a finding at a time: a
    # registry-sized report has hundreds of thousands of findings, and the generic walk (a
    # dict per finding, a call per value) was half of a warm ``audit check``. The parts every
    # finding of a rule shares are encoded once (``tests/test_findings_json.py`` holds the
    # text equal to ``json.dumps``).
    yield f'{{\n "schema": {json.dumps(SCHEMA)},\n "count": {len(findings)},\n "findings": [\n  '
    for start in range(0, len(findings), PIECE_FINDINGS):
        separator = "" if start == 0 else ",\n  "
        yield separator + ",\n  ".join(_finding_texts(findings[start : start + PIECE_FINDINGS]))
    yield "\n ]\n}\n"


def _small_or_waived(findings: list[Finding], run: RunInfo) -> str:
    """The whole document when there are no findings or a waiver file was used (its
    ``"waived"`` list follows the findings)."""
    document: dict[str, Any] = {"schema": SCHEMA, "count": len(findings), "findings": []}
    out: list[str] = []
    _indented(document, 0, out)
    text = "".join(out)
    if findings:
        text = text.replace(
            '"findings": []', '"findings": [\n  ' + ",\n  ".join(_finding_texts(findings)) + "\n ]"
        )
    if run.waived is not None:
        waived = [{**w.finding.to_dict(), "waiver": w.waiver_dict()} for w in run.waived]
        rest: list[str] = []
        _indented(waived, 1, rest)
        text = text[:-2] + ',\n "waived": ' + "".join(rest) + "\n}"
    return text + "\n"


def _finding_texts(findings: list[Finding]) -> list[str]:
    encode = _encode_string
    shared: dict[tuple[str, str, str], str] = {}
    field_lists: dict[tuple[str, ...], str] = {}
    keys: dict[str, str] = {}
    sources: dict[str, str] = {}
    out = []
    for finding in findings:
        top = (finding.rule_id, str(finding.severity), finding.title)
        prefix = shared.get(top)
        if prefix is None:
            prefix = shared[top] = (
                f'{{\n   "rule_id": {encode(top[0])},\n   "severity": {encode(top[1])},'
                f'\n   "title": {encode(top[2])},\n   "nct_id": '
            )
        fields = field_lists.get(finding.fields)
        if fields is None:
            fields = field_lists[finding.fields] = (
                "[\n    " + ",\n    ".join(map(encode, finding.fields)) + "\n   ]" if finding.fields else "[]"
            )
        values = dict(finding.values)
        if values:
            parts = []
            for key, value in values.items():
                name = keys.get(key)
                if name is None:
                    name = keys[key] = encode(key) + ": "
                parts.append(name + encode(value))
            shown = "{\n    " + ",\n    ".join(parts) + "\n   }"
        else:
            shown = "{}"
        source = sources.get(finding.rule_source)
        if source is None:
            source = sources[finding.rule_source] = encode(finding.rule_source)
        line = "" if finding.line is None else f',\n   "line": {json.dumps(finding.line)}'
        out.append(
            f'{prefix}{encode(finding.nct_id)},\n   "snapshot": {encode(finding.snapshot)},'
            f'\n   "fields": {fields},\n   "values": {shown},\n   "message": {encode(finding.message)},'
            f'\n   "rule_source": {source},\n   "fingerprint": {encode(finding.fingerprint)}{line}\n  }}'
        )
    return out


def _indented(value: Any, level: int, out: list[str]) -> None:
    """Append ``value`` as ``json.dumps(value, ensure_ascii=False, indent=1)`` would write it
    at nesting ``level``."""
    if isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        # json turns a non-string key into the text of its JSON scalar (1, true, null)
        parts = [
            _encode_string(key if isinstance(key, str) else json.dumps(key)) + ": " + _text(item, level + 1)
            for key, item in value.items()
        ]
        pad = "\n" + " " * (level + 1)
        out.append("{" + pad + ("," + pad).join(parts) + "\n" + " " * level + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        pad = "\n" + " " * (level + 1)
        parts = [_text(item, level + 1) for item in value]
        out.append("[" + pad + ("," + pad).join(parts) + "\n" + " " * level + "]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def _text(value: Any, level: int) -> str:
    if type(value) is str:  # the common case, without a list to join
        return _encode_string(value)  # type: ignore[no-any-return]
    out: list[str] = []
    _indented(value, level, out)
    return "".join(out)
