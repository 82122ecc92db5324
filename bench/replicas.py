"""Replica propagation benchmark: how long a fact written through one replica takes to reach
another replica's answers, with PostgreSQL LISTEN/NOTIFY and with polling alone (the baseline).

Two real `toolgate serve` processes share a fresh PostgreSQL database. Each sample blocks a new
version through replica A's admin API and, from A's `201`, asks replica B every 2 ms until it
answers `deny` with `manual-block`. Samples start at random moments (polling's phase matters).
Both modes use the default `[server] snapshot_interval` of 1 s; the baseline sets
`[store] notify = false`. Prints p50/p99/max per mode and the ratio; exits 1 if any sample
took longer than 1 s with notifications.

Usage: .venv/bin/python bench/replicas.py [--samples N] [--server postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from verifier.demo.daemon import Daemon
from verifier.demo.loopback import free_port
from verifier.store.engine import create_store_engine
from verifier.tokens import Scope, create_token

CONFIG = """\
state_dir = "state"

[server]
listen = "127.0.0.1:{port}"

[store]
url = "{url}"
notify = {notify}

[github]
poll_interval = "0s"

[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_pair(workdir: Path, url: str, notify: bool) -> list[Daemon]:
    """Replicas A and B on `url`; A first, so B finds the store migrated."""
    replicas = []
    for name in ("a", "b"):
        directory = workdir / f"{name}-{notify}"
        directory.mkdir()
        port = free_port()
        config = directory / "config.toml"
        config.write_text(CONFIG.format(port=port, url=url, notify=str(notify).lower()))
        daemon = Daemon(config, f"http://127.0.0.1:{port}", directory / "serve.log")
        daemon.start()
        replicas.append(daemon)
    return replicas


def measure(a: Daemon, b: Daemon, admin: str, samples: int, tag: str) -> list[float]:
    """Seconds from A's answer to a block until B denies with `manual-block`, per sample."""
    latencies = []
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(headers=headers, timeout=5) as to_a, httpx.Client(headers=headers) as to_b:
        for i in range(samples):
            time.sleep(random.uniform(0.0, 1.0))
            version = f"9.{tag}.{i}"
            block = {"kind": "block", "tool": "trivy", "version": version, "reason": "bench"}
            response = to_a.post(f"{a.url}/v1/overrides", json=block)
            response.raise_for_status()
            written = time.perf_counter()
            query = {"tool": "trivy", "version": version}
            while True:
                answer = to_b.get(f"{b.url}/v1/decision", params=query).json()
                if any(reason["code"] == "manual-block" for reason in answer["reasons"]):
                    break
                if time.perf_counter() - written > 10:
                    raise SystemExit(f"replica B never saw the block of {version}")
                time.sleep(0.002)
            latencies.append(time.perf_counter() - written)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--server", default="postgres@127.0.0.1:5432")
    args = parser.parse_args()
    database = f"toolgate_bench_{uuid.uuid4().hex[:8]}"
    admin_url = f"postgresql://{args.server}/postgres"
    url = f"postgresql+psycopg://{args.server}/{database}"
    results: dict[str, list[float]] = {}
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        with tempfile.TemporaryDirectory(prefix="toolgate-replicas-") as tmp:
            for notify in (False, True):
                a, b = start_pair(Path(tmp), url, notify)
                try:
                    engine = create_store_engine(url)
                    admin = create_token(engine, f"bench-{notify}", {Scope.ADMIN}, "bench")
                    engine.dispose()
                    time.sleep(1.5)  # both replicas know the token (polling at worst)
                    mode = "LISTEN/NOTIFY" if notify else "polling (baseline)"
                    results[mode] = measure(a, b, admin, args.samples, str(int(notify)))
                finally:
                    a.stop()
                    b.stop()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"block via replica A -> deny from replica B, {args.samples} samples per mode")
    print("snapshot_interval 1s (default); latency from A's 201 to B's first deny")
    for mode, values in results.items():
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        worst, mean = max(values) * 1000, statistics.fmean(values) * 1000
        print(f"  {mode:20} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms", end="")
        print(f"  max {worst:6.1f} ms  mean {mean:6.1f} ms")
    baseline, notified = results["polling (baseline)"], results["LISTEN/NOTIFY"]
    ratio = percentile(baseline, 0.5) / percentile(notified, 0.5)
    print(f"  p50 ratio polling / notify: {ratio:.0f}x")
    ok = max(notified) < 1.0
    print("OK: every notified sample under 1 s" if ok else "FAILED: a notified sample took >= 1 s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
