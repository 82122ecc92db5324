"""The scaffolding every fake upstream of the demo shares: a threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, and no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return


class LoopbackServer:
    """A real HTTP server on an ephemeral loopback port; subclasses supply `_handler()`.

    `start()` serves in a daemon thread; `url` is the server's base address.
    """

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def bypass_proxies_for_loopback() -> None:
    """Add 127.0.0.1 and localhost to `NO_PROXY` in this process's environment (inherited by
    the daemon it starts): everything the demo talks to is on loopback, and a user's
    `HTTPS_PROXY` must not send those requests to a proxy that cannot reach them."""
    for name in ("NO_PROXY", "no_proxy"):  # urllib (and so httpx) reads either spelling
        present = [h.strip() for h in os.environ.get(name, "").split(",") if h.strip()]
        wanted = present + [h for h in ("127.0.0.1", "localhost") if h not in present]
        os.environ[name] = ",".join(wanted)
