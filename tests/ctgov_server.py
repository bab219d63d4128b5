"""A local stand-in for ClinicalTrials.gov, serving responses built from real recordings.

* ``/api/v2/studies/{nct}`` and ``/api/v2/studies?filter.ids=…|query.term=…`` (paged with
  ``pageSize``/``pageToken``, at most ``max_page_size`` per page) serve real corpus v2 studies.
* ``/api/int/studies/{nct}/history`` and ``…/history/{v}`` serve histories built from the
  recorded History-of-Changes responses in ``../shared/ctgov-history-samples`` (see
  :func:`recorded_histories`).

Faults are queued per path (``server.faults[path] = [Fault(...), …]``, consumed one per request):
a status (429 with ``Retry-After``, 500…), a slow answer, a connection dropped mid-body, a body
that is not JSON. Every request is logged with its query and headers. Bound to 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conftest import CORPUS, SHARED

SAMPLES = SHARED / "ctgov-history-samples"
JERRY = SAMPLES / "jerryshell__clinicaltrials/extracted/NCT03690141_api_int_studies_history_true.json"
ACTT1_V0 = SAMPLES / "trajnovd__clinical-trial-change-monitor/tests/fixtures/actt1_v0.json"
OLLIE_CHANGES = SAMPLES / "Ollie1o1__options/tests/fixtures/catalyst/ctgov_history.json"
OLLIE_V3 = SAMPLES / "Ollie1o1__options/tests/fixtures/catalyst/pit/study_v3.json"
TIGIT_VERSIONS = CORPUS / "partrita__clinicaltrial-watch-tigit" / "versions"


@dataclass(frozen=True)
class Fault:
    """One bad answer: ``status`` (with ``headers``), ``delay`` seconds before answering,
    ``drop`` (send half the body, then close), or ``body`` (bytes served as text/html)."""

    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    drop: bool = False
    body: bytes | None = None


@dataclass
class History:
    """A served history: the change-list document (flat or nested) and each version's body."""

    change_list: dict[str, Any]
    versions: list[dict[str, Any]]


@dataclass
class FakeRegistry:
    studies: dict[str, dict[str, Any]] = field(default_factory=dict)
    histories: dict[str, History] = field(default_factory=dict)
    max_page_size: int = 1000
    delay: float = 0.0
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    log: list[tuple[str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.log]

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, Fault | None]:
        with self.lock:
            queue = self.faults.get(path)
            fault = queue.pop(0) if queue else None
        if fault is not None and fault.status:
            return fault.status, b'{"error": "injected"}', fault
        status, body = self._route(path, query)
        return status, json.dumps(body).encode("utf-8"), fault

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[int, object]:
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v2", "studies"] and len(parts) == 4:
            study = self.studies.get(parts[3])
            return (200, study) if study is not None else (404, {"error": "not found"})
        if parts == ["api", "v2", "studies"]:
            return 200, self._page(query)
        if parts[:3] == ["api", "int", "studies"] and len(parts) >= 5 and parts[4] == "history":
            history = self.histories.get(parts[3])
            if history is None:
                return 404, {"error": "not found"}
            if len(parts) == 5:
                return 200, history.change_list
            version = int(parts[5])
            if 0 <= version < len(history.versions):
                return 200, history.versions[version]
        return 404, {"error": "no such route"}

    def _page(self, query: dict[str, list[str]]) -> dict[str, object]:
        ids = query.get("filter.ids", [""])[0]
        wanted = [n for n in ids.split(",") if n] if ids else sorted(self.studies)
        matches = [self.studies[n] for n in wanted if n in self.studies]
        size = min(int(query.get("pageSize", ["10"])[0]), self.max_page_size)
        start = int(query.get("pageToken", ["0"])[0].removeprefix("tok"))
        page: dict[str, object] = {"studies": matches[start : start + size]}
        if start + size < len(matches):
            page["nextPageToken"] = f"tok{start + size}"
        if query.get("countTotal") == ["true"]:
            page["totalCount"] = len(matches)
        return page


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        registry = self.server.registry
        with registry.lock:
            registry.log.append((url.path, query, dict(self.headers)))
        status, body, fault = registry.answer(url.path, query)
        if registry.delay:
            time.sleep(registry.delay)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.body is not None:
            status, body = 200, fault.body
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/json" if fault is None or fault.body is None else "text/html"
        )
        for name, value in fault.headers if fault is not None else ():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault is not None and fault.drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, registry: FakeRegistry) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.registry = registry

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client that timed out and hung up is what the slow-answer tests make."""


def serve(registry: FakeRegistry) -> Iterator[str]:
    """Run the registry on 127.0.0.1 in a thread; yields its base URL."""
    server = _Server(registry)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- recorded data


def corpus_studies(count: int) -> dict[str, dict[str, Any]]:
    """The latest version of ``count`` real studies of the tigit crawler's v2 snapshots."""
    studies: dict[str, dict[str, Any]] = {}
    for folder in sorted(TIGIT_VERSIONS.iterdir())[:count]:
        latest = sorted(folder.glob("*.json"))[-1]
        studies[folder.name] = json.loads(latest.read_text(encoding="utf-8"))
    return studies


def _version(study: dict[str, Any], number: int, change: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(study)
    status = body["protocolSection"].setdefault("statusModule", {})
    status["overallStatus"] = change["status"]
    if "lastUpdateSubmitDate" in status or number:
        status["lastUpdateSubmitDate"] = change["date"]
    return {"studyVersion": number, "study": body}


def recorded_histories() -> dict[str, History]:
    """Three histories from the recordings, in both change-list forms:

    * NCT03690141: the recorded ``?history=true`` response verbatim (nested form, 10 versions,
      text with ``<mark>`` search highlights); each version is the recorded study with that
      version's status and date, and before version 5 (the one labelled "Eligibility") without
      the criteria's last item;
    * NCT04280705 (ACTT-1): flat form; version 0 is the recorded ``/history/0`` body verbatim,
      version 1 the same record recruiting;
    * NCT06510816: the recorded flat change list (11 versions) with the recorded, trimmed
      ``/history/3`` body for every version (it has no Last Update Submitted date, so only
      the versions' own dates order them).
    """
    jerry = json.loads(JERRY.read_text(encoding="utf-8"))
    changes = jerry["history"]["changes"]
    versions = []
    for change in changes:
        version = _version(jerry["study"], change["version"], change)
        if change["version"] < 5:
            criteria = version["study"]["protocolSection"]["eligibilityModule"]
            text = criteria["eligibilityCriteria"]
            criteria["eligibilityCriteria"] = text[: text.rindex("<li>")] + "</ul>"
        versions.append(version)
    out = {"NCT03690141": History(jerry, versions)}

    actt = json.loads(ACTT1_V0.read_text(encoding="utf-8"))
    actt_changes = [
        {"version": 0, "date": "2020-02-21", "status": "NOT_YET_RECRUITING", "moduleLabels": []},
        {"version": 1, "date": "2020-02-24", "status": "RECRUITING", "moduleLabels": ["Study Status"]},
    ]
    out["NCT04280705"] = History(
        {"changes": actt_changes, "lastUpdateVersions": {}, "outcomesUpdateCount": 0},
        [actt, _version(actt["study"], 1, actt_changes[1])],
    )

    ollie = json.loads(OLLIE_CHANGES.read_text(encoding="utf-8"))
    v3 = json.loads(OLLIE_V3.read_text(encoding="utf-8"))["study"]
    out["NCT06510816"] = History(ollie, [_version(v3, c["version"], c) for c in ollie["changes"]])
    return out


def recorded_module_labels() -> set[str]:
    """Every module label of the recorded change lists, read straight from the files."""
    labels: set[str] = set()
    for change in json.loads(JERRY.read_text(encoding="utf-8"))["history"]["changes"]:
        labels.update(change["moduleLabels"])
    for path in (OLLIE_CHANGES, SAMPLES / "Ollie1o1__options/tests/fixtures/catalyst/pit/versions.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["changes"] if isinstance(document, dict) else document
        for change in entries:
            labels.update(change.get("moduleLabels", []))
    return labels


def samples_available() -> bool:
    return JERRY.is_file() and ACTT1_V0.is_file() and TIGIT_VERSIONS.is_dir()


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
