"""An independent reading of the corpus for the rules' oracles: json / ElementTree on the raw
bytes, none of auditor's readers, typing or tables.

:func:`raw_snapshots` gives one :class:`Raw` per snapshot (API v2 JSON, classic v1 JSON, legacy
XML) with the fields the catalogue's rules read, and :mod:`test_check_corpus` counts, rule by
rule, which snapshots break each rule as the rule's rationale and source define it. Dates are
kept as text and read here by :func:`days` (the first and last day a registry date can mean).
"""

from __future__ import annotations

import calendar
import json
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Raw:
    """One snapshot as the oracles see it (enum values as API v2 codes, dates as written)."""

    nct_id: str
    fmt: str  # json | xml
    name: str
    status: str = ""
    last_known: str = ""
    verified: str = ""
    why_stopped: str | None = None
    start: str = ""
    start_type: str = ""
    pcd: str = ""
    pcd_type: str = ""
    cd: str = ""
    cd_type: str = ""
    first_submit: str = ""
    last_update_submit: str = ""
    results_submit: str = ""
    has_results: bool | None = None
    disposition: str = ""
    study_type: str = ""
    purpose: str = ""
    drug: bool | None = None
    device: bool | None = None
    phases: tuple[str, ...] = ()
    enrollment: int | None = None
    enrollment_type: str = ""
    outcomes: tuple[tuple[str, str], ...] = ()  # (measure, time frame) of the primary outcomes
    sites: tuple[tuple[str, str, str], ...] = field(default=())  # (facility, city, country)


def code(text: Any) -> str:
    """``Active, not recruiting`` → ``ACTIVE_NOT_RECRUITING``; ``Anticipated`` → ``ESTIMATED``."""
    if not isinstance(text, str):
        return ""
    value = "_".join("".join(c if c.isalnum() else " " for c in text).split()).upper()
    return {"UNKNOWN_STATUS": "UNKNOWN", "ANTICIPATED": "ESTIMATED", "ESTIMATE": "ESTIMATED"}.get(
        value, value
    )


_PHASES = {
    "EARLY_PHASE_1": "EARLY_PHASE1", "PHASE_1": "PHASE1", "PHASE_2": "PHASE2", "PHASE_3": "PHASE3",
    "PHASE_4": "PHASE4", "N_A": "NA", "NOT_APPLICABLE": "NA",
}  # fmt: skip


def phase_codes(texts: list[str]) -> tuple[str, ...]:
    """``["Phase 1/Phase 2"]`` (XML) or ``["Phase 1", "Phase 2"]`` (v1) or ``["PHASE1"]`` (v2)."""
    out: list[str] = []
    for text in texts:
        parts = ["N/A"] if text.strip() == "N/A" else text.split("/")
        for part in parts:
            value = code(part)
            out.append(_PHASES.get(value, value))
    return tuple(out)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("no", "false"):
        return False
    return None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def days(text: str) -> tuple[date, date] | None:
    """The first and last day of ``2020``, ``2020-09``, ``2020-09-15``, ``September 2020``,
    ``September 15, 2020``; ``None`` for anything else."""
    text = text.strip()
    for fmt, precision in (
        ("%Y-%m-%d", "d"),
        ("%B %d, %Y", "d"),
        ("%Y-%m", "m"),
        ("%B %Y", "m"),
        ("%Y", "y"),
    ):
        try:
            first = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if precision == "d":
            return first, first
        if precision == "m":
            return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return first, date(first.year, 12, 31)
    return None


def plus(day: date, years: int = 0, months: int = 0, days_: int = 0) -> date:
    """Calendar arithmetic: years and months first (a 29 February becomes the 28th), then days."""
    month = day.month - 1 + months
    year = day.year + years + month // 12
    month = month % 12 + 1
    end = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, end)) + timedelta(days=days_)


# ---------------------------------------------------------------- reading the raw files


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _v2(study: dict[str, Any], name: str) -> Raw | None:
    p = study.get("protocolSection")
    if not isinstance(p, dict):
        return None
    status = p.get("statusModule") or {}
    design = p.get("designModule") or {}
    dates = {k: status.get(f"{k}DateStruct") or {} for k in ("start", "primaryCompletion", "completion")}
    return Raw(
        nct_id=_get(p, "identificationModule", "nctId") or "",
        fmt="json",
        name=name,
        status=code(status.get("overallStatus")),
        last_known=code(status.get("lastKnownStatus")),
        verified=status.get("statusVerifiedDate") or "",
        why_stopped=status.get("whyStopped"),
        start=dates["start"].get("date") or "",
        start_type=code(dates["start"].get("type")),
        pcd=dates["primaryCompletion"].get("date") or "",
        pcd_type=code(dates["primaryCompletion"].get("type")),
        cd=dates["completion"].get("date") or "",
        cd_type=code(dates["completion"].get("type")),
        first_submit=status.get("studyFirstSubmitDate") or "",
        last_update_submit=status.get("lastUpdateSubmitDate") or "",
        results_submit=status.get("resultsFirstSubmitDate") or "",
        has_results=study.get("hasResults") if isinstance(study.get("hasResults"), bool) else None,
        disposition=status.get("dispFirstSubmitDate") or "",
        study_type=code(design.get("studyType")),
        purpose=code(_get(design, "designInfo", "primaryPurpose")),
        drug=_flag(_get(p, "oversightModule", "isFdaRegulatedDrug")),
        device=_flag(_get(p, "oversightModule", "isFdaRegulatedDevice")),
        phases=phase_codes(design.get("phases") or []),
        enrollment=_int(_get(design, "enrollmentInfo", "count")),
        enrollment_type=code(_get(design, "enrollmentInfo", "type")),
        outcomes=tuple(
            (o.get("measure") or "", o.get("timeFrame") or "")
            for o in _get(p, "outcomesModule", "primaryOutcomes") or []
        ),
        sites=tuple(
            (s.get("facility") or "", s.get("city") or "", s.get("country") or "")
            for s in _get(p, "contactsLocationsModule", "locations") or []
        ),
    )


def _v1(study: dict[str, Any], name: str) -> Raw | None:
    p = study.get("ProtocolSection")
    if not isinstance(p, dict):
        return None
    status = p.get("StatusModule") or {}
    design = p.get("DesignModule") or {}
    outcomes = _get(p, "OutcomesModule", "PrimaryOutcomeList", "PrimaryOutcome") or []
    sites = _get(p, "ContactsLocationsModule", "LocationList", "Location") or []
    return Raw(
        nct_id=_get(p, "IdentificationModule", "NCTId") or "",
        fmt="json",
        name=name,
        status=code(status.get("OverallStatus")),
        last_known=code(status.get("LastKnownStatus")),
        verified=status.get("StatusVerifiedDate") or "",
        why_stopped=status.get("WhyStopped"),
        start=_get(status, "StartDateStruct", "StartDate") or "",
        start_type=code(_get(status, "StartDateStruct", "StartDateType")),
        pcd=_get(status, "PrimaryCompletionDateStruct", "PrimaryCompletionDate") or "",
        pcd_type=code(_get(status, "PrimaryCompletionDateStruct", "PrimaryCompletionDateType")),
        cd=_get(status, "CompletionDateStruct", "CompletionDate") or "",
        cd_type=code(_get(status, "CompletionDateStruct", "CompletionDateType")),
        first_submit=status.get("StudyFirstSubmitDate") or "",
        last_update_submit=status.get("LastUpdateSubmitDate") or "",
        results_submit=status.get("ResultsFirstSubmitDate") or "",
        disposition=status.get("DispFirstSubmitDate") or "",
        study_type=code(design.get("StudyType")),
        purpose=code(_get(design, "DesignInfo", "DesignPrimaryPurpose")),
        drug=_flag(_get(p, "OversightModule", "IsFDARegulatedDrug")),
        device=_flag(_get(p, "OversightModule", "IsFDARegulatedDevice")),
        phases=phase_codes(_get(design, "PhaseList", "Phase") or []),
        enrollment=_int(_get(design, "EnrollmentInfo", "EnrollmentCount")),
        enrollment_type=code(_get(design, "EnrollmentInfo", "EnrollmentType")),
        outcomes=tuple(
            (o.get("PrimaryOutcomeMeasure") or "", o.get("PrimaryOutcomeTimeFrame") or "") for o in outcomes
        ),
        sites=tuple(
            (s.get("LocationFacility") or "", s.get("LocationCity") or "", s.get("LocationCountry") or "")
            for s in sites
        ),
    )


def _json(data: bytes, name: str) -> list[Raw]:
    try:
        document = json.loads(data)
    except ValueError:
        return []
    if isinstance(document, dict) and "FullStudiesResponse" in document:
        studies = [s.get("Study", s) for s in document["FullStudiesResponse"].get("FullStudies", [])]
        return [r for i, s in enumerate(studies) if (r := _v1(s, f"{name}#{i}")) is not None]
    if isinstance(document, dict) and isinstance(document.get("Study"), dict):  # a v1 single study
        found_v1 = _v1(document["Study"], name)
        return [found_v1] if found_v1 is not None else []
    if isinstance(document, dict) and isinstance(document.get("studies"), list):
        document = document["studies"]
    if isinstance(document, list):
        return [r for i, s in enumerate(document) if isinstance(s, dict) and (r := _v2(s, f"{name}#{i}"))]
    found = _v2(document, name) if isinstance(document, dict) else None
    return [found] if found is not None else []


def _text(root: ET.Element, *paths: str) -> str:
    for path in paths:
        found = root.find(path)
        if found is not None and (found.text or "").strip():
            return (found.text or "").strip()
    return ""


def _attr(root: ET.Element, path: str) -> str:
    found = root.find(path)
    return code(found.get("type")) if found is not None else ""


def _xml(data: bytes, name: str) -> list[Raw]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return []
    if root.tag != "clinical_study":
        return []
    why = root.find("why_stopped")
    return [
        Raw(
            nct_id=_text(root, "id_info/nct_id"),
            fmt="xml",
            name=name,
            status=code(_text(root, "overall_status")),
            last_known=code(_text(root, "last_known_status")),
            verified=_text(root, "verification_date"),
            why_stopped=None if why is None else (why.text or "").strip(),
            start=_text(root, "start_date"),
            start_type=_attr(root, "start_date"),
            pcd=_text(root, "primary_completion_date"),
            pcd_type=_attr(root, "primary_completion_date"),
            cd=_text(root, "completion_date"),
            cd_type=_attr(root, "completion_date"),
            first_submit=_text(root, "study_first_submitted", "firstreceived_date"),
            last_update_submit=_text(root, "last_update_submitted", "lastchanged_date"),
            results_submit=_text(root, "results_first_submitted", "firstreceived_results_date"),
            disposition=_text(root, "disposition_first_submitted"),
            study_type=code(_text(root, "study_type")),
            purpose=code(_text(root, "study_design_info/primary_purpose")),
            drug=_flag(_text(root, "oversight_info/is_fda_regulated_drug")),
            device=_flag(_text(root, "oversight_info/is_fda_regulated_device")),
            phases=phase_codes([_text(root, "phase")] if _text(root, "phase") else []),
            enrollment=_int(_text(root, "enrollment")),
            enrollment_type=_attr(root, "enrollment"),
            outcomes=tuple(
                ((o.findtext("measure") or "").strip(), (o.findtext("time_frame") or "").strip())
                for o in root.findall("primary_outcome")
            ),
            sites=tuple(
                (
                    (s.findtext("facility/name") or "").strip(),
                    (s.findtext("facility/address/city") or "").strip(),
                    (s.findtext("facility/address/country") or "").strip(),
                )
                for s in root.findall("location")
            ),
        )
    ]


def parse(name: str, data: bytes) -> list[Raw]:
    return _xml(data, name) if name.endswith(".xml") else _json(data, name)


def raw_files(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every ``.json`` / ``.xml`` file and archive member under ``root``, sorted by path."""
    for path in sorted(root.rglob("*")):
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path) as archive:
                for member in archive:
                    if member.isfile() and member.name.endswith((".json", ".xml")):
                        yield f"{path}!{member.name}", archive.extractfile(member).read()  # type: ignore[union-attr]
        elif path.suffix in (".json", ".xml") and path.is_file():
            yield str(path), path.read_bytes()


def raw_snapshots(root: Path) -> list[Raw]:
    return [raw for name, data in raw_files(root) for raw in parse(name, data)]
