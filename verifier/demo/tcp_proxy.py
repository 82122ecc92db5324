"""A TCP proxy on 127.0.0.1 that can be paused: a dependency that hangs instead of refusing.

While paused, connections are still accepted and bytes still read, but nothing is forwarded
either way, so a client sees a peer that is there and never answers (PostgreSQL behind a
stalled network, a frozen server). `resume()` lets the held bytes through, in order.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self

from sqlalchemy.engine import make_url


class PausableProxy:
    """Forwards 127.0.0.1:`port` to `target` (host, port); `pause()` and `resume()` it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, store_url: str) -> Self:
        """A proxy to the PostgreSQL server of `store_url`."""
        url = make_url(store_url)
        return cls((url.host or "127.0.0.1", url.port or 5432))

    def store_url(self, store_url: str) -> str:
        """`store_url` rewritten to go through this proxy."""
        url = make_url(store_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def start(self) -> Self:
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()
        return self

    def pause(self) -> None:
        """Hold every byte from now on (existing and new connections)."""
        self._flowing.clear()

    def resume(self) -> None:
        """Forward again, held bytes first."""
        self._flowing.set()

    def stop(self) -> None:
        self._stopped.set()
        self._flowing.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked on it; close does not
            sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                if self._stopped.is_set():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._flowing.wait()  # a close is held too, like the bytes before it
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
