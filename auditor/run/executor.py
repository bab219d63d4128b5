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
import errno
import gc
import itertools
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection, wait
from typing import Any

from auditor.errors import UsageError, WorkerError

#: ``--engine`` values: where the work runs.
ENGINES = ("pandas", "dask")
DEFAULT_LOCAL_WORKERS = 2
#: How long to wait for a ``--scheduler`` address to answer.
CONNECT_TIMEOUT = "10s"
#: Dask's own schedulers, which need no ``distributed`` cluster.
LOCAL_DASK_SCHEDULERS = ("synchronous", "sync", "single-threaded", "threads", "processes")
#: Modules a worker process needs, imported once in the fork server rather than in each worker.
WORKER_PRELOAD = ["auditor.run.parse"]
#: Past the first task in flight, at most this many bytes of task ``weight`` (archive members
#: read by this process) are given out at once: with the window alone, a zip bomb's members
#: of 250 MB each made gigabytes in flight.
BYTES_IN_FLIGHT = 256 * 1024 * 1024
_NOTHING = object()

#: ``weight(task)``: the bytes a task carries (what it costs to hold and send).
Weight = Callable[[Any], int]


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
    """``map(func, tasks)``: results in task order, lazily, at most :meth:`window` in flight
    (and, with ``weight``, at most :data:`BYTES_IN_FLIGHT` past the first)."""

    workers: int = 1

    def map(
        self, func: Callable[[Any], Any], tasks: Iterable[Any], *, weight: Weight | None = None
    ) -> Iterator[Any]:
        raise NotImplementedError

    def window(self) -> int:
        """How many tasks may be in flight: twice the workers, so none waits for work."""
        return 2 * self.workers


class SequentialExecutor(Executor):
    """Every task in this process, one after the other."""

    def map(
        self, func: Callable[[Any], Any], tasks: Iterable[Any], *, weight: Weight | None = None
    ) -> Iterator[Any]:
        return map(func, tasks)


class ProcessExecutor(Executor):
    """``workers`` processes of our own, started by the first task of a :meth:`map` (a run with
    nothing to do — a warm cache — starts none) and stopped when the map ends.

    Each worker has a pipe of its own and holds one task at a time, so no lock is shared
    between processes: a worker that dies (``kill -9``, the out-of-memory killer) is seen at
    once by its pipe's end or its exit, and ends the run with :class:`WorkerError` instead of
    leaving a reader blocked on half a message (the hang of ``concurrent.futures`` pools
    interrupted from a terminal). Workers ignore SIGINT — Ctrl-C reaches the whole process
    group, and only this process decides what an interruption means: it stops the workers and
    lets the ``KeyboardInterrupt`` go on (exit 130, no traceback from any worker)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def map(
        self, func: Callable[[Any], Any], tasks: Iterable[Any], *, weight: Weight | None = None
    ) -> Iterator[Any]:
        remaining = iter(tasks)
        first = next(remaining, _NOTHING)
        if first is _NOTHING:
            return
        pool = _Workers(self.workers)
        try:
            yield from pool.run(func, itertools.chain([first], remaining), self.window(), weight)
        except BaseException:
            pool.stop(kill=True)
            raise
        pool.stop(kill=False)


class _Workers:
    """The worker processes of one :meth:`ProcessExecutor.map` and a pipe to each."""

    def __init__(self, count: int) -> None:
        ctx = _context()
        self.processes: list[Any] = []
        self.pipes: list[Connection] = []
        try:
            # The resource tracker protects itself from Ctrl-C, but unblocks SIGINT in this
            # thread when it starts: started first, it cannot undo the block below.
            resource_tracker.ensure_running()
            with _sigint_blocked():  # the fork server and the workers start with Ctrl-C held back
                for _ in range(count):
                    mine, theirs = ctx.Pipe(duplex=True)
                    process = ctx.Process(
                        target=_worker_main, args=(theirs, os.getpid()), name="auditor-worker", daemon=True
                    )
                    self.pipes.append(mine)
                    process.start()
                    self.processes.append(process)
                    theirs.close()
        except OSError as exc:
            self.stop(kill=True)
            raise WorkerError(f"cannot start worker processes: {_why(exc)}") from None
        except BaseException:
            self.stop(kill=True)
            raise

    def run(
        self, func: Callable[[Any], Any], tasks: Iterator[Any], window: int, weight: Weight | None
    ) -> Iterator[Any]:
        """The results of ``func`` over ``tasks`` in task order: at most ``window`` tasks given
        out and not yet yielded, and (past the first) at most :data:`BYTES_IN_FLIGHT` of
        ``weight``."""
        idle = list(range(len(self.processes)))
        busy: dict[int, int] = {}  # worker → task number
        done: dict[int, Any] = {}
        weights: dict[int, int] = {}
        given = yielded = held = 0
        task: Any = _NOTHING
        exhausted = False
        while True:
            while idle and not exhausted and given - yielded < window:
                if task is _NOTHING:
                    task = next(tasks, _NOTHING)
                    if task is _NOTHING:
                        exhausted = True
                        break
                cost = weight(task) if weight is not None else 0
                if held and held + cost > BYTES_IN_FLIGHT:
                    break
                worker = idle.pop()
                self._send(worker, (func, task))
                busy[worker], weights[given] = given, cost
                held += cost
                given += 1
                task = _NOTHING
            if yielded in done:
                held -= weights.pop(yielded)
                yielded += 1
                yield done.pop(yielded - 1)
                continue
            if exhausted and yielded == given:
                return
            for worker in self._ready(busy):
                done[busy.pop(worker)] = self._receive(worker)
                idle.append(worker)

    def _ready(self, busy: dict[int, int]) -> list[int]:
        """The busy workers with a result to read; :class:`WorkerError` if a worker died."""
        pipes = {id(self.pipes[w]): w for w in busy}
        sentinels = {p.sentinel: w for w, p in enumerate(self.processes)}
        ready = wait([self.pipes[w] for w in busy] + list(sentinels))
        with_result = [pipes[id(r)] for r in ready if id(r) in pipes]
        if with_result:
            return with_result
        for item in ready:
            if item in sentinels:
                raise self._died(sentinels[item])
        return []

    def _send(self, worker: int, message: Any) -> None:
        try:
            self.pipes[worker].send(message)
        except (BrokenPipeError, ConnectionError, EOFError):
            raise self._died(worker) from None

    def _receive(self, worker: int) -> Any:
        try:
            ok, value = self.pipes[worker].recv()
        except (EOFError, ConnectionError, OSError):
            raise self._died(worker) from None
        if ok:
            return value
        if isinstance(value, MemoryError):
            raise WorkerError("a worker process ran out of memory; nothing was written") from None
        raise value  # a bug in the task: its own traceback, as in this process

    def _died(self, worker: int) -> WorkerError:
        process = self.processes[worker]
        process.join(timeout=1.0)
        code = process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            how = f"was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
        else:
            how = f"ended unexpectedly (exit status {code})"
        return WorkerError(f"a worker process {how}; nothing was written")

    def stop(self, *, kill: bool) -> None:
        """End every worker: asked to finish (``kill=False``), or killed at once (interrupted,
        failed: a worker may be busy for seconds and holds nothing worth keeping)."""
        for pipe, process in zip(self.pipes, self.processes, strict=False):
            if kill:
                with contextlib.suppress(OSError, ValueError):
                    process.kill()
            else:
                with contextlib.suppress(OSError, ValueError):
                    pipe.send(None)
        for process in self.processes:
            process.join(timeout=None if kill else 5.0)
            if process.is_alive():  # pragma: no cover - a worker that did not finish in time
                process.kill()
                process.join()
        for pipe in self.pipes:
            pipe.close()
        self.processes, self.pipes = [], []


def _worker_main(pipe: Connection, parent: int) -> None:
    """A worker: ``(func, task)`` in, ``(True, result)`` or ``(False, exception)`` out, until
    ``None`` or the pipe closes. Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # (ignored now: unblocking is safe)
    _watch_parent(parent)
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        func, task = message
        try:
            reply: tuple[bool, Any] = (True, func(task))
        except BaseException as exc:  # sent to the parent, which decides
            reply = (False, exc)
        del message, func, task
        try:
            pipe.send(reply)
        except (BrokenPipeError, ConnectionError):
            return
        except Exception as exc:  # a result or an exception that does not pickle: a bug
            pipe.send((False, RuntimeError(f"worker result could not be sent: {exc!r}")))


def _watch_parent(parent: int) -> None:
    """Exit this worker when the process that started it is gone (killed with SIGKILL, it
    cannot stop its workers), instead of waiting for work for ever."""

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


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not Linux


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back (not lost) while processes are started: they inherit the mask, so a
    Ctrl-C that arrives while the fork server imports the readers, or before a worker has set
    SIGINT aside, prints no traceback from them; this process gets it as soon as the block
    ends."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _why(exc: OSError) -> str:
    if exc.errno == errno.EMFILE:
        return "too many open files (raise 'ulimit -n')"
    if exc.errno == errno.ENOENT and not _cwd_exists():
        return "the working folder no longer exists"
    return exc.strerror or str(exc)


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except OSError:
        return False
    return True


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
            ensure_descriptors(
                DASK_DESCRIPTORS + DASK_DESCRIPTORS_PER_WORKER * self.workers, "a local Dask cluster"
            )
            try:
                with _sigint_blocked():  # its processes and event-loop thread never see Ctrl-C
                    cluster = LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                    )
            except OSError as exc:
                raise WorkerError(f"cannot start a local Dask cluster: {_why(exc)}") from None
            with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
                yield client, {"scheduler": client.get}
            return
        ensure_descriptors(DASK_DESCRIPTORS, "a Dask client")
        try:
            with _sigint_blocked():
                client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot connect to the Dask scheduler at {self.scheduler}: {exc}") from exc
        with client:
            yield client, {"scheduler": client.get}

    def map(
        self, func: Callable[[Any], Any], tasks: Iterable[Any], *, weight: Weight | None = None
    ) -> Iterator[Any]:
        with self.session() as (client, compute_kwargs):
            if client is None:
                yield from _dask_batches(func, tasks, self.window(), compute_kwargs, weight)
                return
            size = 2 * max(1, len(client.scheduler_info().get("workers", {})))
            in_flight: deque[tuple[Any, int]] = deque()
            held = 0
            for task in tasks:
                cost = weight(task) if weight is not None else 0
                while in_flight and (len(in_flight) >= size or held + cost > BYTES_IN_FLIGHT):
                    future, done_cost = in_flight.popleft()
                    held -= done_cost
                    yield future.result()
                in_flight.append((client.submit(func, task, pure=False), cost))
                held += cost
            while in_flight:
                yield in_flight.popleft()[0].result()


def _dask_batches(
    func: Callable[[Any], Any],
    tasks: Iterable[Any],
    size: int,
    compute_kwargs: dict[str, Any],
    weight: Weight | None,
) -> Iterator[Any]:
    """Dask's single-machine schedulers have no futures: tasks go in batches of ``size`` (or
    fewer, of at most :data:`BYTES_IN_FLIGHT` past the first)."""
    from dask.base import compute  # heavy: only when Dask runs
    from dask.delayed import delayed

    batch: list[Any] = []
    held = 0
    for task in tasks:
        cost = weight(task) if weight is not None else 0
        if batch and held + cost > BYTES_IN_FLIGHT:
            yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]
            batch, held = [], 0
        batch.append(delayed(func)(task))
        held += cost
        if len(batch) >= size:
            yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]
            batch, held = [], 0
    if batch:
        yield from compute(*batch, **compute_kwargs)  # type: ignore[no-untyped-call]


#: File descriptors a Dask client needs, and a local cluster per worker besides (measured: two
#: workers ran with 48 and failed with 40; without this check, a low ``ulimit -n`` made the
#: cluster's event loop log a traceback per refused connection, 100 MB a minute, for ever).
DASK_DESCRIPTORS = 64
DASK_DESCRIPTORS_PER_WORKER = 16


def ensure_descriptors(needed: int, what: str) -> None:
    """Raise the soft limit on open files to ``needed`` when the hard limit allows; otherwise
    :class:`WorkerError` saying how many ``what`` needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            return
    raise WorkerError(f"too few open files allowed for {what}: {soft} (ulimit -n); it needs about {needed}")


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
    "BYTES_IN_FLIGHT",
    "ENGINES",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SequentialExecutor",
    "default_jobs",
    "ensure_descriptors",
    "get_executor",
    "paused_gc",
    "validate_engine",
]
