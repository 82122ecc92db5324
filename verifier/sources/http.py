"""The one configured `httpx` client every upstream request goes through.

Timeouts, connection limits and the user agent are set here; the GitHub token (read from
`[github] token_file`) is attached only to requests for the API host, never to download hosts,
and never appears in a repr or a log line.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from verifier import __version__
from verifier.config import Config, read_secret

USER_AGENT = f"toolgate/{__version__} (release watcher)"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=30.0)


class _ApiToken(httpx.Auth):
    """Bearer token for one host only (redirects to object stores must not carry it)."""

    def __init__(self, host: str, token: str) -> None:
        self._host = host
        self._token = token

    def __repr__(self) -> str:
        return f"_ApiToken(host={self._host!r}, token=<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.host == self._host:
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def make_client(config: Config, *, timeout: httpx.Timeout = TIMEOUT) -> httpx.Client:
    """The shared client (thread-safe): GitHub headers, token for the API host, no redirects
    followed implicitly (downloads follow them against an allow-list)."""
    auth = None
    if config.github.token_file:
        token = read_secret(config.github.token_file, config)
        auth = _ApiToken(httpx.URL(config.github.api_url).host, token)
    return httpx.Client(
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        timeout=timeout,
        limits=LIMITS,
        auth=auth,
        follow_redirects=False,
    )
