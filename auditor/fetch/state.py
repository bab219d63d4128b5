"""Resumable runs: what an interrupted ``audit fetch`` had finished, kept in the store.

File: ``<store>/.fetch/<key>.json``, where ``key`` is a hash of the request (mode, NCT IDs,
query parameters, ``--since``, API URL), so that only the *same* command resumes. It is
rewritten atomically after every unit of work is stored — a batch of current records, a page of
a search, a study's whole history — and deleted when the run reaches its end (whatever its
errors: a finished run starts afresh next time; failed studies are simply fetched again).

An interrupted run (Ctrl-C, ``kill -9``, a crash) leaves the file; the same command then skips
the studies and pages it lists as done. Work that was fetched but not yet stored when the run
stopped is fetched again, and storing what is already stored is a no-op, so the store ends
exactly as after an uninterrupted run. ``--restart`` ignores (and replaces) a saved state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.atomic import atomic_write
from auditor.errors import AuditorError
from auditor.inputs import read_file

STATE_FOLDER = ".fetch"


@dataclass(slots=True)
class RunState:
    """Progress of one request; mutable, saved after each stored unit."""

    path: Path
    request: dict[str, Any]
    done: list[str] = field(default_factory=list)
    listed: list[str] | None = None
    next_page_token: str | None = None
    pages_done: int = 0
    _known: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._known = set(self.done)

    @property
    def resumed(self) -> bool:
        return bool(self.done or self.pages_done or self.listed is not None)

    def is_done(self, nct_id: str) -> bool:
        return nct_id in self._known

    def mark_done(self, nct_ids: list[str]) -> None:
        for nct_id in nct_ids:
            if nct_id not in self._known:
                self._known.add(nct_id)
                self.done.append(nct_id)
        self.save()

    def save(self) -> None:
        document = {
            "request": self.request,
            "done": self.done,
            "listed": self.listed,
            "next_page_token": self.next_page_token,
            "pages_done": self.pages_done,
        }
        atomic_write(self.path, json.dumps(document, indent=1) + "\n")

    def finish(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def request_key(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_state(store_root: str | Path, request: dict[str, Any], *, restart: bool = False) -> RunState:
    """The saved state of this request, or a fresh one (also when the saved file is unreadable
    or belongs to another request: starting over is always safe)."""
    path = Path(store_root) / STATE_FOLDER / f"{request_key(request)}.json"
    fresh = RunState(path, request)
    if restart:
        return fresh
    try:
        saved = json.loads(read_file(path, what="fetch state"))
    except (AuditorError, ValueError):
        return fresh
    if not isinstance(saved, dict) or saved.get("request") != request:
        return fresh
    done, listed, token = saved.get("done"), saved.get("listed"), saved.get("next_page_token")
    pages_done = saved.get("pages_done")
    if not isinstance(done, list) or not all(isinstance(n, str) for n in done):
        return fresh
    if listed is not None and not (isinstance(listed, list) and all(isinstance(n, str) for n in listed)):
        return fresh
    return RunState(
        path,
        request,
        done=list(done),
        listed=listed,
        next_page_token=token if isinstance(token, str) else None,
        pages_done=pages_done if isinstance(pages_done, int) else 0,
    )
