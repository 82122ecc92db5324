"""Memory of `toolgate serve` while a caller sends an oversize body to `POST /v1/decisions`.

The body is streamed (chunked, 300 MB) and then declared (`Content-Length: 300000000`); the figure
is the daemon's peak resident memory (VmHWM) after each, as a ratio to its peak after ordinary
traffic in the same run. Before bodies were stream-limited, the 300 MB body took the peak to
about 719 MB (issue 14).

    .venv/bin/python bench/oversize_body.py
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from verifier.config import load_config
from verifier.demo.daemon import Daemon
from verifier.demo.loopback import free_port
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.tokens import Scope, create_token

TOTAL = 300 * 1024 * 1024
CHUNK = 1024 * 1024


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def chunks() -> Iterator[bytes]:
    for _ in range(TOTAL // CHUNK):
        yield b" " * CHUNK


def streamed(url: str, token: str) -> str:
    try:
        response = httpx.post(
            f"{url}/v1/decisions",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=120,
        )
        return str(response.status_code)
    except httpx.TransportError as exc:  # the server answered 413 and closed while we sent
        return f"closed ({type(exc).__name__})"


def declared(port: int, token: str) -> str:
    head = (
        b"POST /v1/decisions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (token.encode(), TOTAL)
    )
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(60)
        sock.sendall(head + b" " * CHUNK)
        return sock.recv(64).split(b"\r\n")[0].decode()


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        path = Path(directory) / "config.toml"
        path.write_text(
            f'state_dir = "."\n[server]\nlisten = "127.0.0.1:{port}"\n'
            '[github]\npoll_interval = "0s"\n'
        )
        engine = create_store_engine(load_config(path).store_url)
        upgrade(engine)
        token = create_token(engine, "bench", {Scope.CHECK}, "bench")
        url = f"http://127.0.0.1:{port}"
        daemon = Daemon(path, url, Path(directory) / "daemon.log").start()
        try:
            assert daemon.pid is not None
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
                for _ in range(200):
                    c.post("/v1/decisions", json={"queries": [{"tool": "x", "version": "1"}] * 100})
            baseline = peak_rss_mb(daemon.pid)
            print(f"baseline (ordinary batches): peak RSS {baseline:.0f} MB")
            for label, send in (
                ("300 MB chunked body", lambda: streamed(url, token)),
                ("300 MB declared body", lambda: declared(port, token)),
            ):
                status = send()
                after = peak_rss_mb(daemon.pid)
                print(f"{label}: {status}, peak RSS {after:.0f} MB ({after / baseline:.2f}x)")
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
