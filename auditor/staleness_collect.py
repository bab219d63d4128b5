"""Inputs → what the staleness report needs: one small summary per study and the findings of
the staleness rules, parsed and checked on several processes.

Each worker reads a chunk of files, parses them, runs the rules over the chunk's records table
and sends back only :class:`~auditor.staleness.RecordSummary` rows and findings: whole records
never cross a process boundary (Ignite pages given by name excepted, see below) and are dropped
as soon as their chunk is checked, so memory stays flat however many studies there are.

Which snapshot is reported: the store's latest snapshot of every study (its index says which,
and each file's hash is checked before it is parsed); for files and folders given by name, the
latest of each study's snapshots found there, by Ignite modification date, then last update
submitted date, then path. Ignite pages given by name are merged with their module pages and
checked in the parent, as :func:`auditor.readers.read_paths` merges them, so a large Ignite export
should go through the store first (``audit snapshot add``): stored snapshots are complete and are
checked in the workers.

The result does not depend on the number of processes or on the order chunks finish in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import AuditorError, InputError, StoreError
from auditor.findings import Finding
from auditor.records import Record, SourceFormat, is_valid_nct_id
from auditor.staleness import SUMMARY_KEYS, RecordSummary, summarize

if TYPE_CHECKING:
    import pandas as pd

    from auditor.rules import RuleSet

#: Files per task: big enough that the rule engine's per-call cost is noise.
DEFAULT_CHUNK_SIZE = 1000
_IGNITE = (SourceFormat.IGNITE_TEXT, SourceFormat.IGNITE_MODULE)


@dataclass(frozen=True, slots=True)
class Unit:
    """One input file: on disk (``path``) or an archive member (``data``). ``sha256`` is the
    hash the store's index expects; ``whole`` says it is one complete snapshot (no module
    pages to merge)."""

    name: str
    path: str | None = None
    data: bytes | None = None
    sha256: str | None = None
    whole: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    """What every task needs besides its files (pickled once per task; rules are small)."""

    rules: RuleSet
    params: Mapping[str, str]
    as_of: date
    #: read only the fields the report and the rules use (:mod:`auditor.staleness_fast`)
    fast: bool = True


@dataclass(slots=True)
class ChunkResult:
    summaries: list[RecordSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignite: list[Record] = field(default_factory=list)
    files: int = 0


@dataclass(slots=True)
class Collected:
    """Every study's latest summary, the findings on exactly those snapshots, input errors."""

    summaries: list[RecordSummary]
    findings: list[Finding]
    errors: list[str]
    files: int


def store_units(store_path: str | Path) -> list[Unit]:
    """The latest snapshot file of every study in the store, with the hash its index expects."""
    from auditor.store import Store

    store = Store(store_path)
    try:
        entries = [entry for _, _, entry in store.summary()]
    finally:
        store.close()
    units: list[Unit] = []
    for entry in entries:
        parts = entry.path.split("/")
        if len(parts) != 2 or not is_valid_nct_id(parts[0]) or parts[1] in ("", ".", ".."):
            raise StoreError(f"index names an unexpected path {entry.path!r}", path=Path(store_path))
        path = Path(store_path, *parts)
        units.append(Unit(name=str(path), path=str(path), sha256=entry.sha256, whole=True))
    return units


def path_units(paths: Iterable[str | Path]) -> tuple[list[Unit], list[str]]:
    """Every input file under ``paths`` (folders walked, archives opened), without reading or
    even ``stat``-ing plain files: the same inputs, in the same order, as
    :func:`auditor.parallel.list_inputs`, which this uses for archives and named files. A folder
    of half a million files is listed in a couple of seconds; the size limit is checked by the
    worker that reads the file."""
    from auditor.parallel import list_inputs
    from auditor.readers import ARCHIVE_SUFFIXES, RECORD_SUFFIXES

    units: list[Unit] = []
    errors: list[str] = []

    def named(items: Iterable[str | Path]) -> None:
        for item in list_inputs(items):
            if isinstance(item, InputError):
                errors.append(item.one_line())
            else:
                units.append(Unit(name=item.name, path=item.path, data=item.data))

    suffixes = RECORD_SUFFIXES + ARCHIVE_SUFFIXES
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            named([root])
            continue
        found: list[tuple[tuple[str, ...], str]] = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file_name in files:
                if not file_name.startswith(".") and file_name.endswith(suffixes):
                    full = os.path.join(folder, file_name)
                    found.append((tuple(full.split(os.sep)), full))
        found.sort()  # as sorted(Path) does: part by part
        for _, full in found:
            if full.endswith(ARCHIVE_SUFFIXES):
                named([full])
            else:
                units.append(Unit(name=full, path=full))
    return units, errors


def _read(unit: Unit) -> bytes:
    from auditor.readers import MAX_INPUT_BYTES

    if unit.data is not None:
        return unit.data
    try:
        with open(unit.path or unit.name, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_INPUT_BYTES:
                raise InputError(f"file too large ({size} bytes)", path=unit.name)
            data = handle.read()
    except FileNotFoundError:
        raise InputError("no such file or directory", path=unit.name) from None
    except IsADirectoryError:
        raise InputError("is a directory", path=unit.name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=unit.name) from exc
    if unit.sha256 is not None and hashlib.sha256(data).hexdigest() != unit.sha256:
        raise StoreError("snapshot file does not match its hash; run 'audit snapshot verify'", path=unit.name)
    return data


def rule_columns(rules: RuleSet) -> frozenset[str]:
    """The registry keys the rules read (:func:`auditor.rules.compile.keys_read`). Only these
    columns are built (see :func:`narrow_table`)."""
    from auditor.rules.compile import keys_read

    return keys_read(rules)


def narrow_table(records: Sequence[Record], keys: Iterable[str]) -> pd.DataFrame:
    """:func:`auditor.table.records_table` restricted to the meta columns and ``keys``: the full
    table has five columns for each registry key, and building it costs more than the two rules
    that read it."""
    from auditor.table import records_table

    return records_table(records, keys=keys)


def check_chunk(records: Sequence[Record], job: Job) -> tuple[list[RecordSummary], list[Finding]]:
    """Summaries and staleness findings of some complete records."""
    from auditor.check import check_table

    if not records:
        return [], []
    rules = job.rules.scope("record")
    frame = narrow_table(records, rule_columns(rules))
    findings = check_table(frame, rules, params=dict(job.params), as_of=job.as_of)
    return [summarize(r) for r in records], findings


def work(task: tuple[Sequence[Unit], Job]) -> ChunkResult:
    """One task (runs in a worker): read, parse and check a chunk of files. Never raises for
    bad input; each bad file becomes one error line."""
    from auditor.readers import read_bytes
    from auditor.staleness_fast import project

    units, job = task
    out = ChunkResult(files=len(units))
    records: list[Record] = []
    keys = (rule_columns(job.rules.scope("record")) | SUMMARY_KEYS) if job.fast else None
    for unit in units:
        try:
            data = _read(unit)
            parsed: Sequence[Record | InputError] | None = None
            if keys is not None:
                parsed = project(data, unit.name, keys)
            if parsed is None:
                parsed = read_bytes(data, unit.name)
        except AuditorError as exc:
            out.errors.append(exc.one_line())
            continue
        for item in parsed:
            if isinstance(item, InputError):
                out.errors.append(item.one_line())
            elif item.source.format in _IGNITE and not unit.whole:
                out.ignite.append(item)
            else:
                records.append(item)
    out.summaries, out.findings = check_chunk(records, job)
    return out


def _chunks(units: Sequence[Unit], size: int) -> Iterator[list[Unit]]:
    for start in range(0, len(units), size):
        yield list(units[start : start + size])


def collect(
    units: Sequence[Unit],
    job: Job,
    *,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: Callable[[int], None] | None = None,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> Collected:
    """Parse and check ``units`` on ``jobs`` processes (``1``: in this process).

    ``engine="dask"``: the same chunks run as tasks on a ``dask.distributed`` cluster instead
    (:func:`auditor.engines.dask_map_ordered`): the one at ``scheduler`` (``tcp://host:8786``),
    or a local cluster of ``jobs`` workers started for the run; ``"synchronous"`` runs them
    in this process through Dask (tests). Each task parses its files and checks their records
    on the worker, so the workers must be able to read the inputs (a shared file system). The
    result is the same, bit for bit, whichever engine and however many workers."""
    from auditor.engines import validate_engine
    from auditor.parallel import map_ordered

    validate_engine(engine, scheduler)

    summaries: dict[str, RecordSummary] = {}
    findings: dict[str, list[Finding]] = {}
    errors: list[str] = []
    ignite: list[Record] = []
    files = 0

    def keep(result_summaries: Iterable[RecordSummary], result_findings: Iterable[Finding]) -> None:
        grouped: dict[tuple[str, str], list[Finding]] = {}
        for finding in result_findings:
            grouped.setdefault((finding.nct_id, finding.snapshot), []).append(finding)
        for summary in result_summaries:
            current = summaries.get(summary.nct_id)
            if current is None or summary.rank > current.rank:
                summaries[summary.nct_id] = summary
                findings[summary.nct_id] = grouped.get((summary.nct_id, summary.snapshot), [])

    tasks = ((chunk, job) for chunk in _chunks(units, max(1, chunk_size)))
    if engine == "dask":
        from auditor.engines import dask_map_ordered

        results: Iterator[ChunkResult] = dask_map_ordered(
            work, tasks, scheduler=scheduler, workers=max(1, jobs)
        )
    else:
        results = map_ordered(work, tasks, jobs=jobs)
    for result in results:
        keep(result.summaries, result.findings)
        errors.extend(result.errors)
        ignite.extend(result.ignite)
        files += result.files
        if on_progress is not None:
            on_progress(result.files)
    if ignite:
        from auditor.readers.ignite_text import merge_module_pages

        keep(*check_chunk(list(merge_module_pages(ignite)), job))
    ordered = sorted(summaries)
    return Collected(
        summaries=[summaries[n] for n in ordered],
        findings=[f for n in ordered for f in findings[n]],
        errors=errors,
        files=files,
    )
