"""Read only the fields the staleness report uses, from ClinicalTrials.gov XML and JSON.

The report needs about eight fields of a record (status, verified date, sponsor, title, the
rules' own fields); the full readers type every one of its hundred-odd leaves, which is nearly
all of the report's cost at registry scale. :func:`project` parses the document with the
standard library (C code), takes the registered paths of the keys asked for, and builds those
fields with the readers' own :func:`~auditor.readers.typing.registered_field` — same key, raw text,
type and value as the full reader gives (``tests/test_staleness_fast.py`` holds this over the
corpus).

It only handles the plain case and says so by returning ``None`` for anything else, which the
caller then reads with the full reader: a DOCTYPE (refused there, with its message), a document
that does not parse, a path that matches twice or holds children, an element or key under a
repeatable element, a classic v1 or non-UTF-8 JSON, an element that is not a study. Errors are
therefore always the full reader's errors, worded the same way. Ignite text always takes the
full reader (its sections and multi-paragraph values need it).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from auditor.fields import FieldSpec, registry
from auditor.readers.ctgov_xml import REPEATABLE
from auditor.readers.typing import ColumnBuilder, registered_field, scalar_raw
from auditor.records import Record, Source, SourceFormat, is_valid_nct_id

_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")
_XML_ROOT = "clinical_study"
#: A ``\\uD800``-``\\uDFFF`` escape, or anything that looks like one (one regex pass: two
#: ``in`` tests cost a twentieth of a projected parse).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD]")


@lru_cache(maxsize=32)
def plan(keys: frozenset[str]) -> tuple[FieldSpec, ...] | None:
    """The specs of ``keys`` when every one can be projected from both formats, else ``None``.

    A key can when its JSON path and each of its XML paths go through no list and no element
    the XML schema lets repeat (the full readers do not register fields below those).
    """
    reg = registry()
    specs: list[FieldSpec] = []
    for key in sorted(keys):
        spec = reg.by_key.get(key)
        if spec is None:
            return None
        for path in spec.xml:
            parts = [_XML_ROOT, *path.partition("/@")[0].split("/")]
            for parent, child in itertools.pairwise(parts):
                if parent.endswith("_list") or f"{parent}/{child}" in REPEATABLE:
                    return None
        if spec.json is not None and "[" in spec.json:
            return None
        specs.append(spec)
    return tuple(specs)


def project(
    data: bytes, name: str, keys: frozenset[str], *, sha256: str | None = None
) -> list[Record] | None:
    """Records with only the fields of ``keys``, or ``None``: read this input in full.

    ``sha256``: the hex digest of ``data`` when the caller has it already (not hashed twice)."""
    specs = plan(keys)
    if specs is None:
        return None
    head = data[:64].lstrip(b" \t\r\n")
    if head[:1] == b"<":
        record = _xml(data, name, specs, sha256)
        return None if record is None else [record]
    if head[:1] in (b"{", b"["):
        return _json(data, name, specs, sha256)
    return None


# --- XML --------------------------------------------------------------------------------------


def _xml(data: bytes, name: str, specs: Iterable[FieldSpec], sha256: str | None = None) -> Record | None:

    root_start = _ROOT_ELEMENT.search(data)
    if root_start is None or _DECLARATION.search(data, 0, root_start.start()):
        return None  # a DTD can only come before the root element; the full reader refuses it
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError):  # also an encoding declaration expat can't use
        return None
    if root.tag != _XML_ROOT:
        return None
    ids = root.findall("id_info/nct_id")
    if len(ids) != 1:
        return None
    nct_id = (ids[0].text or "").strip()
    if not is_valid_nct_id(nct_id):
        return None
    fields = ColumnBuilder()
    for spec in specs:
        # the first alternative present wins, as in the full reader's _registered_paths
        for path in spec.xml:
            element_path, _, attribute = path.partition("/@")
            found = root.findall(element_path)
            if found and (not attribute or attribute in found[0].attrib):
                break
        else:
            continue
        if len(found) != 1 or len(found[0]):
            return None
        element = found[0]
        if attribute:
            raw = element.attrib[attribute].strip()
        else:
            raw = (element.text or "").strip()
            if not raw and element.attrib:
                continue  # the full reader keeps only the attributes of such an element
        fields.add(registered_field(spec, raw)[0])
    source = Source(name, SourceFormat.CTGOV_XML, sha256 or hashlib.sha256(data).hexdigest())
    return Record(nct_id=nct_id, source=source, columns=fields.columns())


# --- JSON -------------------------------------------------------------------------------------


def _json(
    data: bytes, name: str, specs: tuple[FieldSpec, ...], sha256: str | None = None
) -> list[Record] | None:
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or _SURROGATE_ESCAPE.search(data):
        return None  # BOMs and \\uXXXX surrogate escapes (maybe lone ones): the full reader's care
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if isinstance(document, dict) and "protocolSection" in document:
        record = _study(document, name, sha256 or hashlib.sha256(data).hexdigest(), specs)
        return None if record is None else [record]
    elements = document if isinstance(document, list) else None
    if isinstance(document, dict) and isinstance(document.get("studies"), list):
        elements = document["studies"]
    if not elements:
        return None
    out: list[Record] = []
    for index, element in enumerate(elements):
        if not isinstance(element, dict) or "protocolSection" not in element:
            return None
        blob = json.dumps(element, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()
        record = _study(element, f"{name}#{index}", digest, specs)
        if record is None:
            return None
        out.append(record)
    return out


_MISSING = object()


_PATHS: dict[int, tuple[tuple[FieldSpec, ...], tuple[tuple[FieldSpec, tuple[str, ...]], ...]]] = {}


def _json_paths(specs: tuple[FieldSpec, ...]) -> tuple[tuple[FieldSpec, tuple[str, ...]], ...]:
    """The specs that have a JSON path, each with its path split once (not once per study).

    Keyed by the identity of ``specs`` (the tuple :func:`plan` caches), not by its value:
    hashing nineteen specs per study was a twentieth of a projected parse."""
    found = _PATHS.get(id(specs))
    if found is None or found[0] is not specs:
        found = (specs, tuple((s, tuple(s.json.split("."))) for s in specs if s.json is not None))
        if len(_PATHS) > 64:
            _PATHS.clear()
        _PATHS[id(specs)] = found
    return found[1]


def _study(study: dict[str, Any], name: str, digest: str, specs: tuple[FieldSpec, ...]) -> Record | None:

    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        return None
    ident = protocol.get("identificationModule")
    nct = ident.get("nctId") if isinstance(ident, dict) else None
    if not isinstance(nct, str) or not is_valid_nct_id(nct):
        return None
    fields = ColumnBuilder()
    for spec, parts in _json_paths(specs):
        value: Any = study
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part, _MISSING)
            if value is _MISSING:
                break
        if value is _MISSING:
            continue
        if isinstance(value, dict | list):
            if value:
                return None
            raw = ""
        else:
            raw = scalar_raw(value)
        fields.add(registered_field(spec, raw)[0])
    return Record(nct_id=nct, source=Source(name, SourceFormat.CTGOV_JSON, digest), columns=fields.columns())
