"""Fault-injection benchmark: decisions while PostgreSQL hangs (reachable, never answering).

A real `toolgate serve` on a fresh PostgreSQL database reached through a pausable loopback TCP
proxy (verifier.demo.tcp_proxy). wrk (`apt-get install wrk`) drives GET /v1/decision with
bench/decision_api.lua, each of `--connections` connections pausing 1000 * connections / rate
ms after each answer (about `--rate` requests per second), through three phases of `--seconds`
each: the baseline (store healthy), the store paused (started with the phase), the store
resumed. /readyz is polled every 50 ms. Prints, per phase, requests, rate, errors and latency
percentiles (p99 <= 50 ms means at least 99 % of the answers came within 50 ms), the paused
phase's p99 and rate against the baseline's, and how long /readyz took to say `degraded` after
the pause and `ready` after the resume.

`--zip-bomb` measures instead how long reading a 3 MB OSV archive of 400 members of 8 MiB
each (every one within the per-member limit) takes: refused from its declared sizes, against
inflating its members once (what reading it cost before the bound).

Usage: .venv/bin/python bench/faults.py [--rate 300] [--seconds 16] [--connections 30] [--durable]
        [--server postgres@127.0.0.1:5432]
       .venv/bin/python bench/faults.py --zip-bomb
"""

from __future__ import annotations

import argparse
import binascii
import json
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any

import httpx
import psycopg

from advisories import read_path
from verifier.demo.daemon import Daemon
from verifier.demo.loopback import free_port
from verifier.demo.tcp_proxy import PausableProxy
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.tokens import Scope, create_token

LUA_SCRIPT = Path(__file__).resolve().parent / "decision_api.lua"
CONFIG = """\
state_dir = "state"

[server]
listen = "127.0.0.1:{port}"

[store]
url = "{url}"

[audit]
durable = {durable}

[github]
poll_interval = "0s"

[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
versions = [">=0.60"]
"""


def wrk(url: str, paths: Path, token: str, seconds: float, rate: float, connections: int) -> Any:
    """One paced wrk run; its WRKJSON summary (microseconds), with `rps` added."""
    delay_ms = 1000.0 * connections / rate
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "60s",
        "-s", str(LUA_SCRIPT), url, "--", str(paths), token, f"{delay_ms:.4f}",
    ]  # fmt: skip
    text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in text.splitlines() if ln.startswith("WRKJSON "))
    stats = json.loads(line.removeprefix("WRKJSON "))
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    stats["errors"] = sum(v for k, v in stats.items() if k.startswith("errors_"))
    return stats


def report(name: str, stats: Any) -> str:
    ms = {key: stats[f"{key}_us"] / 1000 for key in ("p50", "p99", "p999", "max")}
    return (
        f"{name:>9}: {stats['requests']:6d} requests ({stats['rps']:5.0f}/s), "
        f"{stats['errors']} errors, p50 {ms['p50']:6.1f} ms, p99 {ms['p99']:6.1f} ms, "
        f"p99.9 {ms['p999']:7.1f} ms, max {ms['max']:8.1f} ms"
    )


class ReadyzWatch:
    """Polls /readyz every 50 ms in a thread, recording (time.monotonic(), status) changes."""

    def __init__(self, url: str) -> None:
        self.changes: list[tuple[float, str]] = []
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = None
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    status = client.get(f"{self._url}/readyz").json()["status"]
                except (httpx.HTTPError, ValueError, KeyError):
                    status = "unanswered"
                if status != last:
                    self.changes.append((time.monotonic(), status))
                    last = status
                self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def first(self, status: str, after: float) -> str:
        when = next((t - after for t, s in self.changes if t >= after and s == status), None)
        return f"{when:.2f} s" if when is not None else "never"


def run(url: str, token: str, proxy: PausableProxy, args: argparse.Namespace) -> None:
    paths = Path(tempfile.mkstemp(prefix="toolgate-bench-faults-", suffix=".paths")[1])
    paths.write_text("/v1/decision?tool=trivy&version=0.69.3\n" * 64)
    pace = (args.rate, args.connections)
    wrk(url, paths, token, 3, *pace)  # warm-up
    watch = ReadyzWatch(url)
    baseline = wrk(url, paths, token, args.seconds, *pace)
    paused_at = time.monotonic()
    proxy.pause()
    paused = wrk(url, paths, token, args.seconds, *pace)
    resumed_at = time.monotonic()
    proxy.resume()
    resumed = wrk(url, paths, token, args.seconds, *pace)
    watch.stop()
    paths.unlink()
    for name, stats in (("baseline", baseline), ("paused", paused), ("resumed", resumed)):
        print(report(name, stats))
    print(
        f"paused/baseline: p99 {paused['p99_us'] / baseline['p99_us']:.2f}x, "
        f"rate {paused['rps'] / baseline['rps']:.2f}x; "
        f"paused p99 {'<=' if paused['p99_us'] <= 50_000 else '>'} 50 ms"
    )
    print(f"/readyz degraded {watch.first('degraded', paused_at)} after the pause")
    print(f"/readyz ready {watch.first('ready', resumed_at)} after the resume")


def zip_bomb(path: Path, members: int = 400, size: int = 8 * 1024 * 1024) -> None:
    """Write an archive of `members` members of `size` zero digits each, sharing one deflate
    stream (zipfile would compress each member again: minutes for 3 GiB)."""
    data = b"0" * size
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = compressor.compress(data) + compressor.flush()
    crc = binascii.crc32(data)
    directory = []
    with path.open("wb") as out:
        for n in range(members):
            name = f"BOMB-{n}.json".encode()
            directory.append((name, out.tell()))
            header = (0x04034B50, 20, 0, 8, 0, 0, crc, len(raw), size, len(name), 0)
            out.write(struct.pack("<IHHHHHIIIHH", *header) + name + raw)
        start = out.tell()
        for name, offset in directory:
            entry = (0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(raw), size, len(name), 0, 0, 0, 0)
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", *entry, 0, offset) + name)
        length = out.tell() - start
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, length, start, 0))


def bench_zip_bomb() -> None:
    with tempfile.TemporaryDirectory(prefix="toolgate-bench-zip-") as tmp:
        path = Path(tmp) / "all.zip"
        zip_bomb(path)
        archive_bytes = path.stat().st_size
        started = time.perf_counter()
        results = list(read_path(path, source="bench"))
        refused = time.perf_counter() - started
        started = time.perf_counter()
        with zipfile.ZipFile(path) as archive:
            inflated = sum(len(archive.read(member)) for member in archive.infolist())
        baseline = time.perf_counter() - started
    print(f"a {archive_bytes / 1e6:.1f} MB archive of 400 members of 8 MiB")
    print(f"read_path: {refused * 1000:.1f} ms, {results[0]}")
    print(f"inflating it (the baseline): {baseline:.2f} s for {inflated / 2**30:.2f} GiB")
    print(f"ratio read_path/baseline: {refused / baseline:.5f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=16.0, help="length of each phase")
    parser.add_argument("--connections", type=int, default=30, help="wrk connections")
    parser.add_argument("--durable", action="store_true", help="[audit] durable = true")
    parser.add_argument("--server", default="postgres@127.0.0.1:5432", help="PostgreSQL")
    parser.add_argument("--zip-bomb", action="store_true", help="time a zip bomb's refusal")
    args = parser.parse_args()
    if args.zip_bomb:
        bench_zip_bomb()
        return 0
    if shutil.which("wrk") is None:
        print("needs wrk: apt-get install -y wrk")
        return 2
    database = f"toolgate_bench_{uuid.uuid4().hex[:10]}"
    admin = f"postgresql://{args.server}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    direct = f"postgresql+psycopg://{args.server}/{database}"
    proxy = PausableProxy.for_store(direct).start()
    daemon = None
    try:
        engine = create_store_engine(direct)
        upgrade(engine)
        token = create_token(engine, "bench", {Scope.CHECK}, "bench")
        engine.dispose()
        workdir = Path(tempfile.mkdtemp(prefix="toolgate-bench-faults-"))
        port = free_port()
        config = workdir / "config.toml"
        durable = str(args.durable).lower()
        url = proxy.store_url(direct)
        config.write_text(CONFIG.format(port=port, url=url, durable=durable))
        daemon = Daemon(config, f"http://127.0.0.1:{port}", workdir / "serve.log").start()
        print(f"{args.rate:.0f} req/s, phases of {args.seconds:.0f} s, durable={durable}")
        run(daemon.url, token, proxy, args)
    finally:
        proxy.resume()
        if daemon is not None:
            daemon.stop()
        proxy.stop()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
