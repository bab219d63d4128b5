"""A study's change list, kept in the store beside its versions.

File: ``<store>/ctgov-changes/<NCT ID>.json`` (outside the record folders, which hold snapshot
files only), written atomically by ``audit fetch --history`` after the versions it lists are
stored::

    {"nct_id": "NCT03690141",
     "source": "https://clinicaltrials.gov/api/int/studies/NCT03690141/history",
     "fetched_at": "2026-11-25T02:00:00+00:00",
     "changes": [{"version": 0, "date": "2018-09-27", "status": "NOT_YET_RECRUITING",
                  "moduleLabels": []}, …],
     "history": {…the history object exactly as served: changes, lastUpdateVersions,
                 outcomesUpdateCount, originalData…}}

``changes`` is the checked list (:class:`~auditor.fetch.history.VersionChange`); ``history``
keeps every other key for whoever needs it. The module labels are ClinicalTrials.gov's own
statement of which modules changed in a version; :data:`MODULE_LABELS` maps each label seen to
the API v2 module it names (SHAPES.md §6), so that a display can put them beside the diff's own
roll-up. :func:`read_change_list` is the one reader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.atomic import atomic_write
from auditor.errors import StoreError
from auditor.fetch.history import ShapeError, VersionChange, parse_changes
from auditor.inputs import read_file
from auditor.records import is_valid_nct_id

CHANGES_FOLDER = "ctgov-changes"

#: Every History-of-Changes module label known, with the API v2 module it names. The first
#: eleven are in the recorded responses of ``../shared/ctgov-history-samples`` (2023, 2026);
#: the others are named by 2026 client code checked against live responses (SHAPES.md §5).
MODULE_LABELS: dict[str, str] = {
    "Study Identification": "protocolSection.identificationModule",
    "Study Status": "protocolSection.statusModule",
    "Conditions": "protocolSection.conditionsModule",
    "Study Design": "protocolSection.designModule",
    "Arms and Interventions": "protocolSection.armsInterventionsModule",
    "Study Description": "protocolSection.descriptionModule",
    "Outcome Measures": "protocolSection.outcomesModule",
    "Eligibility": "protocolSection.eligibilityModule",
    "Contacts/Locations": "protocolSection.contactsLocationsModule",
    "Oversight": "protocolSection.oversightModule",
    "IPDSharing": "protocolSection.ipdSharingStatementModule",
    "References": "protocolSection.referencesModule",
    "Sponsor/Collaborators": "protocolSection.sponsorCollaboratorsModule",
    "Participant Flow": "resultsSection.participantFlowModule",
    "Baseline Characteristics": "resultsSection.baselineCharacteristicsModule",
    "Outcome Measures (Results)": "resultsSection.outcomeMeasuresModule",
    "Adverse Events": "resultsSection.adverseEventsModule",
    "More Information": "resultsSection.moreInfoModule",
    "Limitations and Caveats": "resultsSection.moreInfoModule",
    "Document Section": "documentSection.largeDocumentModule",
}


@dataclass(frozen=True, slots=True)
class ChangeList:
    """What the registry says changed in each version of one study."""

    nct_id: str
    source: str
    fetched_at: str
    changes: tuple[VersionChange, ...]
    history: dict[str, Any]

    def labels(self, version: int) -> tuple[str, ...]:
        """The module labels of one version (``()`` for version 0 and unknown versions)."""
        if 0 <= version < len(self.changes):
            return self.changes[version].module_labels
        return ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "nct_id": self.nct_id,
            "source": self.source,
            "fetched_at": self.fetched_at,
            "changes": [c.to_dict() for c in self.changes],
            "history": self.history,
        }


def change_list_path(store_root: str | Path, nct_id: str) -> Path:
    if not is_valid_nct_id(nct_id):
        raise StoreError(f"invalid NCT ID {nct_id!r}")
    return Path(store_root) / CHANGES_FOLDER / f"{nct_id}.json"


def write_change_list(store_root: str | Path, change_list: ChangeList) -> Path:
    path = change_list_path(store_root, change_list.nct_id)
    text = json.dumps(change_list.to_dict(), ensure_ascii=False, indent=1) + "\n"
    atomic_write(path, text)
    return path


def read_change_list(store_root: str | Path, nct_id: str) -> ChangeList | None:
    """The stored change list of a study, or ``None`` when none was fetched.

    Raises :class:`StoreError` for a file that is not a change list (edited by hand, cut)."""
    path = change_list_path(store_root, nct_id)
    if not path.exists():
        return None
    try:
        document = json.loads(read_file(path, what="change list", error=StoreError))
    except ValueError as exc:
        raise StoreError(f"unreadable change list: {exc}", path=path) from exc
    try:
        if not isinstance(document, dict) or document.get("nct_id") != nct_id:
            raise ShapeError("not a change list of this study")
        history = document.get("history")
        if not isinstance(history, dict):
            raise ShapeError("no 'history' object")
        changes = parse_changes({"changes": document.get("changes")})
    except ShapeError as exc:
        raise StoreError(f"bad change list: {exc}", path=path) from exc
    return ChangeList(
        nct_id=nct_id,
        source=str(document.get("source", "")),
        fetched_at=str(document.get("fetched_at", "")),
        changes=changes,
        history=history,
    )
