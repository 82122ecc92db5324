"""Benchmark: a poll of 500 tools where nothing changed, against the fake GitHub with 50 ms
added latency per request (issue 4). Targets: <= 15 s, exactly one conditional request per tool.

The fake GitHub runs in its own process. A first poll records and verifies every tool's release
(asset + checksums file); the measured poll must find every listing unchanged (304). Baseline,
measured in the same run: the same 500 conditional GETs sent by bare httpx with the same number
of threads, no store, no watcher.
Run: .venv/bin/python bench/watch_poll.py [--tools 500] [--latency-ms 50] [--workers 16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import Session, select

from verifier.config import load_config
from verifier.inventory import sync_tools
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.store.models import HttpCacheRow
from verifier.watcher import Watcher

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 15.0

FAKE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from verifier.demo.upstream import FakeGitHub

    tools, latency = int(sys.argv[2]), float(sys.argv[3])
    fake = FakeGitHub(latency=latency).start()
    for i in range(tools):
        data = f"tool {i}".encode()
        sums = f"{__import__('hashlib').sha256(data).hexdigest()}  tool-1.0.0.tar.gz\\n"
        fake.add_release(f"bench/tool{i}", "v1.0.0",
                         {"tool-1.0.0.tar.gz": data, "checksums.txt": sums.encode()})
    print(fake.url, flush=True)
    for line in sys.stdin:
        if line.strip() == "reset":
            fake.requests.clear()
            print("ok", flush=True)
        elif line.strip() == "count":
            api = [r for r in fake.requests if r.path.startswith("/repos/")]
            print(json.dumps({
                "api": len(api),
                "conditional": sum(r.conditional for r in api),
                "not_modified": sum(r.status == 304 for r in api),
                "paths": len({r.path for r in api}),
            }), flush=True)
    """
)


class FakeProcess:
    """The fake GitHub in a subprocess, driven over stdin/stdout."""

    def __init__(self, tools: int, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FAKE, str(ROOT), str(tools), str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def write_config(directory: Path, url: str, tools: int) -> Path:
    lines = [
        'state_dir = "state"',
        "[github]",
        f'api_url = "{url}"',
        'poll_interval = "0s"',
    ]
    for i in range(tools):
        lines += [
            "[[tool]]",
            f'name = "tool{i:03}"',
            f'source = "github:bench/tool{i}"',
            'assets = ["tool-{version}.tar.gz"]',
            'checksums = "checksums.txt"',
            'attestations = "off"',
        ]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def baseline(etags: dict[str, str], workers: int) -> float:
    """The same conditional GETs with bare httpx and the same concurrency."""

    def get(item: tuple[str, str]) -> int:
        return client.get(item[0], headers={"If-None-Match": item[1]}).status_code

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        statuses = list(pool.map(get, etags.items()))
        elapsed = time.perf_counter() - started
    assert set(statuses) == {304}, f"baseline expected only 304s, found {set(statuses)}"
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    fake = FakeProcess(args.tools, args.latency_ms / 1000)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(write_config(Path(tmp), fake.url, args.tools))
            config.state_dir.mkdir(parents=True, exist_ok=True)
            engine = create_store_engine(config.store_url)
            upgrade(engine)
            sync_tools(engine, config)
            watcher = Watcher(config, engine, workers=args.workers)
            try:
                started = time.perf_counter()
                first = watcher.poll()
                warm = time.perf_counter() - started
                verified = sum(len(r.verified) for r in first)
                errors = [r.error for r in first if r.error]
                assert not errors and verified == args.tools, (verified, errors[:3])
                fake.ask("reset")
                started = time.perf_counter()
                second = watcher.poll()
                elapsed = time.perf_counter() - started
            finally:
                watcher.close()
            counts = json.loads(fake.ask("count"))
            assert all(r.unchanged and not r.error for r in second)
            with Session(engine) as session:
                etags = {row.url: row.etag for row in session.scalars(select(HttpCacheRow))}
            bare = baseline(etags, args.workers)
    finally:
        fake.close()

    per_tool = counts["api"] / args.tools
    ok = elapsed <= TARGET_SECONDS and counts["api"] == counts["not_modified"] == args.tools
    print(f"tools: {args.tools}, added latency: {args.latency_ms:.0f} ms, workers: {args.workers}")
    print(f"first poll (record + verify every release): {warm:.2f} s")
    print(
        f"unchanged poll: {elapsed:.2f} s (target <= {TARGET_SECONDS:.0f} s), "
        f"{counts['api']} API requests, {counts['conditional']} conditional, "
        f"{counts['not_modified']} answered 304, {per_tool:.2f} per tool (target 1)"
    )
    print(
        f"baseline (bare httpx, same {args.workers} threads, same 304s): {bare:.2f} s; "
        f"watcher / baseline: {elapsed / bare:.2f}x"
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
