"""The polite client against a local server: retries, Retry-After, timeouts, dropped
connections, bodies that are not JSON, rate, User-Agent. Waiting is injected, never slept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from ctgov_server import FakeRegistry, Fault, corpus_studies, samples_available, serve

from auditor.errors import FetchError
from auditor.fetch.client import ApiClient, ClientSettings

pytestmark = pytest.mark.skipif(not samples_available(), reason="../shared samples or corpus missing")


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry(studies=corpus_studies(3))


@pytest.fixture
def api_url(registry: FakeRegistry) -> Iterator[str]:
    yield from serve(registry)


class Waits:
    """Stands in for time.sleep and time.monotonic: records each wait, advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _client(api_url: str, waits: Waits, **settings: float) -> ApiClient:
    options = {"rate": 1000.0, "backoff": 0.5, "timeout": 5.0, **settings}
    return ApiClient(
        ClientSettings(api_url=api_url, **options),  # type: ignore[arg-type]
        sleep=waits.sleep,
        clock=waits.clock,
        jitter=lambda: 1.0,
        wall_clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )


def _first(registry: FakeRegistry) -> str:
    return sorted(registry.studies)[0]


def test_429_waits_as_long_as_retry_after_asks(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    path = f"/api/v2/studies/{nct}"
    registry.faults[path] = [
        Fault(status=429, headers=(("Retry-After", "7"),)),
        Fault(status=429, headers=(("Retry-After", "Thu, 01 Jan 2026 00:00:12 GMT"),)),
    ]
    waits = Waits()
    with _client(api_url, waits) as client:
        body = client.get_json(path, study=nct)
    assert isinstance(body, dict) and body["protocolSection"]["identificationModule"]["nctId"] == nct
    assert waits.waits[:2] == [7.0, 12.0]  # both the seconds form and the HTTP-date form
    assert client.requests == 3 and client.retries == 2


def test_5xx_backs_off_exponentially_then_succeeds(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    path = f"/api/v2/studies/{nct}"
    registry.faults[path] = [Fault(status=500), Fault(status=503), Fault(status=502)]
    waits = Waits()
    with _client(api_url, waits) as client:
        client.get_json(path, study=nct)
    backoffs = [w for w in waits.waits if w >= 0.5]
    assert backoffs == [0.5, 1.0, 2.0]  # jitter pinned at its maximum: backoff × 2ⁿ


def test_retries_run_out_with_one_line_naming_the_study(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(status=500)] * 3
    with _client(api_url, Waits(), retries=2) as client, pytest.raises(FetchError) as caught:
        client.get_json(f"/api/v2/studies/{nct}", study=nct)
    assert caught.value.one_line() == f"{nct}: HTTP 500 (after 3 attempts)"


def test_a_retry_after_beyond_the_limit_fails_the_study(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(status=429, headers=(("Retry-After", "3600"),))]
    with _client(api_url, Waits(), max_retry_after=60) as client, pytest.raises(FetchError, match="3600 s"):
        client.get_json(f"/api/v2/studies/{nct}", study=nct)


def test_slow_response_times_out_and_is_retried(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(delay=1.0)]
    with _client(api_url, Waits(), timeout=0.2) as client:
        client.get_json(f"/api/v2/studies/{nct}", study=nct)
    assert client.retries == 1
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(delay=1.0)] * 2
    with _client(api_url, Waits(), timeout=0.2, retries=1) as client, pytest.raises(FetchError) as caught:
        client.get_json(f"/api/v2/studies/{nct}", study=nct)
    assert caught.value.one_line() == f"{nct}: timed out after 0.2 s (after 2 attempts)"


def test_connection_dropped_mid_body_is_retried(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(drop=True)]
    with _client(api_url, Waits()) as client:
        body = client.get_json(f"/api/v2/studies/{nct}", study=nct)
    assert isinstance(body, dict) and client.retries == 1
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(drop=True)] * 2
    with (
        _client(api_url, Waits(), retries=1) as client,
        pytest.raises(FetchError, match="connection dropped"),
    ):
        client.get_json(f"/api/v2/studies/{nct}", study=nct)


def test_body_that_is_not_json(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    registry.faults[f"/api/v2/studies/{nct}"] = [Fault(body=b"<html>maintenance</html>")] * 2
    with _client(api_url, Waits(), retries=1) as client, pytest.raises(FetchError) as caught:
        client.get_json(f"/api/v2/studies/{nct}", study=nct)
    assert (
        caught.value.one_line() == f"{nct}: the response is not JSON (text/html, 24 bytes) (after 2 attempts)"
    )


def test_404_is_not_retried(api_url: str) -> None:
    with _client(api_url, Waits()) as client, pytest.raises(FetchError) as caught:
        client.get_json("/api/v2/studies/NCT09999999", study="NCT09999999")
    assert caught.value.one_line().startswith("NCT09999999: not found (HTTP 404 for http://127.0.0.1:")
    assert client.requests == 1


def test_rate_spaces_requests_and_user_agent_names_us(registry: FakeRegistry, api_url: str) -> None:
    nct = _first(registry)
    waits = Waits()
    with _client(api_url, waits, rate=0.5) as client:
        for _ in range(3):
            client.get_json(f"/api/v2/studies/{nct}", study=nct)
    assert waits.waits == [2.0, 2.0]  # 0.5 requests/s: two seconds between starts
    agent = registry.log[0][2]["User-Agent"]
    assert agent.startswith("auditor/0.1.0 (ClinicalTrials.gov record auditor; audit fetch) httpx/")


def test_request_paths_are_relative_to_the_api_url(registry: FakeRegistry, api_url: str) -> None:
    with _client(api_url + "/mirror/", Waits()) as client, pytest.raises(FetchError, match="404"):
        client.get_json("api/v2/studies/NCT01234567", study="NCT01234567")
    assert registry.paths() == ["/mirror/api/v2/studies/NCT01234567"]


def test_network_down_and_dns_failure_name_the_study() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    settings = ClientSettings(
        api_url="https://clinicaltrials.gov", retries=1, backoff=0.0, unreachable_after=2
    )
    waits = Waits()
    client = ApiClient(settings, transport=httpx.MockTransport(refuse), sleep=waits.sleep, clock=waits.clock)
    messages = []
    for nct in ("NCT00000001", "NCT00000002", "NCT00000003"):
        with pytest.raises(FetchError) as caught:
            client.get_json(f"api/v2/studies/{nct}", study=nct)
        messages.append(caught.value.one_line())
    assert messages[0] == "NCT00000001: cannot resolve clinicaltrials.gov (DNS failure) (after 2 attempts)"
    assert messages[2].startswith("NCT00000003: not tried: https://clinicaltrials.gov was unreachable")
    assert client.requests == 4  # the third study did not wait through its retries


def test_connection_refused() -> None:
    with _client("http://127.0.0.1:9", Waits(), retries=0) as client, pytest.raises(FetchError) as caught:
        client.get_json("api/v2/studies/NCT00000001", study="NCT00000001")
    assert caught.value.one_line().startswith("NCT00000001: cannot connect to 127.0.0.1:")
