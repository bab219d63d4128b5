"""The staleness rules over the whole corpus agree with a count made straight from the raw
files (json / ElementTree here, none of our readers), record by record."""

from __future__ import annotations

import calendar
import json
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.check import check_table
from auditor.rules import load_rules

AS_OF = date(2026, 1, 5)
ACTIVE = {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "ENROLLING_BY_INVITATION"}


def _last_day(text: str) -> date | None:
    """Last day a registry date can mean: 2020 / 2020-09 / 2020-09-15 / September 2020 /
    September 15, 2020."""
    text = text.strip()
    for fmt, precision in (("%Y-%m-%d", "day"), ("%B %d, %Y", "day"), ("%Y-%m", "month"), ("%B %Y", "month")):
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if precision == "day":
            return parsed
        return parsed.replace(day=calendar.monthrange(parsed.year, parsed.month)[1])
    if text.isdigit() and len(text) == 4:
        return date(int(text), 12, 31)
    return None


def _status(text: str) -> str:
    code = "_".join("".join(c if c.isalnum() else " " for c in text).split()).upper()
    return "UNKNOWN" if code == "UNKNOWN_STATUS" else code


def _json_studies(document: Any) -> list[tuple[str, str, str]]:
    """(nct_id, status, verified) of every study in a v2 / v1 JSON document."""
    out = []
    if isinstance(document, dict) and "FullStudiesResponse" in document:
        document = [s.get("Study", s) for s in document["FullStudiesResponse"].get("FullStudies", [])]
    elif isinstance(document, dict) and isinstance(document.get("studies"), list):
        document = document["studies"]
    elif isinstance(document, dict) and "Study" in document:
        document = [document["Study"]]
    for study in document if isinstance(document, list) else [document]:
        if not isinstance(study, dict):
            continue
        protocol = study.get("protocolSection") or study.get("ProtocolSection")
        if not isinstance(protocol, dict):
            continue
        ident = protocol.get("identificationModule") or protocol.get("IdentificationModule") or {}
        status = protocol.get("statusModule") or protocol.get("StatusModule") or {}
        out.append(
            (
                ident.get("nctId") or ident.get("NCTId") or "",
                status.get("overallStatus") or status.get("OverallStatus") or "",
                status.get("statusVerifiedDate") or status.get("StatusVerifiedDate") or "",
            )
        )
    return out


def _xml_study(data: bytes) -> list[tuple[str, str, str]]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return []
    return [
        (
            root.findtext("id_info/nct_id") or "",
            root.findtext("overall_status") or "",
            root.findtext("verification_date") or "",
        )
    ]


def _studies(name: str, data: bytes) -> list[tuple[str, str, str]]:
    if name.endswith(".xml"):
        return _xml_study(data)
    try:
        return _json_studies(json.loads(data))
    except ValueError:
        return []


def raw_studies(root: Path) -> list[tuple[str, str, str]]:
    """(nct_id, status, verified) of every snapshot in the corpus, from the raw bytes."""
    out: list[tuple[str, str, str]] = []
    for path in sorted(root.rglob("*")):
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path) as archive:
                members = [m for m in archive if m.isfile() and m.name.endswith((".json", ".xml"))]
                items = [(m.name, archive.extractfile(m).read()) for m in members]  # type: ignore[union-attr]
        elif path.suffix in (".json", ".xml") and path.is_file():
            items = [(path.name, path.read_bytes())]
        else:
            continue
        for name, data in items:
            out.extend(_studies(name, data))
    return out


def raw_counts(studies: list[tuple[str, str, str]], years: int) -> tuple[Counter[str], Counter[str]]:
    """Per NCT ID: how many snapshots are stale-UNKNOWN and stale-active."""
    limit = AS_OF.replace(year=AS_OF.year - years)
    unknown: Counter[str] = Counter()
    active: Counter[str] = Counter()
    for nct_id, status, verified in studies:
        last = _last_day(verified)
        if last is None or not last < limit:
            continue
        if _status(status) == "UNKNOWN":
            unknown[nct_id] += 1
        elif _status(status) in ACTIVE:
            active[nct_id] += 1
    return unknown, active


@pytest.fixture(scope="module")
def corpus_studies(corpus_dir: Path) -> list[tuple[str, str, str]]:
    return raw_studies(corpus_dir)


@pytest.fixture(scope="module")
def corpus_table(corpus_dir: Path) -> Any:
    from auditor.run.parse import parse_table

    table, _, _ = parse_table([corpus_dir], jobs=2)
    return table


@pytest.mark.corpus
@pytest.mark.parametrize("years", [2, 5])
@pytest.mark.slow
def test_staleness_counts_match_an_independent_count(
    corpus_studies: list[tuple[str, str, str]], corpus_table: Any, years: int
) -> None:
    rules = load_rules().select(["unknown-status-stale", "active-status-unverified"])
    findings = check_table(corpus_table, rules, as_of=AS_OF, params={"years": years})
    ours_unknown = Counter(f.nct_id for f in findings if f.rule_id == "unknown-status-stale")
    ours_active = Counter(f.nct_id for f in findings if f.rule_id == "active-status-unverified")
    raw_unknown, raw_active = raw_counts(corpus_studies, years)
    assert sum(raw_unknown.values()) > 100  # the corpus has hundreds of UNKNOWN records
    assert ours_unknown == raw_unknown
    assert ours_active == raw_active
