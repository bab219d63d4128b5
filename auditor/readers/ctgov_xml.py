"""Legacy ClinicalTrials.gov XML (``<clinical_study>``) → one record.

A document in the pre-2007 archive schema (``<study_id><nct_id>``, ``<status_block>``) is refused
with "pre-2007 archive schema is not read", naming its study.

Safety: a document with a ``<!DOCTYPE`` or ``<!ENTITY`` declaration is refused before it is
parsed (the registry's XML never has one, and entity expansion is how XML bombs work).
Malformed XML is an :class:`~auditor.errors.InputError` naming the line and column.

Fields, in document order:

* registered XML paths (``fields.yaml`` ``xml:``, relative to ``<clinical_study>``, ``a/@b``
  for an attribute) get the registry key, label and section. Where a field has alternatives
  (``study_first_submitted|firstreceived_date``) the first one present in the document wins;
  the others are kept under their path labels, so nothing is lost and no key is read twice;
* every other leaf element gets a path label such as ``clinical_study.location[0].facility.name``
  and every attribute a final ``attr_<name>`` segment (``clinical_study.enrollment.attr_type``);
* elements the ClinicalTrials.gov schema allows to repeat (``condition``, ``location``,
  ``mesh_term`` …, every child of a ``…_list`` element) are always indexed, even when there is
  only one, so a label means the same thing in every version of a record; any other element
  is indexed when it occurs more than once in its parent;
* the raw value is the element's text without leading and trailing whitespace (text blocks keep
  their inner line breaks and indentation); an empty element is a field with raw ``""``.

Unregistered fields are put in the registry section of their top-level element (``location`` →
Contacts and Locations, ``clinical_results`` → Results, …; anything unknown → Misc).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections import Counter
from functools import lru_cache

from auditor.errors import InputError
from auditor.fields import FieldSpec, path_key, registry
from auditor.readers.typing import ColumnBuilder, registered_field
from auditor.records import Record, Source, SourceFormat, is_valid_nct_id

ROOT = "clinical_study"

#: ``parent/child`` elements the ClinicalTrials.gov public.xsd declares ``maxOccurs="unbounded"``
#: (by parent: ``country`` repeats in ``location_countries``, not in a facility's ``address``).
REPEATABLE = frozenset(
    {
        "id_info/secondary_id", "id_info/nct_alias", "sponsors/collaborator", "oversight_info/authority",
        "clinical_study/condition", "clinical_study/keyword", "clinical_study/primary_outcome",
        "clinical_study/secondary_outcome", "clinical_study/other_outcome", "clinical_study/arm_group",
        "clinical_study/intervention", "intervention/arm_group_label", "intervention/other_name",
        "clinical_study/overall_official", "clinical_study/location", "location/investigator",
        "location_countries/country", "removed_countries/country", "clinical_study/link",
        "clinical_study/reference", "clinical_study/results_reference", "condition_browse/mesh_term",
        "intervention_browse/mesh_term", "study_docs/study_doc", "patient_data/ipd_info_type",
        "provided_document_section/provided_document", "pending_results/submitted",
        "pending_results/returned", "pending_results/submission_canceled", "analysis/group_id",
        "event/counts",
    }
)  # fmt: skip

_REPEATABLE_BY_PARENT: dict[str, frozenset[str]] = {}
for _pair in REPEATABLE:
    _parent, _child = _pair.split("/")
    _REPEATABLE_BY_PARENT[_parent] = _REPEATABLE_BY_PARENT.get(_parent, frozenset()) | {_child}
_NO_TAGS: frozenset[str] = frozenset()

#: Registry section of each top-level element; fields under unknown elements go to Misc.
SECTIONS: dict[str, str] = {
    "required_header": "Derived",
    "id_info": "Study Overview",
    "brief_title": "Study Overview",
    "acronym": "Study Overview",
    "official_title": "Study Overview",
    "brief_summary": "Study Overview",
    "detailed_description": "Study Overview",
    "overall_status": "Study Overview",
    "last_known_status": "Study Overview",
    "why_stopped": "Study Overview",
    "start_date": "Study Overview",
    "completion_date": "Study Overview",
    "primary_completion_date": "Study Overview",
    "verification_date": "Study Overview",
    "has_expanded_access": "Study Overview",
    "firstreceived_date": "Study Overview",
    "firstreceived_results_date": "Study Overview",
    "firstreceived_results_disposition_date": "Study Overview",
    "lastchanged_date": "Study Overview",
    "study_first_submitted": "Study Overview",
    "study_first_submitted_qc": "Study Overview",
    "study_first_posted": "Study Overview",
    "results_first_submitted": "Study Overview",
    "results_first_submitted_qc": "Study Overview",
    "results_first_posted": "Study Overview",
    "disposition_first_submitted": "Study Overview",
    "disposition_first_submitted_qc": "Study Overview",
    "disposition_first_posted": "Study Overview",
    "last_update_submitted": "Study Overview",
    "last_update_submitted_qc": "Study Overview",
    "last_update_posted": "Study Overview",
    "sponsors": "Sponsor/Collaborators",
    "source": "Sponsor/Collaborators",
    "responsible_party": "Sponsor/Collaborators",
    "oversight_info": "Study Oversight",
    "is_fda_regulated": "Study Oversight",
    "is_section_801": "Study Oversight",
    "condition": "Conditions",
    "keyword": "Conditions",
    "phase": "Study Design",
    "study_type": "Study Design",
    "study_design": "Study Design",
    "study_design_info": "Study Design",
    "expanded_access_info": "Study Design",
    "target_duration": "Study Design",
    "number_of_arms": "Study Design",
    "number_of_groups": "Study Design",
    "enrollment": "Study Design",
    "biospec_retention": "Study Design",
    "biospec_descr": "Study Design",
    "primary_outcome": "Outcome Measures",
    "secondary_outcome": "Outcome Measures",
    "other_outcome": "Outcome Measures",
    "arm_group": "Arms and Interventions",
    "intervention": "Arms and Interventions",
    "eligibility": "Eligibility",
    "overall_official": "Contacts and Locations",
    "overall_contact": "Contacts and Locations",
    "overall_contact_backup": "Contacts and Locations",
    "location": "Contacts and Locations",
    "location_countries": "Contacts and Locations",
    "removed_countries": "Contacts and Locations",
    "reference": "References",
    "results_reference": "References",
    "link": "References",
    "patient_data": "IPD Sharing Statement",
    "clinical_results": "Results",
    "pending_results": "Results",
    "provided_document_section": "Documents",
    "study_docs": "Documents",
    "condition_browse": "Derived",
    "intervention_browse": "Derived",
}

_MISC = "Misc"
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def read_ctgov_xml(data: bytes, path: str) -> Record:
    """The record of one ``<clinical_study>`` document; :class:`InputError` when it is not one."""
    _refuse_declarations(data, path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise InputError(
            f"malformed XML at line {line}, column {column + 1}: {reason}", path=path, line=line
        ) from None
    except (LookupError, ValueError) as exc:  # an encoding declaration expat cannot use
        raise InputError(f"malformed XML: {exc}", path=path) from None
    archive = _archive_schema(root)
    if archive is not None:
        raise InputError(archive, path=path)
    if root.tag != ROOT:
        raise InputError(f"not a study record (root element <{root.tag}>, expected <{ROOT}>)", path=path)
    nct = root.findtext("id_info/nct_id")
    if nct is None:
        raise InputError("no NCT ID (id_info/nct_id)", path=path)
    nct_id = nct.strip()
    if not is_valid_nct_id(nct_id):
        raise InputError(f"invalid NCT ID {nct_id!r}", path=path)

    walker = _Walker(_registered_paths(root))
    walker.attributes(root, "", ROOT, _MISC)
    try:
        walker.children(root, "", ROOT, None)
    except RecursionError:
        raise InputError("XML nested too deeply to be a study record", path=path) from None
    return Record(
        nct_id=nct_id,
        source=Source(path, SourceFormat.CTGOV_XML, hashlib.sha256(data).hexdigest()),
        columns=walker.fields.columns(),
        problems=tuple(walker.problems),
    )


def _archive_schema(root: ET.Element) -> str | None:
    """The refusal of a document in the pre-2007 archive schema (``<study_id><nct_id>``,
    ``<status_block>``), naming its study; ``None`` for any other document.

    That schema is not read: no public definition of it was found to map its elements to
    registry fields, and guessing which element holds which date would order versions wrongly.
    Saying so beats "no NCT ID", which is what the file would otherwise get."""
    if root.find("id_info/nct_id") is not None:
        return None
    nct = root.findtext(".//study_id/nct_id")
    if nct is None and root.find(".//status_block") is None:
        return None
    named = f" (study {nct.strip()})" if nct is not None and is_valid_nct_id(nct.strip()) else ""
    return f"pre-2007 archive schema is not read{named}: <study_id>/<status_block> layout"


def _refuse_declarations(data: bytes, path: str) -> None:
    """Refuse DTDs: a DOCTYPE (and so any ENTITY) can only come before the root element."""
    text = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace").encode("utf-8")
    root = _ROOT_ELEMENT.search(text)
    match = _DECLARATION.search(text, 0, root.start() if root else len(text))
    if match is not None:
        line = text.count(b"\n", 0, match.start()) + 1
        declaration = match.group(1).decode().upper()
        raise InputError(
            f"refused: XML with a <!{declaration}> declaration (entity expansion is not allowed)",
            path=path,
            line=line,
        )


@lru_cache(maxsize=1)
def _xml_specs() -> tuple[dict[str, tuple[FieldSpec, int]], tuple[FieldSpec, ...]]:
    """Registered XML path → (spec, alternative index); and the specs with alternatives."""
    by_path: dict[str, tuple[FieldSpec, int]] = {}
    multi: list[FieldSpec] = []
    for spec in registry().specs:
        for index, alternative in enumerate(spec.xml):
            by_path.setdefault(alternative, (spec, index))
        if len(spec.xml) > 1:
            multi.append(spec)
    return by_path, tuple(multi)


def _registered_paths(root: ET.Element) -> dict[str, FieldSpec]:
    """The registered paths that count in this document: for fields with alternatives, only
    the first alternative present."""
    by_path, multi = _xml_specs()
    active = {p: spec for p, (spec, index) in by_path.items() if index == 0 or len(spec.xml) == 1}
    for spec in multi:
        winner = next((alt for alt in spec.xml if _present(root, alt)), None)
        for alternative in spec.xml:
            if alternative == winner:
                active[alternative] = spec
            else:
                active.pop(alternative, None)
    return active


def _present(root: ET.Element, xml_path: str) -> bool:
    element_path, _, attribute = xml_path.partition("/@")
    element = root.find(element_path)
    if element is None:
        return False
    return not attribute or attribute in element.attrib


class _Walker:
    """Depth-first walk; leaves are handled inline because this loop runs for every element."""

    __slots__ = ("fields", "problems", "registered")

    def __init__(self, registered: dict[str, FieldSpec]) -> None:
        self.registered = registered
        self.fields = ColumnBuilder()
        self.problems: list[str] = []

    def children(self, element: ET.Element, xml_path: str | None, label: str, section: str | None) -> None:
        """Walk the children of ``element``.

        ``xml_path`` is its index-free path below the root for registry lookups, ``None`` below
        a schema-repeatable element (no registered field lives there).
        """
        kids = list(element)
        if not kids:
            return
        parent = element.tag
        in_list = parent.endswith("_list")
        repeatable = _REPEATABLE_BY_PARENT.get(parent, _NO_TAGS)
        counts: Counter[str] | None = None
        if len(kids) > 1:
            tags = [kid.tag for kid in kids]
            if len(set(tags)) != len(tags):
                counts = Counter(tags)
        seen: dict[str, int] = {}
        registered = self.registered
        for child in kids:
            tag = child.tag
            child_section = section if section is not None else SECTIONS.get(tag, _MISC)
            child_path = None if xml_path is None else (f"{xml_path}/{tag}" if xml_path else tag)
            if in_list or tag in repeatable:
                index = seen.get(tag, 0)
                seen[tag] = index + 1
                child_label = f"{label}.{tag}[{index}]"
                child_path = None
            elif counts is not None and counts[tag] > 1:
                index = seen.get(tag, 0)
                seen[tag] = index + 1
                child_label = f"{label}.{tag}[{index}]"
            else:
                child_label = f"{label}.{tag}"
            text = child.text
            if text:
                text = text.strip()
            if len(child):
                if text:  # mixed content: keep the element's own text too
                    self.leaf(text, child_path, child_label, child_section)
                if child.attrib:
                    self.attributes(child, child_path, child_label, child_section)
                self.children(child, child_path, child_label, child_section)
                continue
            if text or not child.attrib:
                spec = None if child_path is None else registered.get(child_path)
                if spec is None:
                    self.fields.add_untyped(child_section, child_label, _key(child_label), text or "")
                else:
                    self.registered_leaf(spec, text or "")
            if child.attrib:
                self.attributes(child, child_path, child_label, child_section)

    def attributes(self, element: ET.Element, xml_path: str | None, label: str, section: str) -> None:
        for name, value in element.attrib.items():
            self.leaf(
                value.strip(),
                None if xml_path is None else f"{xml_path}/@{name}",
                f"{label}.attr_{name}",
                section,
            )

    def leaf(self, raw: str, xml_path: str | None, label: str, section: str) -> None:
        spec = None if xml_path is None else self.registered.get(xml_path)
        if spec is None:
            self.fields.add_untyped(section, label, _key(label), raw)
        else:
            self.registered_leaf(spec, raw)

    def registered_leaf(self, spec: FieldSpec, raw: str) -> None:
        field, problem = registered_field(spec, raw)
        self.fields.add(field)
        if problem is not None:
            self.problems.append(problem)


def _key(label: str) -> str:
    return label if label.islower() else _cached_path_key(label)


@lru_cache(maxsize=4096)
def _cached_path_key(label: str) -> str:
    return path_key(label)


__all__ = ["REPEATABLE", "SECTIONS", "read_ctgov_xml"]
