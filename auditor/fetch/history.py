"""The History-of-Changes endpoints: their response shapes, checked, and versions as v2 studies.

``GET /api/int/studies/{nct}/history`` gives the change list — one entry per version
(``version``, ``date``, ``status``, ``moduleLabels``) — either flat (``{"changes": […]}``) or
nested as in ``?history=true`` (``{"history": {"changes": […]}}``); both are accepted.
``GET /api/int/studies/{nct}/history/{v}`` gives one version, ``{"studyVersion": v, "study":
{…}}``, whose ``study`` has the API v2 layout with HTML text. The endpoints are undocumented
(shapes from real recordings: ``../shared/ctgov-history-samples/SHAPES.md``), so every
response is checked before anything is stored, and a shape we do not know is a one-line
:class:`ShapeError` rather than a guess.

A version becomes an API v2 study snapshot by converting its text (:mod:`auditor.fetch.
html_text`) and by one added field: ``derivedSection.miscInfoModule.versionHolder`` is set to
the version's date from the change list (the day ClinicalTrials.gov released that version).
API v2 records carry ``versionHolder`` as the date the registry held the record in that form;
the store orders JSON snapshots by Last Update Submitted and then by that date, so versions
submitted on the same day still come out in their own order (see :mod:`auditor.store`).
Everything else is kept as served — including ``referencesModule`` entries of type
``DERIVED``, which the registry adds at serve time to every version (they are current-day,
not historical; SHAPES.md §4).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.fetch.html_text import MarkupError, markup_text, plain_text

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: API v2 fields whose text is markdown ("markup"): every path of the corpus's v2 studies that
#: holds backslash escapes or line breaks, plus their siblings by symmetry (``seriousEvents``
#: notes beside ``otherEvents``). ``[]`` stands for any list index.
MARKUP_FIELDS = frozenset(
    {
        "protocolSection.statusModule.whyStopped",
        "protocolSection.descriptionModule.briefSummary",
        "protocolSection.descriptionModule.detailedDescription",
        "protocolSection.designModule.bioSpec.description",
        "protocolSection.designModule.designInfo.interventionModelDescription",
        "protocolSection.designModule.designInfo.maskingInfo.maskingDescription",
        "protocolSection.armsInterventionsModule.armGroups[].description",
        "protocolSection.armsInterventionsModule.interventions[].description",
        "protocolSection.outcomesModule.primaryOutcomes[].description",
        "protocolSection.outcomesModule.secondaryOutcomes[].description",
        "protocolSection.outcomesModule.otherOutcomes[].description",
        "protocolSection.eligibilityModule.eligibilityCriteria",
        "protocolSection.eligibilityModule.genderDescription",
        "protocolSection.eligibilityModule.studyPopulation",
        "protocolSection.referencesModule.seeAlsoLinks[].label",
        "protocolSection.ipdSharingStatementModule.description",
        "protocolSection.ipdSharingStatementModule.timeFrame",
        "protocolSection.ipdSharingStatementModule.accessCriteria",
        "resultsSection.participantFlowModule.preAssignmentDetails",
        "resultsSection.participantFlowModule.recruitmentDetails",
        "resultsSection.participantFlowModule.groups[].description",
        "resultsSection.participantFlowModule.periods[].milestones[].achievements[].comment",
        "resultsSection.baselineCharacteristicsModule.populationDescription",
        "resultsSection.baselineCharacteristicsModule.groups[].description",
        "resultsSection.baselineCharacteristicsModule.measures[].description",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].description",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].populationDescription",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].groups[].description",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].classes[].categories[].measurements[].comment",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].analyses[].groupDescription",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].analyses[].estimateComment",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].analyses[].nonInferiorityComment",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].analyses[].pValueComment",
        "resultsSection.outcomeMeasuresModule.outcomeMeasures[].analyses[].statisticalComment",
        "resultsSection.adverseEventsModule.description",
        "resultsSection.adverseEventsModule.eventGroups[].description",
        "resultsSection.adverseEventsModule.otherEvents[].notes",
        "resultsSection.adverseEventsModule.seriousEvents[].notes",
        "resultsSection.moreInfoModule.limitationsAndCaveats.description",
        "resultsSection.moreInfoModule.certainAgreement.otherDetails",
    }
)


class ShapeError(ValueError):
    """A response whose shape is not one we know; nothing from it is stored."""


@dataclass(frozen=True, slots=True)
class VersionChange:
    """One entry of a study's change list: ClinicalTrials.gov's own account of a version."""

    version: int
    date: str
    status: str
    module_labels: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "date": self.date,
            "status": self.status,
            "moduleLabels": list(self.module_labels),
        }


def change_list_object(document: object) -> dict[str, Any]:
    """The history object of a change-list response, nested (``history.changes``) or flat."""
    if not isinstance(document, dict):
        raise ShapeError("change list: expected a JSON object")
    nested = document.get("history")
    if isinstance(nested, dict) and "changes" in nested:
        return nested
    if "changes" in document:
        return document
    raise ShapeError("change list: no 'changes' (neither flat nor under 'history')")


def parse_changes(history: Mapping[str, Any]) -> tuple[VersionChange, ...]:
    """The checked entries: versions 0..n-1 in order, ISO dates that never go back, a status
    string and a list of label strings each."""
    raw = history.get("changes")
    if not isinstance(raw, list) or not raw:
        raise ShapeError("change list: 'changes' is not a non-empty list")
    changes: list[VersionChange] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ShapeError(f"change list: entry {index} is not an object")
        version, date = entry.get("version"), entry.get("date")
        status, labels = entry.get("status"), entry.get("moduleLabels")
        if not isinstance(version, int) or isinstance(version, bool) or version != index:
            raise ShapeError(f"change list: entry {index} has version {version!r}, expected {index}")
        if not isinstance(date, str) or not _DATE.fullmatch(date):
            raise ShapeError(f"change list: version {index} has date {date!r}, expected YYYY-MM-DD")
        if changes and date < changes[-1].date:
            raise ShapeError(f"change list: version {index} is dated {date}, before version {index - 1}")
        if not isinstance(status, str) or not status:
            raise ShapeError(f"change list: version {index} has status {status!r}")
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ShapeError(f"change list: version {index} has moduleLabels {labels!r}")
        changes.append(VersionChange(version, date, status, tuple(labels)))
    return tuple(changes)


def version_study(document: object, nct_id: str, change: VersionChange) -> dict[str, Any]:
    """The API v2 study of one ``/history/{v}`` response (see the module docstring)."""
    if not isinstance(document, dict):
        raise ShapeError(f"version {change.version}: expected a JSON object")
    if document.get("studyVersion") != change.version:
        raise ShapeError(f"version {change.version}: studyVersion is {document.get('studyVersion')!r}")
    study = document.get("study")
    if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
        raise ShapeError(f"version {change.version}: no 'study' with a 'protocolSection'")
    identification = study["protocolSection"].get("identificationModule")
    found = identification.get("nctId") if isinstance(identification, dict) else None
    if found != nct_id:
        raise ShapeError(f"version {change.version}: the study is {found!r}, not {nct_id}")
    try:
        converted = _convert(study, "")
    except MarkupError as exc:
        raise ShapeError(f"version {change.version}: {exc}") from exc
    assert isinstance(converted, dict)
    return _with_version_holder(converted, change.date)


def _convert(value: object, path: str) -> object:
    if isinstance(value, dict):
        return {key: _convert(item, f"{path}.{key}" if path else key) for key, item in value.items()}
    if isinstance(value, list):
        return [_convert(item, f"{path}[]") for item in value]
    if isinstance(value, str):
        try:
            return markup_text(value) if path in MARKUP_FIELDS else plain_text(value)
        except MarkupError as exc:
            raise MarkupError(f"{path}: {exc}") from exc
    return value


def _with_version_holder(study: dict[str, Any], date: str) -> dict[str, Any]:
    derived = study.get("derivedSection")
    if derived is not None and not isinstance(derived, dict):
        raise ShapeError("derivedSection is not an object")
    derived = copy.copy(derived) if derived else {}
    misc = derived.get("miscInfoModule") or {}
    if not isinstance(misc, dict):
        raise ShapeError("derivedSection.miscInfoModule is not an object")
    derived["miscInfoModule"] = {**misc, "versionHolder": date}
    return {**study, "derivedSection": derived}
