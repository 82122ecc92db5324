"""Benchmark: cold start of `toolgate` commands against the tools they replace (issue 17).

Each round runs every command below once as a fresh process, interleaved with its baseline, so
both see the same machine load. The ratio judged is of the medians (each command's median wall
time over the rounds); the median of the per-round ratios is printed beside it.

    command                                     baseline (same round)                     target
    toolgate check TOOL VERSION --server URL    python -c: import httpx, same request     1.5x
    toolgate --help, toolgate --version         python -c "import typer"                  2x
    toolgate verify (production bundle)         sigstore verify identity --offline        1.2x

`check` asks a real `toolgate serve` on 127.0.0.1 (SQLite store in a temporary directory, the
release watcher off, one approved version, a `check` token), which answers `allow`.
Run: .venv/bin/python bench/startup.py [--rounds 7]   (exit 1 if a target is missed)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from verifier.demo.daemon import Daemon
from verifier.demo.loopback import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests/fixtures/sigstore/spy-prod-github-actions-wheel"
SAN = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
ISSUER = "https://token.actions.githubusercontent.com"
DIGEST = "a" * 64
CONFIG = """\
state_dir = "state"
[server]
listen = "127.0.0.1:{port}"
snapshot_interval = "1s"
[store]
url = "sqlite:///{directory}/toolgate.db"
[github]
poll_interval = "0s"
[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
versions = ["0.69.3"]
"""
BARE_CHECK = """\
import httpx, pathlib, sys
token = pathlib.Path(sys.argv[2]).read_text().strip()
answer = httpx.get(sys.argv[1] + "/v1/decision", params={"tool": "trivy", "version": "0.69.3"},
                   headers={"Authorization": "Bearer " + token}, timeout=10)
print(answer.json()["decision"])
"""


@dataclass(frozen=True)
class Case:
    """One comparison: our command, its baseline, the target ratio (wall, ours / baseline)."""

    name: str
    ours: list[str]
    baseline: list[str]
    target: float


def _run(command: list[str], expect: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != expect:
        raise SystemExit(f"{command} exited {done.returncode}:\n{done.stderr.decode()}")
    return elapsed


def _toolgate(*args: str) -> list[str]:
    return [str(BIN / "toolgate"), *args]


def _start_daemon(directory: Path) -> tuple[Daemon, Path]:
    config = directory / "config.toml"
    port = free_port()
    config.write_text(CONFIG.format(port=port, directory=directory), encoding="utf-8")
    daemon = Daemon(config, f"http://127.0.0.1:{port}", directory / "serve.log").start()
    cli = ["--config", str(config)]
    token = subprocess.run(
        _toolgate("token", "create", "--name", "bench", "--scope", "check", *cli),
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
    token_file = directory / "token"
    token_file.write_text(token + "\n", encoding="utf-8")
    subprocess.run(
        _toolgate("approve", "trivy", "0.69.3", "--sha256", DIGEST, "--reason", "bench", *cli),
        capture_output=True,
        check=True,
    )
    return daemon, token_file


def _await_allow(check: list[str]) -> None:
    deadline = time.monotonic() + 30
    while subprocess.run(check, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit("the daemon never answered allow to the benchmark's check")
        time.sleep(0.2)


def cases(url: str, token_file: Path) -> list[Case]:
    """What is compared, in the order printed."""
    python = [sys.executable, "-c"]
    check = ["check", "trivy", "0.69.3", "--server", url, "--token-file", str(token_file)]
    bundle = CASE / "bundle_v3_github.whl.sigstore"
    artifact = str(CASE / "bundle_v3_github.whl")
    identity = ["--cert-identity", SAN, "--cert-oidc-issuer", ISSUER]
    return [
        Case("check", _toolgate(*check), [*python, BARE_CHECK, url, str(token_file)], 1.5),
        Case("--help", _toolgate("--help"), [*python, "import typer"], 2.0),
        Case("--version", _toolgate("--version"), [*python, "import typer"], 2.0),
        Case(
            "verify",
            _toolgate("verify", artifact, "--bundle", str(bundle), "--identity", SAN,
                      "--issuer", ISSUER),
            [str(BIN / "sigstore"), "verify", "identity", "--offline", "--bundle", str(bundle),
             *identity, artifact],
            1.2,
        ),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        daemon, token_file = _start_daemon(Path(tmp))
        try:
            compared = cases(daemon.url, token_file)
            _await_allow(compared[0].ours)
            for case in compared:  # warm the page cache and .pyc files once
                _run(case.ours), _run(case.baseline)
            timings: dict[str, list[tuple[float, float]]] = {case.name: [] for case in compared}
            for _ in range(rounds):
                for case in compared:
                    timings[case.name].append((_run(case.ours), _run(case.baseline)))
        finally:
            daemon.stop()
    load = os.getloadavg()[0]
    print(f"{rounds} interleaved rounds, load average {load:.2f} on {os.cpu_count()} cores")
    print(f"{'command':10} {'ours ms':>8} {'base ms':>8} {'ratio':>6} {'rounds':>6} {'target':>6}")
    missed = []
    for case in compared:
        pairs = timings[case.name]
        per_round = statistics.median(ours / base for ours, base in pairs)
        ours, base = (statistics.median(side) * 1e3 for side in zip(*pairs, strict=True))
        ratio = ours / base
        verdict = "ok" if ratio <= case.target else "MISSED"
        print(
            f"{case.name:10} {ours:8.0f} {base:8.0f} {ratio:6.2f} {per_round:6.2f} "
            f"{case.target:6.1f}  {verdict}"
        )
        if ratio > case.target:
            missed.append(case.name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
