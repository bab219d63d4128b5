"""``audit fetch`` end to end against a local registry, one exit code per test (main(argv)).

A fetched history then goes through ``audit history`` and ``audit check --store --history``
like any other store content.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ctgov_server import FakeRegistry, Fault, corpus_studies, recorded_histories, samples_available, serve

from auditor.cli import main
from auditor.fetch.changelist import read_change_list
from auditor.store import Store

pytestmark = pytest.mark.skipif(not samples_available(), reason="../shared samples or corpus missing")
FAST = ["--rate", "1000", "--backoff", "0", "--retries", "2", "--timeout", "2"]


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry(studies=corpus_studies(6), histories=recorded_histories(), max_page_size=2)


@pytest.fixture
def api_url(registry: FakeRegistry) -> Iterator[str]:
    yield from serve(registry)


def fetch(api_url: str, store: Path, *args: str) -> int:
    return main(["fetch", *args, "--store", str(store), "--api-url", api_url, *FAST])


def stored(store: Path) -> dict[str, list[str]]:
    with Store(store) as s:
        return {n: [e.path for e in s.snapshots_of(n)] for n in s.nct_ids()}


def test_current_records_by_id_in_pages(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = sorted(registry.studies)[:5]
    assert fetch(api_url, tmp_path / "s", *ids) == 0
    assert sorted(stored(tmp_path / "s")) == ids
    with Store(tmp_path / "s") as store:
        for nct in ids:
            [entry] = store.snapshots_of(nct)
            kept = json.loads((tmp_path / "s" / entry.path).read_text(encoding="utf-8"))
            assert kept == registry.studies[nct]  # the v2 record as served, nothing changed
    pages = [q for p, q, _ in registry.log if p == "/api/v2/studies"]
    assert pages[0]["filter.ids"] == [",".join(ids)] and "pageToken" in pages[1]  # server pages by 2
    out = capsys.readouterr().out
    assert out.startswith("fetch: 5 studies, 5 fetched, 0 errors; snapshots: 5 added")
    assert fetch(api_url, tmp_path / "s", *ids) == 0  # the same content again: a no-op
    assert "0 added, 5 unchanged" in capsys.readouterr().out


def test_unknown_study_and_unknown_shape_are_one_line_each_others_stored(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, odd = sorted(registry.studies)[:2]
    registry.studies[odd] = {"protocolSection": {"identificationModule": {"nctId": "not an id"}}}
    code = fetch(api_url, tmp_path / "s", good, odd, "NCT09999999")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert list(stored(tmp_path / "s")) == [good]
    assert err == [
        f"audit: error: {odd}: unexpected response: a study without a valid "
        "protocolSection.identificationModule.nctId ('not an id')",
        f"audit: error: NCT09999999: not found (HTTP 404 for {api_url}/api/v2/studies/NCT09999999)",
    ]


def test_search_pages_with_next_page_token_and_since(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = fetch(api_url, tmp_path / "s", "--query", "tigit", "--param", "filter.overallStatus=RECRUITING")
    assert code == 0
    assert sorted(stored(tmp_path / "s")) == sorted(registry.studies)
    searches = [q for p, q, _ in registry.log if p == "/api/v2/studies"]
    assert len(searches) == 3 and searches[0]["countTotal"] == ["true"]
    assert all(q["query.term"] == ["tigit"] and q["filter.overallStatus"] == ["RECRUITING"] for q in searches)
    assert [q.get("pageToken") for q in searches] == [None, ["tok2"], ["tok4"]]
    registry.log.clear()
    assert fetch(api_url, tmp_path / "s", "--query", "tigit", "--since", "2026-02-01") == 0
    assert registry.log[0][1]["filter.advanced"] == ["AREA[LastUpdatePostDate]RANGE[2026-02-01,MAX]"]


def test_history_is_stored_in_the_versions_own_order_and_reads_like_any_store(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s"
    assert fetch(api_url, store, "--history", "NCT03690141", "NCT04280705", "NCT06510816") == 0
    capsys.readouterr()
    with Store(store) as s:
        for nct, history in registry.histories.items():
            entries = s.snapshots_of(nct)
            raw_changes = history.change_list.get("history", history.change_list)["changes"]
            assert [e.tiebreak for e in entries] == [c["date"] for c in raw_changes]
            statuses = [s.load(e).value("overall_status") for e in entries]
            assert [str(v) for v in statuses] == [c["status"] for c in raw_changes]
    change_list = read_change_list(store, "NCT03690141")
    assert change_list is not None and change_list.labels(7) == (
        "Study Status",
        "Study Design",
        "Contacts/Locations",
    )
    assert change_list.history["lastUpdateVersions"]["enrollmentInfo"] == 7

    assert main(["history", "NCT03690141", "--store", str(store), "--format", "json"]) == 0
    timeline = json.loads(capsys.readouterr().out)
    text = json.dumps(timeline)
    assert "<li>" not in text and "hl-term" not in text and "&#x2F;" not in text
    assert "Evidence of a personally signed informed consent" in text  # the item version 5 added
    assert main(["check", "--store", str(store), "--history", "--format", "json", "--fail-on", "error"]) in (
        0,
        1,
    )
    findings = json.loads(capsys.readouterr().out)
    assert not [f for f in findings["findings"] if f["rule_id"].startswith("history-modification")]
    assert main(["snapshot", "verify", "--store", str(store)]) == 0

    registry.log.clear()  # a re-run fetches the change lists again, and no stored version
    assert fetch(api_url, store, "--history", "NCT03690141") == 0
    assert registry.paths() == ["/api/int/studies/NCT03690141/history"]
    registry.log.clear()  # with --since, the listed studies are first narrowed by the API
    assert fetch(api_url, store, "--history", "NCT03690141", "--since", "2026-01-01") == 0
    listing = registry.log[0][1]
    assert listing["filter.ids"] == ["NCT03690141"] and listing["fields"] == ["NCTId"]
    assert listing["filter.advanced"] == ["AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]"]


def test_history_of_unknown_shape_stores_nothing_for_that_study(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.histories["NCT04280705"].versions[1]["study"]["protocolSection"]["descriptionModule"][
        "briefSummary"
    ] = "<table><tr><td>new</td></tr></table>"
    registry.faults["/api/int/studies/NCT06510816/history/2"] = [Fault(status=500)] * 3
    code = fetch(api_url, tmp_path / "s", "--history", "NCT04280705", "NCT03690141", "NCT06510816")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "audit: error: NCT04280705: unexpected response: version 1: "
        "protocolSection.descriptionModule.briefSummary: unexpected HTML tag <table>",
        "audit: error: NCT06510816 version 2: HTTP 500 (after 3 attempts)",
    ]
    assert list(stored(tmp_path / "s")) == ["NCT03690141"]
    assert read_change_list(tmp_path / "s", "NCT04280705") is None


def test_invalid_ids_are_refused_before_any_request(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fetch(api_url, tmp_path / "s", "NCT0123456７") == 2
    ids = tmp_path / "ids.txt"
    ids.write_text("# ours\nNCT01234567, NCT07654321\nNCT1234\n", encoding="utf-8")
    assert fetch(api_url, tmp_path / "s", "--ids-file", str(ids)) == 2
    assert (
        capsys.readouterr().err.strip().splitlines()[-1] == f"audit: error: {ids}:3: invalid NCT ID 'NCT1234'"
    )
    assert registry.log == [] and not (tmp_path / "s").exists()


def test_dry_run_sends_and_writes_nothing(
    registry: FakeRegistry, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fetch(api_url, tmp_path / "s", "--history", "NCT03690141", "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"GET {api_url}/api/int/studies/NCT03690141/history" in out
    assert registry.log == [] and not (tmp_path / "s").exists()


def test_missing_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m.startswith("auditor.fetch.") or m == "httpx"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx → ModuleNotFoundError
    assert main(["fetch", "NCT01234567", "--store", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err == (
        "audit: error: audit fetch needs the 'fetch' extra: pip install 'auditor[fetch]'\n"
    )


def test_progress_bar_counts_studies_on_a_terminal(
    registry: FakeRegistry, api_url: str, tmp_path: Path
) -> None:
    import io

    from auditor.fetch.client import ApiClient, ClientSettings
    from auditor.fetch.run import FetchRequest, FetchRun
    from auditor.progress import Progress

    stream = io.StringIO()
    ids = tuple(sorted(registry.studies)[:3])
    with (
        ApiClient(ClientSettings(api_url=api_url, rate=1000)) as client,
        Store(tmp_path / "s") as store,
        Progress("fetching", stream=stream, enabled=True) as progress,
    ):
        summary = FetchRun(FetchRequest(nct_ids=ids), store, client, progress=progress).run()
    assert summary.fetched == 3 and progress.done == 3 and progress.total == 3
    assert "fetching  [" in stream.getvalue()
