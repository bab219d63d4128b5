"""One ``audit fetch`` run: which studies, fetched how, stored, resumable.

The unit of work is what is stored together: a batch of up to 100 current records (one
``filter.ids`` request), a page of a search, or a study's whole history (change list, every
version not stored yet, then the change-list file). Each unit is stored with one
:meth:`Store.add <auditor.store.Store.add>` and then marked done in the run state
(:mod:`auditor.fetch.state`), so an interrupted run loses at most the unit in flight.

A study that fails (network, HTTP status, a body that is not JSON, a shape we do not know) is
one :class:`~auditor.errors.FetchError` line naming it; the others are still fetched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.errors import FetchError, StoreError
from auditor.fetch.changelist import ChangeList, read_change_list, write_change_list
from auditor.fetch.client import ApiClient
from auditor.fetch.history import ShapeError, VersionChange, change_list_object, parse_changes, version_study
from auditor.fetch.state import RunState, load_state
from auditor.fetch.studies import (
    IDS_PER_REQUEST,
    MAX_PAGE_SIZE,
    fetch_study,
    pages,
    since_filter,
    study_bytes,
)
from auditor.progress import Progress
from auditor.store import AddResult, SnapshotBytes, Store
from auditor.text import plural

HISTORY_PATH = "api/int/studies/{nct_id}/history"


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What to fetch: listed NCT IDs, or a search (``params``: the API's ``query.*``/``filter.*``);
    current records, or (``history``) every version."""

    nct_ids: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    since: str | None = None
    history: bool = False
    page_size: int = 100

    def describe(self, api_url: str) -> dict[str, Any]:
        """The request as data: the key of its resumable state."""
        return {
            "api_url": api_url,
            "nct_ids": list(self.nct_ids),
            "params": [list(p) for p in self.params],
            "since": self.since,
            "history": self.history,
        }

    def search_params(self) -> dict[str, str]:
        params = dict(self.params)
        return since_filter(params, self.since) if self.since else params


@dataclass(slots=True)
class FetchSummary:
    """What a run did; ``line()`` is the one summary line for logs."""

    studies: int = 0
    fetched: int = 0
    skipped: int = 0
    not_updated: int = 0
    added: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    errors: list[FetchError] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    resumed: bool = False
    complete: bool = True

    def record(self, result: AddResult) -> None:
        self.added += len(result.added)
        self.unchanged += len(result.unchanged)
        self.conflicts.extend(c.message() for c in result.conflicts)
        self.errors.extend(FetchError(f"cannot store: {e.one_line()}") for e in result.errors)

    def line(self) -> str:
        parts = [plural(self.studies, "study", "studies"), f"{self.fetched} fetched"]
        if self.skipped:
            parts.append(f"{self.skipped} done by the interrupted run")
        if self.not_updated:
            parts.append(f"{self.not_updated} not updated since")
        parts.append(plural(len(self.errors), "error"))
        conflicts = plural(len(self.conflicts), "conflict")
        snapshots = f"snapshots: {self.added} added, {self.unchanged} unchanged, {conflicts}"
        retries = plural(self.retries, "retry", "retries")
        traffic = f"{plural(self.requests, 'request')}, {retries}, {self.seconds:.1f} s"
        return f"fetch: {', '.join(parts)}; {snapshots}; {traffic}"


class FetchRun:
    """Carries out one :class:`FetchRequest` against one store (see the module docstring)."""

    def __init__(
        self,
        request: FetchRequest,
        store: Store,
        client: ApiClient,
        *,
        progress: Progress | None = None,
        restart: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.request = request
        self.store = store
        self.client = client
        self.progress = progress or Progress("fetching", enabled=False)
        self.state: RunState = load_state(
            store.root, request.describe(client.settings.api_url), restart=restart
        )
        self.summary = FetchSummary(resumed=self.state.resumed)
        self._now = now
        self._clock = clock

    def run(self) -> FetchSummary:
        started = self._clock()
        try:
            if self.request.nct_ids and not (self.request.history and self.request.since):
                self._fetch_ids(list(self.request.nct_ids))
            elif self.request.history:
                ids = self._listed_ids()
                if ids is not None:
                    self._fetch_ids(ids)
                    self.summary.not_updated = (
                        len(self.request.nct_ids) - len(ids) if self.request.nct_ids else 0
                    )
            else:
                self._fetch_search()
        finally:
            self.summary.requests = self.client.requests
            self.summary.retries = self.client.retries
            self.summary.seconds = self._clock() - started
        if self.summary.complete:
            self.state.finish()
        return self.summary

    # -- which studies ------------------------------------------------------------------------

    def _listed_ids(self) -> list[str] | None:
        """The NCT IDs a search matches, or those of the listed IDs updated ``--since`` (for
        ``--history``), listed once (``fields=NCTId``) and kept in the state."""
        if self.state.listed is not None:
            return self.state.listed
        params = {**self.request.search_params(), "fields": "NCTId", "pageSize": str(MAX_PAGE_SIZE)}
        chunks = [
            {**params, "filter.ids": ",".join(self.request.nct_ids[i : i + IDS_PER_REQUEST])}
            for i in range(0, len(self.request.nct_ids), IDS_PER_REQUEST)
        ] or [params]
        found: dict[str, None] = {}  # insertion-ordered set
        try:
            for chunk in chunks:
                for page, _ in pages(self.client, chunk, label="search"):
                    found.update((nct_id, None) for nct_id, _study in page.studies)
        except (FetchError, ShapeError) as exc:
            self._search_failed(exc)
            return None
        self.state.listed = list(found)
        self.state.save()
        return self.state.listed

    def _fetch_ids(self, ids: list[str]) -> None:
        todo = [n for n in ids if not self.state.is_done(n)]
        self.summary.studies = len(ids)
        self.summary.skipped = len(ids) - len(todo)
        self.progress.set_total(len(ids))
        self.progress.update(self.summary.skipped)
        if self.request.history:
            for nct_id in todo:
                self._unit([nct_id], self._history_of, nct_id)
            return
        for start in range(0, len(todo), IDS_PER_REQUEST):
            chunk = todo[start : start + IDS_PER_REQUEST]
            self._current_batch(chunk)

    def _unit(self, nct_ids: list[str], work: Callable[[str], None], nct_id: str) -> None:
        try:
            work(nct_id)
        except FetchError as exc:
            self.summary.errors.append(exc)
        except ShapeError as exc:
            self.summary.errors.append(FetchError(f"{nct_id}: unexpected response: {exc}"))
        else:
            self.summary.fetched += len(nct_ids)
            self.state.mark_done(nct_ids)
        self.progress.update(len(nct_ids))

    # -- current records ----------------------------------------------------------------------

    def _current_batch(self, chunk: list[str]) -> None:
        """Up to 100 current records in one ``filter.ids`` request; a study the answer lacks is
        asked for alone, which names its own error (a 404 for an unknown NCT ID)."""
        if len(chunk) == 1 and not self.request.since:
            self._unit(chunk, self._current_one, chunk[0])
            return
        params = {**self.request.search_params(), "filter.ids": ",".join(chunk), "pageSize": str(len(chunk))}
        label = chunk[0] if len(chunk) == 1 else f"{chunk[0]}…{chunk[-1]} ({len(chunk)} studies)"
        found: dict[str, dict[str, Any]] = {}
        try:
            for page, _ in pages(self.client, params, label=label):
                found.update((n, s) for n, s in page.studies if n in chunk)
        except FetchError as exc:
            reason = exc.message.split(": ", 1)[-1]
            for nct_id in chunk:
                self.summary.errors.append(FetchError(f"{nct_id}: {reason}"))
            self.progress.update(len(chunk))
            return
        except ShapeError:
            for nct_id in chunk:  # one bad element must not sink the other 99
                self._unit([nct_id], self._current_one, nct_id)
            return
        self._store_current(found)
        self.summary.fetched += len(found)
        missing = [n for n in chunk if n not in found]
        if self.request.since:
            self.summary.not_updated += len(missing)
            self.state.mark_done(chunk)
            self.progress.update(len(chunk))
            return
        self.state.mark_done(list(found))
        self.progress.update(len(found))
        for nct_id in missing:
            self._unit([nct_id], self._current_one, nct_id)

    def _current_one(self, nct_id: str) -> None:
        self._store_current({nct_id: fetch_study(self.client, nct_id)})

    def _store_current(self, studies: dict[str, dict[str, Any]]) -> None:
        if studies:
            snapshots = [
                SnapshotBytes(self.client.url(f"api/v2/studies/{n}"), study_bytes(s))
                for n, s in studies.items()
            ]
            self.summary.record(self.store.add(snapshots))

    def _fetch_search(self) -> None:
        """Page through a search, storing each page; the state keeps the next page's token."""
        params = {**self.request.search_params(), "pageSize": str(self.request.page_size)}
        first = self.state.next_page_token is None and self.state.pages_done == 0
        if first:
            params["countTotal"] = "true"
        self.summary.skipped = self.state.pages_done
        try:
            for page, _token in pages(
                self.client, params, label="search", page_token=self.state.next_page_token
            ):
                params.pop("countTotal", None)
                if page.total_count is not None:
                    self.progress.set_total(page.total_count)
                self._store_current(dict(page.studies))
                self.summary.studies += len(page.studies)
                self.summary.fetched += len(page.studies)
                self.state.pages_done += 1
                self.state.next_page_token = page.next_page_token
                self.state.save()
                self.progress.update(len(page.studies))
        except (FetchError, ShapeError) as exc:
            self._search_failed(exc)

    def _search_failed(self, exc: Exception) -> None:
        """A search that cannot go on: one error, and the state kept so that the same command
        continues from the page that failed."""
        reason = exc.message if isinstance(exc, FetchError) else f"unexpected response: {exc}"
        page = self.state.pages_done + 1
        self.summary.errors.append(
            FetchError(f"search page {page}: {reason}; run the same command again to continue from there")
        )
        self.summary.complete = False

    # -- histories ----------------------------------------------------------------------------

    def _history_of(self, nct_id: str) -> None:
        """Change list, the versions not stored yet, then the change-list file."""
        path = HISTORY_PATH.format(nct_id=nct_id)
        history = change_list_object(self.client.get_json(path, study=nct_id))
        changes = parse_changes(history)
        snapshots = []
        for change in self._versions_to_fetch(nct_id, changes):
            version_path = f"{path}/{change.version}"
            document = self.client.get_json(version_path, study=f"{nct_id} version {change.version}")
            study = version_study(document, nct_id, change)
            snapshots.append(SnapshotBytes(self.client.url(version_path), study_bytes(study)))
        self.summary.record(self.store.add(snapshots))
        fetched_at = self._now().isoformat(timespec="seconds")
        change_list = ChangeList(nct_id, self.client.url(path), fetched_at, changes, history)
        write_change_list(self.store.root, change_list)

    def _versions_to_fetch(self, nct_id: str, changes: Iterable[VersionChange]) -> list[VersionChange]:
        """Every version, less those an earlier run stored: listed the same in the stored change
        list and present in the store under that version's date."""
        try:
            previous = read_change_list(self.store.root, nct_id)
            stored_dates = {entry.tiebreak for entry in self.store.snapshots_of(nct_id)}
        except StoreError:
            return list(changes)
        if previous is None:
            return list(changes)
        known = set(previous.changes)
        return [c for c in changes if not (c in known and c.date in stored_dates)]


def plan(request: FetchRequest, client: ApiClient, state: RunState) -> list[str]:
    """What a run would request, without sending anything (``--dry-run``)."""
    lines: list[str] = []
    ids = [n for n in request.nct_ids if not state.is_done(n)]
    done = len(request.nct_ids) - len(ids)
    if request.history:
        targets = ids or ["<each study the search matches>"]
        if not request.nct_ids:
            lines.append(
                "GET " + client.url("api/v2/studies", {**request.search_params(), "fields": "NCTId"})
            )
        for nct_id in targets:
            path = HISTORY_PATH.format(nct_id=nct_id)
            lines.append(f"GET {client.url(path)} and {client.url(path)}/<version> for every version")
    elif request.nct_ids:
        for start in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[start : start + IDS_PER_REQUEST]
            if len(chunk) == 1 and not request.since:
                lines.append("GET " + client.url(f"api/v2/studies/{chunk[0]}"))
            else:
                params = {
                    **request.search_params(),
                    "filter.ids": ",".join(chunk),
                    "pageSize": str(len(chunk)),
                }
                lines.append("GET " + client.url("api/v2/studies", params))
    else:
        params = {**request.search_params(), "pageSize": str(request.page_size)}
        lines.append("GET " + client.url("api/v2/studies", params) + " and each nextPageToken page")
    if done or state.pages_done:
        studies, pages = plural(done, "study", "studies"), plural(state.pages_done, "page")
        lines.append(f"resuming an interrupted run: {studies} and {pages} already done")
    return lines
