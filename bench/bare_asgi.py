"""The bare-ASGI baseline for bench/decision_api.py: a constant JSON body on toolgate's stack.

Same server stack and settings as `toolgate serve` (uvicorn, uvloop, httptools, one process,
access log off), no framework, no work per request: the ceiling a Python decision route on this
stack can approach.

    .venv/bin/python bench/bare_asgi.py --port 8761 --body-file answer.json
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

DEFAULT_BODY = b'{"decision":"allow","tool":"trivy","version":"0.69.3","reasons":[]}'

Message = MutableMapping[str, Any]


def make_app(body: bytes) -> Callable[..., Awaitable[None]]:
    """An ASGI app answering every HTTP request with `body` as application/json."""
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    message = {"type": "http.response.body", "body": body}

    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(start)
        await send(message)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8761)
    parser.add_argument("--body-file", type=Path, help="the JSON body to serve")
    args = parser.parse_args()
    body = args.body_file.read_bytes() if args.body_file else DEFAULT_BODY
    uvicorn.run(
        make_app(body),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
