"""The classic ClinicalTrials.gov API v1 shapes: full studies renamed to the v2 shape, and
StudyFields responses read into records.

**Full studies** (``{"Study": …}``, ``FullStudiesResponse``): :func:`from_classic` renames a
classic v1 document to the v2 shape (``ProtocolSection.StatusModule.StartDateStruct.StartDate``
→ ``protocolSection.statusModule.startDateStruct.date``, ``ConditionList.Condition[]`` →
``conditions[]``) so that registry fields get the same keys as in v2. The renaming is rule-based
(drop the words a field repeats from its parent, unwrap ``…List`` objects, v2 camelCase) plus a
few explicit exceptions; unregistered v1 leaves whose v2 name breaks the rules keep a close but
not identical path label.

**StudyFields** (``{"StudyFieldsResponse": {"StudyFields": [{"NCTId": ["NCT…"], "Condition":
["a", "b"], …}]}}``): each element is one study, each of its keys a *piece name* with a list of
values. :func:`read_study_fields` gives one record per element, named ``file#index`` and hashed
over the element's canonical JSON, like the elements of any JSON list:

* a piece ``fields.yaml`` maps to one API v2 field (``OverallStatus`` →
  ``protocolSection.statusModule.overallStatus``) is that field, with the key, label and typing
  the v2 reader gives it (registry or path key); should it hold several values, each is a field
  with that key (in order) and a problem says so;
* a piece mapped to a list of values (``Condition`` → ``conditionsModule.conditions[]``) gives
  one field per value, ``conditions_module.conditions[0]``, ``[1]`` … — the keys the v2 reader
  gives the same list's items, so the two compare item by item;
* any other piece — one inside a list of objects (``LocationFacility``: StudyFields lists the
  facilities of all locations but drops empty ones, so the n-th value need not be the n-th
  location's) or one the registry does not map — is kept as a list under its own name,
  ``studyFields.LocationFacility[0]`` (key ``study_fields.location_facility[0]``), in section
  Misc: nothing is dropped, nothing is paired with the wrong item;
* ``Rank`` (the search rank, not study data) is left out, as for classic full studies;
* an empty list is one field with raw ``""``, as in the v2 reader.

An element without a valid ``NCTId`` is an error naming ``file#index``; the others still come out.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from auditor.errors import InputError
from auditor.fields import path_key, registry, snake
from auditor.readers.decode import canonical_sha256
from auditor.readers.typing import ColumnBuilder, registered_field, scalar_raw
from auditor.records import Record, Source, SourceFormat, is_valid_nct_id

MISC_SECTION = "Misc"

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

#: (parent, v1 name) → v2 name, where the rules below get it wrong.
_CLASSIC_EXCEPTIONS: dict[tuple[str | None, str], str] = {
    ("Organization", "OrgFullName"): "fullName",
    ("Organization", "OrgClass"): "class",
    ("EligibilityModule", "Gender"): "sex",
    ("EligibilityModule", "GenderBased"): "genderBased",
    ("EligibilityModule", "GenderDescription"): "genderDescription",
    ("CentralContact", "CentralContactEMail"): "email",
    ("LocationContact", "LocationContactEMail"): "email",
    ("OverallOfficial", "OverallOfficialEMail"): "email",
    ("PointOfContact", "PointOfContactEMail"): "email",
    ("DesignMaskingInfo", "DesignWhoMaskedList"): "whoMasked",
    ("IPDSharingStatementModule", "IPDSharingInfoTypeList"): "infoTypes",
    ("IPDSharingStatementModule", "IPDSharingDescription"): "description",
    ("IPDSharingStatementModule", "IPDSharingTimeFrame"): "timeFrame",
    ("IPDSharingStatementModule", "IPDSharingAccessCriteria"): "accessCriteria",
    ("IPDSharingStatementModule", "IPDSharingURL"): "url",
    ("ParticipantFlowModule", "FlowGroupList"): "groups",
    ("ParticipantFlowModule", "FlowPeriodList"): "periods",
    ("ParticipantFlowModule", "FlowPreAssignmentDetails"): "preAssignmentDetails",
    ("ParticipantFlowModule", "FlowRecruitmentDetails"): "recruitmentDetails",
    ("ParticipantFlowModule", "FlowTypeUnitsAnalyzed"): "typeUnitsAnalyzed",
    ("BaselineCharacteristicsModule", "BaselineGroupList"): "groups",
    ("BaselineCharacteristicsModule", "BaselineDenomList"): "denoms",
    ("BaselineCharacteristicsModule", "BaselineMeasureList"): "measures",
    ("BaselineCharacteristicsModule", "BaselinePopulationDescription"): "populationDescription",
    ("BaselineCharacteristicsModule", "BaselineTypeUnitsAnalyzed"): "typeUnitsAnalyzed",
    ("AdverseEventsModule", "EventsFrequencyThreshold"): "frequencyThreshold",
    ("AdverseEventsModule", "EventsTimeFrame"): "timeFrame",
    ("AdverseEventsModule", "EventsDescription"): "description",
    ("DesignMaskingInfo", "DesignMaskingDescription"): "maskingDescription",
    ("SeriousEvent", "SeriousEventStatsList"): "stats",
    ("OtherEvent", "OtherEventStatsList"): "stats",
    ("CertainAgreement", "AgreementPISponsorEmployee"): "piSponsorEmployee",
    ("CertainAgreement", "AgreementRestrictionType"): "restrictionType",
    ("CertainAgreement", "AgreementRestrictiveAgreement"): "restrictiveAgreement",
    ("CertainAgreement", "AgreementOtherDetails"): "otherDetails",
    ("UnpostedAnnotation", "UnpostedResponsibleParty"): "unpostedResponsibleParty",
    **{
        (f"{kind}BrowseModule", f"{kind}{v1}List"): v2
        for kind in ("Condition", "Intervention")
        for v1, v2 in (
            ("Mesh", "meshes"),
            ("Ancestor", "ancestors"),
            ("BrowseLeaf", "browseLeaves"),
            ("BrowseBranch", "browseBranches"),
        )
    },
}


#: v1 lists that are one value in v2: a one-element list becomes that value.
_CLASSIC_SCALARS: dict[tuple[str | None, str], str] = {
    ("DesignInfo", "DesignObservationalModelList"): "observationalModel",
    ("DesignInfo", "DesignTimePerspectiveList"): "timePerspective",
}


def from_classic(value: Any, parent: str | None = None) -> Any:
    """A classic v1 value renamed to the v2 shape (new objects; the input is not changed)."""
    if isinstance(value, list):
        return [from_classic(item, parent) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, child in value.items():
        if name.endswith("List") and isinstance(child, dict) and len(child) == 1:
            ((item_name, items),) = child.items()
            items = items if isinstance(items, list) else [items]
            scalar = _CLASSIC_SCALARS.get((parent, name))
            if scalar is not None:
                out[scalar] = items[0] if len(items) == 1 else items
                continue
            new_name = _CLASSIC_EXCEPTIONS.get((parent, name)) or _plural(_classic_name(item_name, parent))
            out[new_name] = [from_classic(item, item_name) for item in items]
        else:
            out[_classic_name(name, parent)] = from_classic(child, name)
    return out


@lru_cache(maxsize=4096)
def _classic_name(name: str, parent: str | None) -> str:
    """``LeadSponsorName`` under ``LeadSponsor`` → ``name``; ``IsFDARegulatedDrug`` → ``isFdaRegulatedDrug``.

    Inside a module and at the top the name is kept (``StatusModule.StatusVerifiedDate`` is
    ``statusVerifiedDate`` in v2); below that, the words repeated from the parent are dropped,
    and when nothing is left the parent's last real word names the field
    (``StartDateStruct.StartDate`` → ``date``).
    """
    exception = _CLASSIC_EXCEPTIONS.get((parent, name))
    if exception is not None:
        return exception
    words: list[str] = _WORD.findall(name) or [name]
    if parent is not None and not parent.endswith(("Module", "Section")) and parent != "Study":
        parent_words: list[str] = _WORD.findall(parent)
        shared = 0
        while shared < min(len(words), len(parent_words)) and words[shared] == parent_words[shared]:
            shared += 1
        if shared == len(words):
            stem = [w for w in parent_words if w not in ("Struct", "Info", "List")]
            words = stem[-1:] or words[-1:]
        elif shared:
            words = words[shared:]
    return words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])


def _plural(name: str) -> str:
    if name.endswith(("s", "sh", "ch", "x")):
        return name + "es"
    if len(name) > 1 and name.endswith("y") and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


# --- StudyFields -------------------------------------------------------------------------------


def study_fields_list(document: Any) -> list[Any] | None:
    """The elements of a StudyFields response, or ``None`` when ``document`` is not one."""
    if not isinstance(document, dict):
        return None
    response = document.get("StudyFieldsResponse")
    if not isinstance(response, dict):
        return None
    elements = response.get("StudyFields")
    return elements if isinstance(elements, list) else []


def read_study_fields(
    elements: list[Any], path: str, decode_problems: list[str]
) -> list[Record | InputError]:
    """One record per StudyFields element, or the error of each that is not a study."""
    if not elements:
        raise InputError("no study records (StudyFieldsResponse with no StudyFields)", path=path)
    out: list[Record | InputError] = []
    for index, element in enumerate(elements):
        name = f"{path}#{index}"
        try:
            out.append(_study_fields_record(element, name, decode_problems))
        except InputError as exc:
            out.append(exc)
    return out


def _study_fields_record(element: Any, name: str, decode_problems: list[str]) -> Record:
    if not isinstance(element, dict):
        raise InputError("not a study record (a StudyFields element that is not an object)", path=name)
    ids = _values(element.get("NCTId", []))
    nct_id = str(ids[0]).strip() if ids and ids[0] is not None else None
    if nct_id is None:
        raise InputError("no NCT ID (StudyFields NCTId)", path=name)
    if not is_valid_nct_id(nct_id):
        raise InputError(f"invalid NCT ID {ids[0]!r}", path=name)
    fields = ColumnBuilder()
    problems: list[str] = []
    for piece, value in element.items():
        if piece != "Rank":
            _piece_fields(fields, problems, piece, _values(value))
    return Record(
        nct_id=nct_id,
        source=Source(name, SourceFormat.CTGOV_JSON, canonical_sha256(element)),
        columns=fields.columns(),
        problems=(*decode_problems, *problems),
    )


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _piece_fields(fields: ColumnBuilder, problems: list[str], piece: str, values: list[Any]) -> None:
    """The fields of one piece (see the module docstring)."""
    reg = registry()
    json_path = reg.study_fields_pieces.get(piece)
    if json_path is None:
        label, key, section, listed = (
            f"studyFields.{piece}",
            f"study_fields.{_snake(piece)}",
            MISC_SECTION,
            True,
        )
    else:
        listed = json_path.endswith("[]")
        json_path = json_path.removesuffix("[]")
        top, _, rest = json_path.partition(".")
        label = rest or f"study.{top}"
        key = path_key(label)
        section = reg.section_of_module(rest.split(".", 1)[0]) if rest else MISC_SECTION
    if not values:
        fields.add_untyped(section, label, key, "")
        return
    spec = None if json_path is None or listed else reg.by_json.get(json_path)
    if not listed and len(values) > 1:
        problems.append(f"StudyFields {piece}: {len(values)} values for one field (each kept)")
    for index, value in enumerate(values):
        raw = _raw(value)
        if spec is not None:
            field, problem = registered_field(spec, raw)
            fields.add(field)
            if problem is not None:
                problems.append(problem)
        elif listed:
            fields.add_untyped(section, f"{label}[{index}]", f"{key}[{index}]", raw)
        else:
            fields.add_untyped(section, label, key, raw)


def _raw(value: Any) -> str:
    """A piece's value as raw text: a scalar as the v2 reader writes it; an object or list (not
    what StudyFields holds) as compact JSON, so that it is kept."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return scalar_raw(value)


@lru_cache(maxsize=1024)
def _snake(name: str) -> str:
    return snake(name)


__all__ = ["from_classic", "read_study_fields", "study_fields_list"]
