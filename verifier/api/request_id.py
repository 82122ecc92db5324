"""X-Request-Id for the FastAPI routes: echoed (or generated), and put on every log line.

The fast decision route does not pass through here: the audit trail records each decision, and
the hot path stays free of per-request work.
"""

from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter

from verifier.api.decision import ASGIApp, Receive, Scope_, Send
from verifier.logs import request_id

log = logging.getLogger("verifier.api")
HEADER = b"x-request-id"
# A caller's id is kept only if it is short and plain: it ends up in log lines.
_VALID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Pure ASGI middleware: request id in, echoed out, one log line per mutating request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == HEADER), b"")
        rid = incoming.decode() if _VALID.match(incoming) else uuid.uuid4().hex
        status = 500
        started = perf_counter()

        async def send_with_id(message: dict) -> None:  # type: ignore[type-arg]
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Changes (approvals, blocks, tokens) at INFO; reads, probes and metrics at DEBUG.
            level = logging.DEBUG if scope["method"] in ("GET", "HEAD") else logging.INFO
            log.log(
                level,
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "duration_ms": round((perf_counter() - started) * 1e3, 2)},
            )
            request_id.reset(token)
