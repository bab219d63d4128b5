"""Bytes → text and format: the decoding every reader shares.

Inputs are UTF-8 (a BOM is dropped), UTF-16 with a BOM, else Windows-1252 with a problem
noted — a fallback decoding is a problem, not an error, so that no data is dropped. Binary and
empty inputs are errors. :func:`sniff` tells the format from the first non-blank characters.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from auditor.errors import InputError
from auditor.records import SourceFormat


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_sha256(element: Any) -> str:
    """SHA-256 of a JSON value's canonical form (keys sorted, no spaces, UTF-8): one element of
    a list names the same study whatever the order of its keys in an export."""
    blob = json.dumps(element, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def decode_text(data: bytes, path: str) -> tuple[str, list[str]]:
    """Decode an input to text: UTF-8 (a BOM is dropped), UTF-16 with a BOM, else Windows-1252.

    Returns the text and the problems met (a fallback decoding is a problem, not an error, so
    that no data is dropped). Binary and empty inputs are :class:`InputError`.
    """
    problems: list[str] = []
    if not data or data.isspace():  # (no copy of the input, unlike strip)
        raise InputError("empty file", path=path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-16 at byte {exc.start}", path=path) from exc
        problems.append("decoded as UTF-16")
    else:
        if data.find(b"\x00", 0, 8192) >= 0:
            raise InputError("binary file (NUL bytes), not a study record", path=path)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = data.decode("cp1252", errors="replace")
            problems.append(
                f"not valid UTF-8 (first bad byte at offset {exc.start}); decoded as Windows-1252"
            )
    if "\x00" in text:
        raise InputError("binary file (NUL characters), not a study record", path=path)
    return text, problems


def sniff(data: bytes) -> SourceFormat | None:
    """Tell the format from the first non-blank characters; ``None`` when it is none of ours."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    if head.startswith(b"\xfe\xff") or b"\x00" in head[:64]:
        try:
            head = data.decode("utf-16").lstrip("\ufeff \t\r\n")[:2048].encode("utf-8")
        except UnicodeDecodeError:
            return None
    if head[:1] in (b"{", b"["):
        return SourceFormat.CTGOV_JSON
    if head[:1] == b"<":
        return SourceFormat.CTGOV_XML
    if head.startswith(b"Viewing Study"):
        return SourceFormat.IGNITE_TEXT
    if b"Ignite Creation Date:" in head or b"NCT ID:" in head:
        return SourceFormat.IGNITE_MODULE
    return None
