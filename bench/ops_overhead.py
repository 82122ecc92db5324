"""What the operations layer costs: the X-Request-Id middleware per API request, and a log line
(JSON, with secret redaction) against the stdlib's plain formatter.

Requests are driven in process through ASGI (no sockets), so the figures are the code's own
cost. The decision fast path does not pass through the middleware: it is not measured here
(bench/decision_api.py measures it).

    .venv/bin/python bench/ops_overhead.py
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from verifier.api.app import create_app
from verifier.api.request_id import RequestIdMiddleware
from verifier.config import load_config
from verifier.logs import _json_formatter, _Redacting, register_secret
from verifier.service import Service
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade

REQUESTS = 20_000
LINES = 50_000


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"x-request-id", b"bench-1")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8750),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }


async def _per_request(app: Callable[..., Awaitable[None]], path: str) -> float:
    """Microseconds per request of `app` answering GET `path`."""
    scope = _scope(path)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Any) -> None:
        return None

    for _ in range(500):  # warm up
        await app(dict(scope), receive, send)
    start = time.perf_counter()
    for _ in range(REQUESTS):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / REQUESTS * 1e6


async def _bare(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _per_line(formatter: logging.Formatter) -> float:
    """Microseconds to format one INFO line with an `extra` field."""
    record = logging.LogRecord(
        "verifier.watcher", logging.INFO, __file__, 1, "trivy: %d new releases", (3,), None
    )
    record.tool = "trivy"
    start = time.perf_counter()
    for _ in range(LINES):
        formatter.format(record)
    return (time.perf_counter() - start) / LINES * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "config.toml"
        path.write_text('state_dir = "."\n[github]\npoll_interval = "0s"\n')
        config = load_config(path)
        engine = create_store_engine(config.store_url)
        upgrade(engine)
        toolgate_app = create_app(Service(config, engine))
        bare = asyncio.run(_per_request(_bare, "/healthz"))
        wrapped = asyncio.run(_per_request(RequestIdMiddleware(_bare), "/healthz"))
        healthz = asyncio.run(_per_request(toolgate_app, "/healthz"))
        engine.dispose()
    middleware = wrapped - bare
    print(f"request id middleware: {middleware:.1f} µs per request (bare ASGI {bare:.1f} µs)")
    print(
        f"toolgate GET /healthz through FastAPI: {healthz:.1f} µs per request; the middleware "
        f"is {middleware / healthz:.1%} of it"
    )

    for secret in ("ghp_benchToken0123456789abcdefABCDEF01", "smtp-pass-bench", "whsec-bench-1"):
        register_secret(secret)
    plain = _per_line(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    json_only = _per_line(_json_formatter())
    redacted = _per_line(_Redacting(_json_formatter(), syslog_prefix=False))
    print(f"log line, stdlib text formatter: {plain:.1f} µs (baseline)")
    print(f"log line, JSON: {json_only:.1f} µs ({json_only / plain:.1f}x baseline)")
    print(
        f"log line, JSON + redaction of 3 secrets and token patterns: {redacted:.1f} µs "
        f"({redacted / plain:.1f}x baseline)"
    )


if __name__ == "__main__":
    main()
