"""The earlier nights of a reports folder (``reports/2026-11-24/``, …): which ones there are, and
what tonight's report reads from them — the previous night's stale list (to tell new from still
stale and say why a record was fixed) and the last nights' headline counts (the trend chart).

A report folder holds ``summary.json`` (headline counts: later nights read these instead of
re-reading findings) and ``stale.json`` (the stale list with status, verified date and "stale
since"). A folder written by another tool that has only ``findings.json`` still works as a
previous report: NCT IDs come from the findings of the staleness rules. Every file is read
through :func:`auditor.inputs.read_file` (a regular file, bounded); one that cannot be read or
parsed is one line, "previous report unreadable", and no new report is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inputs import MAX_REPORT_BYTES, read_file
from auditor.staleness import (
    NightCounts,
    PreviousReport,
    night_counts_from_summary,
    previous_from_entries,
    previous_from_findings,
)

DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
SUMMARY_FILE = "summary.json"
STALE_FILE = "stale.json"
FINDINGS_FILE = "findings.json"


def dated_folders(out: Path) -> list[tuple[date, Path]]:
    """Report folders under ``out`` (named ``YYYY-MM-DD``), oldest first."""
    found: list[tuple[date, Path]] = []
    try:
        entries = list(out.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise InputError(f"cannot list the reports folder: {exc.strerror or exc}", path=out) from exc
    for entry in entries:
        if not DATE_FOLDER.fullmatch(entry.name) or not entry.is_dir():
            continue
        try:
            found.append((date.fromisoformat(entry.name), entry))
        except ValueError:
            continue
    return sorted(found)


def previous_folder(out: Path, as_of: date) -> tuple[date, Path] | None:
    """The latest report folder strictly before ``as_of`` that holds a report."""
    for day, folder in reversed(dated_folders(out)):
        if day < as_of and ((folder / STALE_FILE).is_file() or (folder / FINDINGS_FILE).is_file()):
            return day, folder
    return None


def _load_json(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(read_file(path, what="previous report", limit=MAX_REPORT_BYTES).decode("utf-8"))
    except InputError as exc:
        raise InputError(f"previous report unreadable: {exc.message}", path=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"previous report unreadable: {exc}", path=path) from exc
    except RecursionError:
        raise InputError("previous report unreadable: nested too deeply", path=path) from None


def _findings_list(document: Any) -> list[Mapping[str, Any]]:
    """The finding objects of a ``findings.json`` (a list, or an object with ``findings``)."""
    if isinstance(document, Mapping):
        document = document.get("findings")
    if not isinstance(document, list):
        return []
    return [f for f in document if isinstance(f, Mapping)]


def load_previous(day: date, folder: Path, rule_ids: Iterable[str]) -> PreviousReport:
    """What tonight's report compares with: ``stale.json``, else the findings."""
    stale = _load_json(folder / STALE_FILE)
    try:
        if isinstance(stale, Mapping) and isinstance(stale.get("stale"), list):
            return previous_from_entries(day, (r for r in stale["stale"] if isinstance(r, Mapping)))
        if stale is not None:
            raise InputError(
                'previous report unreadable: expected {"stale": [...]}', path=folder / STALE_FILE
            )
        return previous_from_findings(day, _findings_list(_load_json(folder / FINDINGS_FILE)), rule_ids)
    except ValueError as exc:
        name = STALE_FILE if stale is not None else FINDINGS_FILE
        raise InputError(f"previous report unreadable: {exc}", path=folder / name) from None


def load_history(out: Path, as_of: date, rule_ids: Iterable[str], nights: int = 14) -> list[NightCounts]:
    """Counts of the last ``nights - 1`` reports before ``as_of`` (tonight makes ``nights``)."""
    wanted = tuple(rule_ids)
    earlier = [(d, f) for d, f in dated_folders(out) if d < as_of][-(nights - 1) :] if nights > 1 else []
    found = (_night_counts(day, folder, wanted) for day, folder in earlier)
    return [counts for counts in found if counts is not None]


def every_night(out: Path, rule_ids: Iterable[str]) -> list[NightCounts]:
    """Counts of every report under ``out`` (the index of nights), oldest first."""
    wanted = tuple(rule_ids)
    found = (_night_counts(day, folder, wanted) for day, folder in dated_folders(out))
    return [counts for counts in found if counts is not None]


def _night_counts(day: date, folder: Path, wanted: tuple[str, ...]) -> NightCounts | None:
    """A night's counts from its ``summary.json``, else its findings; ``None``: no report."""
    summary = _load_json(folder / SUMMARY_FILE)
    counts = night_counts_from_summary(summary) if isinstance(summary, Mapping) else None
    if counts is None and (folder / FINDINGS_FILE).is_file():
        findings = _findings_list(_load_json(folder / FINDINGS_FILE))
        stale = {f.get("nct_id") for f in findings if f.get("rule_id") in wanted}
        counts = NightCounts(as_of=day, records=None, stale=len(stale))
    return counts
