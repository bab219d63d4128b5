"""The folder of dated staleness reports (``reports/2026-11-25/``): find earlier ones, read what
the trend needs from them, and write tonight's atomically.

A report folder holds ``index.html``, ``report.md``, ``findings.json``, ``findings.csv`` and two
small files for the next night: ``summary.json`` (headline counts; the trend chart reads the
last nights' ones instead of re-reading their findings) and ``stale.json`` (the stale list with
status, verified date and "stale since", so that tomorrow can tell new from still stale and say
why a record was fixed). A folder written by another tool that has only ``findings.json`` still
works as a previous report: NCT IDs come from the findings of the staleness rules.

Writing is all or nothing: the files are built in a hidden temp folder beside the target
(``reports/.2026-11-25.tmp-XXXX``), then renamed into place; an existing folder for the same date
is renamed away first and deleted after. A failure (disk full, permission denied) removes the
temp folder, puts the old folder back and raises :class:`~auditor.errors.OutputError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from auditor.atomic import fsync_dir
from auditor.errors import InputError, OutputError
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
#: Temp folders left by a killed run are removed by a later run once they are this old.
LEFTOVER_SECONDS = 24 * 3600


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
    history: list[NightCounts] = []
    for day, folder in earlier:
        counts = None
        summary = _load_json(folder / SUMMARY_FILE)
        if isinstance(summary, Mapping):
            counts = night_counts_from_summary(summary)
        if counts is None and (folder / FINDINGS_FILE).is_file():
            findings = _findings_list(_load_json(folder / FINDINGS_FILE))
            stale = {f.get("nct_id") for f in findings if f.get("rule_id") in wanted}
            counts = NightCounts(as_of=day, records=None, stale=len(stale))
        if counts is not None:
            history.append(counts)
    return history


def write_folder(out: Path, name: str, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` into ``out/name/`` all at once (see the module docstring); a file name
    may have one folder (``history/NCT00000001.html``)."""
    target = out / name
    tmp: Path | None = None
    old: Path | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out))
        for file_name, data in files.items():
            parts = file_name.split("/")
            if any(part in ("", ".", "..") for part in parts) or len(parts) > 2:
                raise ValueError(f"unexpected report file name {file_name!r}")
            if len(parts) == 2:
                (tmp / parts[0]).mkdir(exist_ok=True)
            with open(tmp / file_name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for folder in {tmp, *(tmp / name.split("/")[0] for name in files if "/" in name)}:
            os.chmod(folder, 0o755)
            fsync_dir(folder)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=out))
            os.replace(target, old)
        os.replace(tmp, target)
        tmp = None
        fsync_dir(out)
    except OSError as exc:
        if old is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(old, target)
                old = None
        raise OutputError(f"cannot write the report: {exc.strerror or exc}", path=target) from exc
    finally:
        for leftover in (tmp, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
    return target


def _remove_leftovers(out: Path, now: float | None = None) -> None:
    """Delete our temp folders that a killed run left behind (only old ones: another run may
    be writing a fresh one right now)."""
    now = time.time() if now is None else now
    for entry in out.iterdir():
        if entry.name.startswith(".") and (".tmp-" in entry.name or ".old-" in entry.name):
            try:
                if entry.is_dir() and now - entry.stat().st_mtime > LEFTOVER_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                continue
