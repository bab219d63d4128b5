"""Findings as JSON: ``{"schema": 1, "count": n, "findings": [Finding.to_dict()…]}``.

This document is also a baseline (``audit check --baseline FILE`` reads its fingerprints).

The text is exactly ``json.dumps(document, ensure_ascii=False, indent=1)`` plus a newline, but
written by :func:`_indented`: with ``indent`` the standard library falls back to its pure-Python
encoder, a generator per value, which cost more than the check itself on a registry-sized
report. Strings go through the C string encoder; the layout is rebuilt here
(``tests/test_findings_json.py`` holds the two equal).
"""

from __future__ import annotations

import json
from typing import Any

from auditor.findings import Finding

SCHEMA = 1

try:
    from json.encoder import c_encode_basestring as _encode_string  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    from json.encoder import py_encode_basestring as _encode_string


def render_json(findings: list[Finding]) -> str:
    document = {"schema": SCHEMA, "count": len(findings), "findings": [f.to_dict() for f in findings]}
    out: list[str] = []
    _indented(document, 0, out)
    out.append("\n")
    return "".join(out)


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
