"""Dashboard benchmark: the overview and a tool page with 1,000 tools x 20 versions, over HTTP.

The store is filled by `populate` from bench/reports.py (releases with evidence and pins,
blocks, approvals, advisories, audit records). A real uvicorn server on loopback serves the app
`toolgate serve` runs; one logged-in client (the session cookie, re-checked on every request)
times, in the same run:

- baseline: `GET /v1/tools` (the API's inventory listing) and `GET /v1/tools/NAME` (one tool's
  versions and decisions), the JSON the pages are closest to;
- the overview right after a new snapshot (the previous counts are served while a background
  thread summarises the new snapshot: every version's decision), and warm (counts summarised);
  also printed: the first overview of the process, asked for right after the login page
  (which starts the first summary) and the login, and how long a new snapshot takes to be
  summarised;
- the page of a tool with advisories, a block and audit records.

Target: each dashboard figure <= 200 ms (median). Exits 1 if one misses it.
Usage: .venv/bin/python bench/dashboard.py [--tools 1000] [--versions 20] [--runs 15] [--store URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
from reports import populate  # bench/reports.py: the shared 1,000 x 20 dataset

from verifier.api.app import create_app
from verifier.service import Service
from verifier.store.engine import create_store_engine
from verifier.tokens import Scope, create_token

TARGET_MS = 200.0
STALE_NOTE = "is being summarised"
TOOL = "tool-0050"  # advisories (every 10th), a block (every 25th), audit records (every 10th)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _times_ms(runs: int, work: Callable[[], httpx.Response]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = work()
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return times


def _median(times: list[float]) -> float:
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(args.store or f"sqlite:///{Path(tmp) / 'toolgate.db'}")
        started = time.perf_counter()
        config = populate(engine, Path(tmp), args.tools, args.versions)
        filled = time.perf_counter() - started
        admin = create_token(engine, "bench-admin", {Scope.ADMIN}, "bench")
        service = Service(config, engine)
        service.start_sync()
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(service),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        bearer = {"Authorization": f"Bearer {admin}"}
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/ui/login").raise_for_status()  # starts summarising, as a visit does
            assert client.post("/ui/login", data={"token": admin}).status_code == 303
            first = _times_ms(1, lambda: client.get("/ui/"))  # waits for the first summary
            api_tools = _times_ms(args.runs, lambda: client.get("/v1/tools", headers=bearer))
            api_tool = _times_ms(args.runs, lambda: client.get(f"/v1/tools/{TOOL}", headers=bearer))
            stale, ready = [], []
            for n in range(max(3, args.runs // 3)):
                create_token(engine, f"bench-{n}", {Scope.CHECK}, "bench")  # a new revision
                service.refresh()
                started = time.perf_counter()
                stale += _times_ms(1, lambda: client.get("/ui/"))  # previous summary, at once
                while STALE_NOTE in client.get("/ui/").text:
                    time.sleep(0.05)
                ready.append((time.perf_counter() - started) * 1000)
            warm = _times_ms(args.runs, lambda: client.get("/ui/"))
            tool = _times_ms(args.runs, lambda: client.get(f"/ui/tools/{TOOL}"))
            sizes = {path: len(client.get(path).content) for path in ("/ui/", f"/ui/tools/{TOOL}")}
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    base_list, base_tool = _median(api_tools), _median(api_tool)
    figures = {
        "overview, new snapshot": (_median(stale), max(stale), base_list, sizes["/ui/"]),
        "overview, warm": (_median(warm), max(warm), base_list, sizes["/ui/"]),
        f"tool page {TOOL}": (_median(tool), max(tool), base_tool, sizes[f"/ui/tools/{TOOL}"]),
    }
    print(
        f"store: {engine.url.get_backend_name()}, {args.tools} tools x {args.versions} versions "
        f"(filled in {filled:.1f}s), median of {args.runs} requests over loopback HTTP"
    )
    print(f"baseline GET /v1/tools:          {base_list:7.1f} ms")
    print(f"baseline GET /v1/tools/{TOOL}: {base_tool:7.1f} ms")
    for name, (median, worst, base, size) in figures.items():
        verdict = "ok" if median <= TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
        print(
            f"{name:<24} {median:7.1f} ms (max {worst:6.1f}, {median / base:5.2f}x baseline), "
            f"{size / 1e3:7.1f} kB  {verdict}"
        )
    print(
        f"(the overview's counts are summarised by a background thread: the first overview, "
        f"asked for at once after the login page and the login, took {first[0]:.0f} ms; after a "
        f"new snapshot the previous counts are served while the new ones are summarised, fresh "
        f"after {_median(ready):.0f} ms median)"
    )
    return 0 if all(median <= TARGET_MS for median, *_ in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
