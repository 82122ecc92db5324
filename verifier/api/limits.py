"""A body declared larger than MAX_BODY_BYTES is refused before anything reads it, with the API's
error shape. FastAPI's `max_body_size` counts streamed (chunked) bodies as they arrive; for a
declared size it would answer in plain text, so this gate in front of it answers first."""

from __future__ import annotations

from verifier.api.decision import ASGIApp, Receive, Scope_, Send, error_body
from verifier.api.queries import MAX_BODY_BYTES

_TOO_LARGE = error_body("too-large", f"the body is larger than {MAX_BODY_BYTES} bytes")
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_TOO_LARGE))]


class DeclaredSizeGate:
    """Pure ASGI: 413 for a `Content-Length` over the limit, without reading the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _declared_too_large(scope["headers"]):
            await send({"type": "http.response.start", "status": 413, "headers": _HEADERS})
            await send({"type": "http.response.body", "body": _TOO_LARGE})
            return
        await self.app(scope, receive, send)


def _declared_too_large(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.isdigit() and int(value) > MAX_BODY_BYTES
    return False
