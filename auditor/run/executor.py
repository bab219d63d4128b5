"""Where work runs: one interface, three back ends (sqlfluff's ``get_runner``: sequential is just
one runner).

An :class:`Executor` maps a function over tasks and yields the results **in task order**,
lazily, with a bounded number of tasks in flight, so a pipeline streams however many inputs it
has and gives the same result on any back end:

* :class:`SequentialExecutor` — this process (``--jobs 1``, tiny runs, tests, debugging);
* :class:`ProcessExecutor` — a pool of worker processes on this machine (``--jobs N``);
* :class:`DaskExecutor` — a ``dask.distributed`` cluster (``--engine dask``; ``--scheduler
  ADDRESS`` or a local cluster started for the run), or one of Dask's single-machine
  schedulers (``synchronous``, ``threads``, ``processes``) without ``distributed``.

Worker processes are started with ``forkserver`` where available (forking a parent that already
runs pyarrow or Dask threads can deadlock a child) and exit when the process that started them
is gone.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from auditor.errors import UsageError

#: ``--engine`` values: where the work runs.
ENGINES = ("pandas", "dask")
DEFAULT_LOCAL_WORKERS = 2
#: How long to wait for a ``--scheduler`` address to answer.
CONNECT_TIMEOUT = "10s"
#: Dask's own schedulers, which need no ``distributed`` cluster.
LOCAL_DASK_SCHEDULERS = ("synchronous", "sync", "single-threaded", "threads", "processes")
#: Modules a worker process needs, imported once in the fork server rather than in each worker.
WORKER_PRELOAD = ["auditor.run.parse"]
_NOTHING = object()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a block (then back as it was).

    Parsing a chunk and checking a registry-sized table make millions of small containers that
    stay alive until the block ends (decoded JSON, rows, findings); the collector walks them
    again and again and frees nothing — 15% of a worker's parse and of a warm run, measured.
    Reference counting still frees everything that is not in a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def default_jobs() -> int:
    """The CPUs this process may use (cgroup/affinity aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Executor:
    """``map(func, tasks)``: results in task order, lazily, at most :meth:`window` in flight."""

    workers: int = 1

    def map(self, func: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        raise NotImplementedError

    def window(self) -> int:
        """How many tasks may be in flight: twice the workers, so none waits for work."""
        return 2 * self.workers


class SequentialExecutor(Executor):
    """Every task in this process, one after the other."""

    def map(self, func: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        return map(func, tasks)


class ProcessExecutor(Executor):
    """A pool of ``workers`` processes, started by the first task of a :meth:`map` (a run with
    nothing to do — a warm cache — starts none) and shut down when the map ends."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def map(self, func: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        remaining = iter(tasks)
        first = next(remaining, _NOTHING)
        if first is _NOTHING:
            return
        with _pool(self.workers) as pool:
            in_flight: deque[Future[Any]] = deque()
            try:
                for task in itertools.chain([first], remaining):
                    in_flight.append(pool.submit(func, task))
                    if len(in_flight) >= self.window():
                        yield in_flight.popleft().result()
                while in_flight:
                    yield in_flight.popleft().result()
            finally:
                for unfinished in in_flight:
                    unfinished.cancel()


def _pool(workers: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    ctx: multiprocessing.context.BaseContext
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_PRELOAD)
    else:  # pragma: no cover - not Linux
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_watch_parent, initargs=(os.getpid(),)
    )


def _watch_parent(parent: int) -> None:
    """Exit this worker when the process that started the pool is gone (killed with SIGTERM or
    SIGKILL, it cannot shut its pool down), instead of waiting forever for work."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="auditor-parent-watch", daemon=True).start()


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: the one at ``scheduler`` (``tcp://host:8786``), a local cluster
    of ``workers`` processes started for the run (``scheduler=None``), or one of Dask's
    single-machine schedulers. Tasks that name input files need workers that can read them (a
    shared file system), as with any Dask cluster. Dask is imported only when this runs."""

    def __init__(self, scheduler: str | None = None, workers: int = DEFAULT_LOCAL_WORKERS) -> None:
        self.scheduler = scheduler
        self.workers = max(1, workers)

    @contextlib.contextmanager
    def session(self) -> Iterator[tuple[Any, dict[str, Any]]]:
        """``(client or None, keyword arguments for dask.compute)`` that run on this executor's
        scheduler; a ``distributed`` client (connected, or on a local cluster started here)
        lives as long as the ``with`` block."""
        if self.scheduler in LOCAL_DASK_SCHEDULERS:
            yield None, {"scheduler": self.scheduler}
            return
        try:
            from dask.distributed import Client, LocalCluster  # heavy: only when Dask runs
        except ImportError as exc:  # pragma: no cover - distributed comes with dask[distributed]
            raise UsageError(
                "--engine dask needs dask.distributed (pip install 'dask[distributed]')"
            ) from exc
        if self.scheduler is None:
            with (
                LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                ) as cluster,
                Client(cluster) as client,  # type: ignore[no-untyped-call]
            ):
                yield client, {"scheduler": client.get}
            return
        try:
            client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot connect to the Dask scheduler at {self.scheduler}: {exc}") from exc
        with client:
            yield client, {"scheduler": client.get}

    def map(self, func: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        with self.session() as (client, compute_kwargs):
            if client is None:
                yield from _dask_batches(func, tasks, self.window(), compute_kwargs)
                return
            size = 2 * max(1, len(client.scheduler_info().get("workers", {})))
            in_flight: deque[Any] = deque()
            for task in tasks:
                in_flight.append(client.submit(func, task, pure=False))
                if len(in_flight) >= size:
                    yield in_flight.popleft().result()
            while in_flight:
                yield in_flight.popleft().result()


def _dask_batches(
    func: Callable[[Any], Any], tasks: Iterable[Any], size: int, compute_kwargs: dict[str, Any]
) -> Iterator[Any]:
    """Dask's single-machine schedulers have no futures: tasks go in batches of ``size``."""
    from dask.base import compute  # heavy: only when Dask runs
    from dask.delayed import delayed

    batch: list[Any] = []
    for task in tasks:
        batch.append(delayed(func)(task))
        if len(batch) >= size:
            yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]
            batch = []
    if batch:
        yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]


def validate_engine(engine: str, scheduler: str | None) -> None:
    """``engine`` is one of :data:`ENGINES`, and a ``scheduler`` comes only with the Dask engine."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r} (expected one of: {', '.join(ENGINES)})")
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask")


def get_executor(
    engine: str = "pandas", *, jobs: int | None = None, scheduler: str | None = None
) -> Executor:
    """The executor for the command line's ``--engine`` / ``--jobs`` / ``--scheduler``:
    ``jobs=1`` is this process, more is a process pool (default: the CPUs available), and the
    Dask engine is a cluster of ``jobs`` workers (or the one at ``scheduler``)."""
    validate_engine(engine, scheduler)
    workers = jobs or default_jobs()
    if engine == "dask":
        return DaskExecutor(scheduler, workers)
    if workers <= 1:
        return SequentialExecutor()
    return ProcessExecutor(workers)


__all__ = [
    "ENGINES",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SequentialExecutor",
    "default_jobs",
    "get_executor",
    "paused_gc",
    "validate_engine",
]
