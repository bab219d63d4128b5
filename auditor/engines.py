"""Run the compiled rules over a records table with pandas (one frame) or Dask (partitions).

An *engine* only decides where the rows are when the rules run; the rules themselves are the
same compiled pandera schema either way (``auditor.check.check_table``). Both engines return the
findings in one canonical order (:func:`order_findings`: the table row of the snapshot, then
the rule's position in the rule set — the order ``check_table`` gives for a whole table), so
their results compare equal, bit for bit.

**Why the Dask engine validates partition by partition.** pandera 0.35 has no ``pandera.dask``
module (only ``pandera.typing.dask``); ``schema.validate(dask_frame, lazy=True)`` works by mapping
the pandas validation over the partitions, and the ``SchemaErrors`` raised at ``compute()`` carry
the failure cases of one failing partition only — the others' are lost (two partitions ``[1, -2]``
and ``[3, -4]`` under ``Check.ge(0)`` report ``-4`` alone). A findings report needs every
failure, so this engine maps the *whole* check (the same compiled schema, validated lazily on a
pandas partition, failures turned into findings) over the partitions itself and gathers the
findings. Pair rules compare consecutive snapshots of one study, so partitions are cut at study
boundaries (every snapshot of an NCT ID in one partition, in table order) — record rules do not
need it, but a pair table built per study would: a pandas table is sorted by NCT ID and split
where the ID changes; a Dask table (e.g. read from the Parquet cache on a cluster) is shuffled
on ``nct_id``. A running row number restores the table order inside each partition.

``--scheduler ADDRESS`` connects to an existing ``dask.distributed`` scheduler; without it a
``LocalCluster`` with two worker processes is started for the run and closed after it.
``scheduler="synchronous"`` runs the partitions one after another in this process (tests).
Dask is imported only when the Dask engine runs.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError, UsageError
from auditor.findings import Finding

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from auditor.records import Record
    from auditor.rules import RuleSet

ENGINES = ("pandas", "dask")
#: Rows per Dask partition when none is asked for: a partition's check needs a few hundred
#: megabytes at most, and 560,000 records still make enough partitions for a small cluster.
DEFAULT_PARTITION_ROWS = 50_000
DEFAULT_LOCAL_WORKERS = 2
#: How long to wait for a ``--scheduler`` address to answer.
CONNECT_TIMEOUT = "10s"
_ROW = "__auditor_row"

Check = Callable[["pd.DataFrame"], list[Finding]]


@dataclass(frozen=True)
class TableCheck:
    """The rules bound to their ``as_of`` and parameters: ``check(frame) -> findings``.

    A picklable value (not a closure) so that Dask can send it to worker processes.
    """

    rules: RuleSet
    as_of: date
    params: Mapping[str, str | int | float] | None = None

    def __call__(self, frame: pd.DataFrame) -> list[Finding]:
        from auditor.check import check_table

        return check_table(frame, self.rules, as_of=self.as_of, params=self.params)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.rules.ids

    def columns(self, available: Sequence[str]) -> list[str]:
        """The columns of ``available`` the rules read (:func:`auditor.rules.compile.table_columns`)."""
        from auditor.rules.compile import table_columns

        return table_columns(self.rules, available)

    def narrow(self, frame: Any) -> Any:
        """``frame`` with only :meth:`columns`: pandera copies whole failing rows while it
        collects failure cases, so the ~190 columns no rule reads would cost more than the rules."""
        return frame[self.columns(list(frame.columns))]


def order_findings(
    findings: list[Finding], snapshots: Iterable[str], rule_ids: Sequence[str]
) -> list[Finding]:
    """The canonical order of findings: by the table row of their snapshot, then by rule order.

    It is the order ``check_table`` gives for a whole table (so for the pandas engine this is a
    no-op) and the order the Dask engine restores from its partitions' results. The sort is
    stable: findings of one snapshot and rule keep the order their partition gave them.
    """
    first_row: dict[str, int] = {}
    for row, snapshot in enumerate(snapshots):
        first_row.setdefault(snapshot, row)
    rule_rank = {rule_id: n for n, rule_id in enumerate(rule_ids)}
    unknown = len(first_row)
    return sorted(
        findings, key=lambda f: (first_row.get(f.snapshot, unknown), rule_rank.get(f.rule_id, len(rule_rank)))
    )


#: Below this many rows a records table is checked in this process: starting worker processes
#: (and importing pandera in them) costs more than the check.
PARALLEL_CHECK_ROWS = 40_000


def run_pandas(
    frame: pd.DataFrame, check: TableCheck, *, jobs: int | None = None, min_rows: int = PARALLEL_CHECK_ROWS
) -> list[Finding]:
    """The whole table in one pandas frame: the reference engine.

    ``jobs`` > 1 and at least ``min_rows`` rows of a records table (record rules judge each row
    alone): consecutive slices of rows are checked on ``jobs`` processes and their findings
    joined in slice order — the order one ``check_table`` gives (row, then rule), so the same
    findings, bit for bit, in about ``1/jobs`` of the time on a registry-sized table."""
    narrow = check.narrow(frame)
    pair = any(str(c).startswith("old.") for c in narrow.columns)
    if jobs is None or jobs <= 1 or len(narrow) < max(min_rows, 2) or pair:
        found = check(narrow)
        if frame["snapshot"].is_unique:  # then check's order (row, rule) is the canonical one
            return found
        return order_findings(found, frame["snapshot"], check.rule_ids)
    from auditor.parallel import map_ordered

    bounds = [round(i * len(narrow) / jobs) for i in range(jobs + 1)]
    slices = (narrow.iloc[a:b] for a, b in itertools.pairwise(bounds) if b > a)
    findings = [f for found in map_ordered(check, slices, jobs=jobs) for f in found]
    return order_findings(findings, frame["snapshot"], check.rule_ids)


def run_dask(
    table: Any,
    check: TableCheck,
    *,
    scheduler: str | None = None,
    npartitions: int | None = None,
    workers: int = DEFAULT_LOCAL_WORKERS,
) -> list[Finding]:
    """``check`` over study-aligned partitions of ``table`` (a pandas or a Dask frame), findings
    in the pandas engine's order.

    ``scheduler``: ``None`` starts a ``LocalCluster`` of ``workers`` processes; an address
    (``tcp://host:8786``) uses that cluster; ``"synchronous"`` / ``"threads"`` / ``"processes"``
    use Dask's single-machine schedulers without ``distributed``.
    """
    from dask.base import compute
    from dask.delayed import delayed

    with dask_scheduler(scheduler, workers=workers) as (client, compute_kwargs):
        parts = study_partitions(check.narrow(table), npartitions=npartitions, client=client)
        dtypes = {name: dtype for name, dtype in parts.dtypes.items() if name != _ROW}
        tasks = [delayed(_check_partition)(part, check, dtypes) for part in parts.to_delayed()]
        results = compute(*tasks, **compute_kwargs)  # type: ignore[no-untyped-call]
        snapshots = table["snapshot"] if _is_pandas(table) else table["snapshot"].compute(**compute_kwargs)
    return order_findings([f for found in results for f in found], snapshots, check.rule_ids)


def run_engine(
    engine: str,
    frame: pd.DataFrame,
    check: TableCheck,
    *,
    scheduler: str | None = None,
    npartitions: int | None = None,
    jobs: int | None = None,
) -> list[Finding]:
    """The CLI's ``--engine`` switch (``jobs``: processes for a large table on pandas)."""
    validate_engine(engine, scheduler)
    if engine == "pandas":
        return run_pandas(frame, check, jobs=jobs)
    return run_dask(frame, check, scheduler=scheduler, npartitions=npartitions)


def validate_engine(engine: str, scheduler: str | None) -> None:
    """``engine`` is one of :data:`ENGINES`, and a ``scheduler`` comes only with the Dask engine
    (``audit check`` and ``audit report`` take the same two options)."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r} (expected one of: {', '.join(ENGINES)})")
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask")


def _is_pandas(table: Any) -> bool:
    import pandas as pd

    return isinstance(table, pd.DataFrame)


def split_by_study(frame: pd.DataFrame, npartitions: int) -> list[pd.DataFrame]:
    """About ``npartitions`` pieces of ``frame`` (with a row-number column), each holding every
    row of its studies: sorted by NCT ID (stably) and cut only where the NCT ID changes."""
    import numpy as np

    numbered = frame.assign(**{_ROW: np.arange(len(frame), dtype="int64")})
    ordered = numbered.sort_values(["nct_id", _ROW], kind="stable").reset_index(drop=True)
    if len(ordered) == 0:
        return [ordered]
    ids = ordered["nct_id"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # first row of each study
    wanted = np.linspace(0, len(ordered), num=max(1, npartitions) + 1)[1:-1]
    cuts = np.unique(starts[np.clip(np.searchsorted(starts, wanted), 0, len(starts) - 1)])
    bounds = [0, *(int(c) for c in cuts if c > 0), len(ordered)]
    return [ordered.iloc[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def study_partitions(table: Any, *, npartitions: int | None = None, client: Any = None) -> Any:
    """A Dask frame whose partitions each hold every row of their studies, with a row number.

    A pandas table is split here (:func:`split_by_study`, no shuffle) and, on a distributed
    cluster, scattered to the workers (not embedded in the task graph); a Dask table (e.g. read
    from the Parquet cache by the workers) is shuffled on ``nct_id``.
    """
    import dask.dataframe as dd
    from dask.delayed import delayed

    if _is_pandas(table):
        wanted = npartitions or max(1, math.ceil(len(table) / DEFAULT_PARTITION_ROWS))
        parts = split_by_study(table, wanted)
        meta = parts[0].iloc[:0]
        if client is not None:
            return dd.from_delayed(client.scatter(parts), meta=meta, verify_meta=False)
        return dd.from_delayed([delayed(p) for p in parts], meta=meta, verify_meta=False)
    if isinstance(table, dd.DataFrame):
        if _ROW not in table.columns:
            table = table.assign(**{_ROW: 1})
            table[_ROW] = table[_ROW].cumsum() - 1
        return table.shuffle(on="nct_id", npartitions=npartitions or table.npartitions)
    raise TypeError(f"expected a pandas or Dask DataFrame, got {type(table).__name__}")


def _check_partition(part: pd.DataFrame, check: Check, dtypes: dict[str, Any]) -> list[Finding]:
    """Give one partition the pandas engine's shape (table order, dtypes, a fresh index), check it."""
    if not len(part):
        return []
    frame = part.sort_values(_ROW, kind="stable").drop(columns=[_ROW]).reset_index(drop=True)
    drift = {c: t for c, t in dtypes.items() if c in frame.columns and frame[c].dtype != t}
    if drift:
        frame = frame.astype(drift)
    return check(frame[list(dtypes)])


@contextlib.contextmanager
def dask_scheduler(
    scheduler: str | None, *, workers: int = DEFAULT_LOCAL_WORKERS
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """``(client or None, keyword arguments for dask.compute)`` that run on the scheduler asked
    for; a ``distributed`` client (connected, or on a local cluster started here) lives as long
    as the ``with`` block."""
    if scheduler in ("synchronous", "sync", "single-threaded", "threads", "processes"):
        yield None, {"scheduler": scheduler}
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed comes with dask[distributed]
        raise UsageError("--engine dask needs dask.distributed (pip install 'dask[distributed]')") from exc
    if scheduler is None:
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield client, {"scheduler": client.get}
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from exc
    with client:
        yield client, {"scheduler": client.get}


def check_inputs(
    paths: Iterable[str | Path],
    rules: RuleSet,
    *,
    as_of: date,
    params: Mapping[str, str | int | float] | None = None,
    extra_records: Iterable[Record] = (),
    engine: str = "pandas",
    scheduler: str | None = None,
    jobs: int | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[list[Finding], list[InputError], int]:
    """``audit check`` at scale: parse ``paths`` on ``jobs`` processes (through the Parquet cache
    in ``cache_dir`` if given), add ``extra_records`` (the store's latest snapshots), run the
    record rules on ``engine`` (``jobs`` is for the parse; the pandas check runs in this
    process). Returns the findings, the input errors and the rows checked —
    the same findings, in the same order, as ``check_records(read_paths(paths) + extra)``."""

    from auditor.parallel import parse_table
    from auditor.table import records_table

    selected = rules.scope("record")
    check = TableCheck(selected, as_of, params)
    columns = check.columns(list(records_table([]).columns))
    if cache_dir is not None:
        from auditor.cache import RecordCache

        cache = RecordCache(cache_dir)
        # The cache is written on a thread while the rules run (see RecordCache.table).
        table, errors, _ = cache.table(paths, jobs=jobs, columns=columns, project=True, wait=False)
        try:
            found, checked = _check_table(table, check, engine, scheduler, extra_records)
        finally:
            cache.wait()
        return found, errors, checked
    table, errors = parse_table(paths, jobs=jobs, columns=columns)
    found, checked = _check_table(table, check, engine, scheduler, extra_records)
    return found, errors, checked


def _check_table(
    table: pd.DataFrame,
    check: TableCheck,
    engine: str,
    scheduler: str | None,
    extra_records: Iterable[Record],
) -> tuple[list[Finding], int]:
    import pandas as pd

    from auditor.table import records_table

    extra = list(extra_records)
    if extra:
        table = pd.concat([check.narrow(table), check.narrow(records_table(extra))], ignore_index=True)
    if not len(check.rules) or table.empty:
        return [], len(table)
    # The check runs in this process: since findings are built a column at a time it takes
    # about a second per 100,000 records, less than sending its findings back from workers
    # (measured: 100k warm, 5.6 s in one process, 8.2 s with the check on two).
    return run_engine(engine, table, check, scheduler=scheduler), len(table)


def dask_map_ordered(
    func: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    scheduler: str | None = None,
    workers: int = DEFAULT_LOCAL_WORKERS,
    window: int | None = None,
) -> Iterator[Any]:
    """:func:`auditor.parallel.map_ordered` on Dask: ``func`` over ``tasks`` lazily, results in
    order, at most ``window`` tasks in flight (default: twice the cluster's workers).

    For pipelines that parse and check inside their tasks (the staleness report's
    ``collect``): swapping the process pool for this runs the same chunks on a
    ``dask.distributed`` cluster. The inputs the tasks name must be readable by the workers
    (a shared file system), as with any Dask cluster.
    """
    from collections import deque

    with dask_scheduler(scheduler, workers=workers) as (client, compute_kwargs):
        if client is None:
            from dask.base import compute
            from dask.delayed import delayed

            size = window or 2 * workers
            batch: list[Any] = []
            for task in tasks:
                batch.append(delayed(func)(task))
                if len(batch) >= size:
                    yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]
                    batch = []
            if batch:
                yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]
            return
        size = window or 2 * max(1, len(client.scheduler_info().get("workers", {})))
        in_flight: deque[Any] = deque()
        for task in tasks:
            in_flight.append(client.submit(func, task, pure=False))
            if len(in_flight) >= size:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
