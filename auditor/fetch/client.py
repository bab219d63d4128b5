"""A polite HTTP client for ClinicalTrials.gov: one rate, retries with backoff, clear errors.

Politeness (defaults; all are parameters, and the CLI's options):

* **Rate**: at most ``rate`` requests per second, counted from one request's start to the next
  (default 0.5/s = 30 a minute). ClinicalTrials.gov's API pages publish no number; the limit
  cited by API guides is about 50 requests per minute per IP address (K-Dense "clinicaltrials-
  database" API reference: "Rate Limit: Approximately 50 requests per minute per IP address";
  an API-Evangelist probe of 2026-09-06 found no documented limit and no rate-limit headers,
  and ``robots.txt`` asks crawlers for ``Crawl-delay: 1``). The default stays well under both.
* **Retries**: a 429, a 500/502/503/504, a timeout, a refused or dropped connection and a body
  that is not whole JSON are retried up to ``retries`` times with exponential backoff and full
  jitter — the n-th retry waits a random time up to ``backoff × 2ⁿ`` seconds, capped at
  ``max_backoff`` — and never sooner than a ``Retry-After`` header asks (seconds or an HTTP
  date). A ``Retry-After`` longer than ``max_retry_after`` fails the study instead of stalling
  the run.
* **User-Agent**: ``auditor/<version> (ClinicalTrials.gov record auditor; audit fetch)
  httpx/<version>``, so the registry can tell who is calling.
* **Unreachable host**: after ``unreachable_after`` studies in a row failed to connect at all
  (network down, DNS failure), later requests fail at once instead of waiting through their
  retries; the run goes on, one error line per study, and stays resumable.

Why httpx (and not requests or urllib3): typed (``mypy --strict`` needs no stubs), separate
connect/read timeouts, and an exception per failure kind (``ConnectError``,
``TimeoutException``, ``RemoteProtocolError``) that maps onto our one-line errors; retries stay
here because they share the rate limiter's clock and must read ``Retry-After``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType

import httpx

from auditor.errors import FetchError
from auditor.fetch import DEFAULT_API_URL

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything that makes the client polite; see the module docstring."""

    api_url: str = DEFAULT_API_URL
    rate: float = 0.5
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0
    unreachable_after: int = 3


def user_agent() -> str:
    try:
        ours = version("auditor")
    except PackageNotFoundError:  # running from a source tree that was never installed
        ours = "unknown"
    return f"auditor/{ours} (ClinicalTrials.gov record auditor; audit fetch) httpx/{httpx.__version__}"


class _Retry(Exception):
    """A failure worth another attempt; ``wait`` is the least time the server asked for."""

    def __init__(self, message: str, wait: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        self.wait = wait


class ApiClient:
    """GET JSON from the API, politely; every failure is a :class:`FetchError` naming the study.

    ``sleep``, ``clock``, ``wall_clock`` and ``jitter`` are injectable so that tests run the
    whole retry and rate logic without waiting.
    """

    def __init__(
        self,
        settings: ClientSettings = ClientSettings(),
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self._http = httpx.Client(
            base_url=settings.api_url.rstrip("/") + "/",
            headers={"User-Agent": user_agent(), "Accept": "application/json"},
            timeout=httpx.Timeout(settings.timeout),
            transport=transport,
            follow_redirects=True,
        )
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._jitter = jitter
        self._next_request_at: float | None = None
        self._unreachable_studies = 0
        self.requests = 0
        self.retries = 0

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The full URL of a request (for messages and ``--dry-run``)."""
        return str(self._http.build_request("GET", path.lstrip("/"), params=params).url)

    def get_json(self, path: str, params: Mapping[str, str] | None = None, *, study: str) -> object:
        """The JSON body of ``GET <api-url>/<path>``; raises :class:`FetchError` ``study: …``."""
        if self._unreachable_studies >= self.settings.unreachable_after > 0:
            raise FetchError(
                f"{study}: not tried: {self.settings.api_url} was unreachable for the last studies"
            )
        attempts = self.settings.retries + 1
        last = ""
        for attempt in range(attempts):
            try:
                body = self._attempt(path, params, study=study)
            except _Retry as retry:
                last = retry.message
                if attempt + 1 == attempts:
                    break
                if retry.wait > self.settings.max_retry_after:
                    raise FetchError(
                        f"{study}: {retry.message}; the server asked to wait {retry.wait:.0f} s "
                        f"(Retry-After), more than {self.settings.max_retry_after:.0f} s"
                    ) from None
                self.retries += 1
                self._sleep(max(retry.wait, self._backoff(attempt)))
                continue
            self._unreachable_studies = 0
            return body
        if last.startswith(("cannot connect", "cannot resolve")):
            self._unreachable_studies += 1
        raise FetchError(f"{study}: {last} (after {attempts} attempts)")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.settings.max_backoff, self.settings.backoff * 2.0**attempt)
        return self._jitter() * ceiling

    def _wait_for_turn(self) -> None:
        now = self._clock()
        if self._next_request_at is not None and now < self._next_request_at:
            self._sleep(self._next_request_at - now)
            now = self._clock()
        self._next_request_at = now + 1.0 / self.settings.rate

    def _attempt(self, path: str, params: Mapping[str, str] | None, *, study: str) -> object:
        self._wait_for_turn()
        self.requests += 1
        try:
            response = self._http.get(path.lstrip("/"), params=params)
        except httpx.TimeoutException:
            raise _Retry(f"timed out after {self.settings.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise _Retry(_connect_message(exc, self.settings.api_url)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retry(f"connection dropped before the whole response arrived ({exc})") from None
        except httpx.TransportError as exc:
            raise _Retry(f"network error: {exc}") from None
        if response.status_code in RETRY_STATUSES:
            raise _Retry(f"HTTP {response.status_code}", self._retry_after(response))
        if response.status_code == 404:
            raise FetchError(f"{study}: not found (HTTP 404 for {response.url})")
        if response.status_code >= 400:
            raise FetchError(f"{study}: HTTP {response.status_code} for {response.url}")
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "no content type")
            raise _Retry(f"the response is not JSON ({kind}, {len(response.content)} bytes)") from None

    def _retry_after(self, response: httpx.Response) -> float:
        value = response.headers.get("retry-after", "").strip()
        if not value:
            return 0.0
        if value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max((when - self._wall_clock()).total_seconds(), 0.0)


def _connect_message(exc: httpx.ConnectError, api_url: str) -> str:
    text = str(exc)
    host = httpx.URL(api_url).host
    if any(
        s in text for s in ("Name or service not known", "nodename nor servname", "getaddrinfo", "No address")
    ):
        return f"cannot resolve {host} (DNS failure)"
    return f"cannot connect to {host}: {text or type(exc).__name__}"
