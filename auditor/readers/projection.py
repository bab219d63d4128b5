"""Read only the fields the rules and the staleness report use, from ClinicalTrials.gov XML and JSON.

A check needs a few dozen fields of a record (status, dates, sponsor, the rules' own fields and
lists); the full readers type every one of its hundreds of leaves, which is nearly all of a
check's cost at registry scale. :func:`project` parses the document with the standard library
(C code), takes the registered paths of the keys asked for, and builds those fields with the
readers' own :func:`~auditor.readers.typing.registered_field` — same key, raw text, type and
value as the full reader gives — and, for the list fields asked for (``primary_outcomes``,
``phases`` …), the items' sub-fields under the full readers' keys
(:mod:`auditor.readers.projected_lists`). ``tests/test_staleness_fast.py`` and
``tests/test_projection.py`` hold this over the corpus.

JSON is parsed with orjson (0.6× the time of ``json.loads`` on corpus studies; the parse is most
of a cold registry-scale check). It differs from the standard library in what it refuses —
``NaN``, ``Infinity``, ``1e999``, lone surrogates, nesting past 1,024 — and in reading an integer
beyond 64 bits as a float: the first are parse errors, and the full reader then reads the file
(and notes the value); an integer of 20 or more digits sends the document there before parsing,
so a projected field's raw text is always the full reader's.

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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from auditor.fields import FieldSpec, registry
from auditor.list_fields import list_registry
from auditor.readers.ctgov_xml import REPEATABLE
from auditor.readers.projected_lists import ListPlan, json_list_fields, list_plan, xml_list_fields
from auditor.readers.typing import ColumnBuilder, registered_field, scalar_raw
from auditor.records import Record, Source, SourceFormat, is_valid_nct_id

_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")
_XML_ROOT = "clinical_study"
#: A ``\\uD800``-``\\uDFFF`` escape, or anything that looks like one (one regex pass: two
#: ``in`` tests cost a twentieth of a projected parse).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD]")
#: A run of 20 digits — an integer orjson would read as a float, rarely a long number inside a
#: string — sends the document to the full reader. Found by mapping every digit to ``0`` and
#: searching for twenty of them: a twentieth of the time of the regex ``[0-9]{20}``.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20


@dataclass(frozen=True, slots=True)
class Plan:
    """What a projection builds: the registered fields (with each JSON path split once, not once
    per study) and the lists."""

    fields: tuple[FieldSpec, ...]
    json_paths: tuple[tuple[FieldSpec, tuple[str, ...]], ...]
    lists: ListPlan


@lru_cache(maxsize=32)
def plan(keys: frozenset[str]) -> Plan | None:
    """What to build for ``keys`` (registry keys and list fields) when every one can be
    projected from both formats, else ``None``.

    A registered field can when its JSON path and each of its XML paths go through no list and
    no element the XML schema lets repeat (the full readers do not register fields below those);
    a list when its registered paths are plain (:func:`~auditor.readers.projected_lists.list_plan`).
    """
    reg = registry()
    lists = list_registry()
    specs: list[FieldSpec] = []
    for key in sorted(keys):
        if key in lists:
            continue
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
    found_lists = list_plan(keys)
    if found_lists is None:
        return None
    json_paths = tuple((s, tuple(s.json.split("."))) for s in specs if s.json is not None)
    return Plan(tuple(specs), json_paths, found_lists)


def project(
    data: bytes, name: str, keys: frozenset[str], *, sha256: str | None = None
) -> list[Record] | None:
    """Records with only the fields of ``keys``, or ``None``: read this input in full.

    ``sha256``: the hex digest of ``data`` when the caller has it already (not hashed twice)."""
    wanted = plan(keys)
    if wanted is None:
        return None
    head = data[:64].lstrip(b" \t\r\n")
    if head[:1] == b"<":
        record = _xml(data, name, wanted, sha256)
        return None if record is None else [record]
    if head[:1] in (b"{", b"["):
        return _json(data, name, wanted, sha256)
    return None


# --- XML --------------------------------------------------------------------------------------


def _xml(data: bytes, name: str, wanted: Plan, sha256: str | None = None) -> Record | None:

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
    for spec in wanted.fields:
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
    if not xml_list_fields(root, wanted.lists, fields):
        return None
    source = Source(name, SourceFormat.CTGOV_XML, sha256 or hashlib.sha256(data).hexdigest())
    return Record(nct_id=nct_id, source=source, columns=fields.columns())


# --- JSON -------------------------------------------------------------------------------------


def _json(data: bytes, name: str, wanted: Plan, sha256: str | None = None) -> list[Record] | None:
    if (
        data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
        or _SURROGATE_ESCAPE.search(data)
        or _TWENTY_DIGITS in data.translate(_DIGITS_AS_ZERO)
    ):
        return None  # BOMs, surrogate escapes (maybe lone ones), huge integers: the full reader's care
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:  # also invalid UTF-8, NaN, 1e999, too deep
        return None
    if isinstance(document, dict) and "protocolSection" in document:
        record = _study(document, name, sha256 or hashlib.sha256(data).hexdigest(), wanted)
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
        record = _study(element, f"{name}#{index}", digest, wanted)
        if record is None:
            return None
        out.append(record)
    return out


_MISSING = object()


def _study(study: dict[str, Any], name: str, digest: str, wanted: Plan) -> Record | None:

    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        return None
    ident = protocol.get("identificationModule")
    nct = ident.get("nctId") if isinstance(ident, dict) else None
    if not isinstance(nct, str) or not is_valid_nct_id(nct):
        return None
    fields = ColumnBuilder()
    for spec, parts in wanted.json_paths:
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
    if not json_list_fields(study, wanted.lists, fields):
        return None
    return Record(nct_id=nct, source=Source(name, SourceFormat.CTGOV_JSON, digest), columns=fields.columns())
