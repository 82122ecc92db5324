"""JSON APIs over the shared client: retries with backoff on 5xx and network errors, and
rate limits (`X-RateLimit-*`, `Retry-After`) honoured by waiting, shared by every thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from verifier.sources.errors import NotFound, RateLimited, UpstreamError

log = logging.getLogger(__name__)

_RATE_LIMIT_STATUSES = frozenset({403, 429})


class ApiClient:
    """GETs against one API base URL; `max_wait` bounds a rate-limit wait (else RateLimited)."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._lock = threading.Lock()
        self._not_before = 0.0  # monotonic time before which no request is sent
        self.requests = 0

    @property
    def host(self) -> str:
        return httpx.URL(self.base_url).host

    def _json(self, url: str) -> Any:
        return json_body(self._get(url, {}))

    def _get(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """GET with rate-limit waits and retries; returns 2xx or 304, raises otherwise."""
        failure = ""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                self.requests += 1
                response = self.client.get(url, headers=headers)
            except httpx.HTTPError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                self._note_rate_limit(response)
                if response.is_success or response.status_code == 304:
                    return response
                if response.status_code == 404:
                    raise NotFound(f"GET {url} answered 404: it does not exist (or is private)")
                if self._rate_limited(url, response):
                    continue
                failure = f"answered {response.status_code} {response.reason_phrase}"
                if response.status_code < 500:
                    raise UpstreamError(f"GET {url} {failure}: expected 200")
            if attempt < self.retries:
                self._sleep(self.backoff * 2**attempt)
        raise UpstreamError(f"GET {url} failed {self.retries + 1} times, last: {failure}")

    def _wait_turn(self) -> None:
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            self._sleep(delay)

    def _rate_limited(self, url: str, response: httpx.Response) -> bool:
        """If `response` is a rate-limit answer, schedule the wait and return True."""
        headers = response.headers
        limited = response.status_code in _RATE_LIMIT_STATUSES and (
            "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
        )
        if not limited:
            return False
        wait = _retry_after(headers)
        if wait > self.max_wait:
            raise RateLimited(
                f"GET {url}: GitHub rate limit exhausted for {wait:.0f} s more "
                f"(above the {self.max_wait:.0f} s toolgate waits): configure [github] "
                "token_file for a higher limit, or poll less often"
            )
        log.warning("GitHub rate limit: waiting %.1f s before retrying %s", wait, url)
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + wait)
        return True

    def _note_rate_limit(self, response: httpx.Response) -> None:
        # A success with nothing remaining: the next request would be refused; wait for reset.
        if response.headers.get("x-ratelimit-remaining") == "0" and response.is_success:
            wait = min(_retry_after(response.headers), self.max_wait)
            with self._lock:
                self._not_before = max(self._not_before, time.monotonic() + wait)


def _retry_after(headers: httpx.Headers) -> float:
    if (value := headers.get("retry-after", "")).isdigit():
        return float(value)
    if (reset := headers.get("x-ratelimit-reset", "")).isdigit():
        return max(0.0, int(reset) - time.time()) + 1.0
    return 60.0  # GitHub's advice for secondary limits without a header


def json_body(response: httpx.Response) -> Any:
    kind = response.headers.get("content-type", "")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise UpstreamError(
            f"GET {response.url} answered {kind or 'no content type'} that is not JSON "
            f"(starts {response.content[:40]!r}): expected a GitHub API JSON body"
        ) from None
