"""`toolgate serve` as a real process on the bundled configuration: start, answer, stop cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from verifier.audit import query_audit
from verifier.config import load_config
from verifier.store.engine import create_store_engine

ROOT = Path(__file__).resolve().parents[2]
TOOLGATE = [sys.executable, "-m", "verifier"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TOOLGATE, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_serve_the_bundled_config_answers_and_stops_on_sigterm(tmp_path: Path):
    # Same configuration, but every upstream (GitHub, advisory feeds) points at a closed port on
    # loopback: tests never leave the machine, and the daemon must serve on while upstreams fail.
    upstream = re.compile(
        r"^((?:api_url|url|source|checksums|index_url) = \"(?:url:)?)https://", re.M
    )
    text = upstream.sub(r"\g<1>http://127.0.0.1:9/", (ROOT / "config.toml").read_text())
    assert "https://" not in "".join(
        re.findall(r"^(?:api_url|url|source|checksums) = .*$", text, re.M)
    )
    (tmp_path / "config.toml").write_text(text)
    token = run("token", "create", "--name", "runner-eu-1", "--scope", "check", cwd=tmp_path)
    assert token.returncode == 0, token.stderr
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*TOOLGATE, "serve", "--listen", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
        unknown = httpx.get(
            f"{url}/v1/decision", params={"tool": "x", "version": "1"}, headers=headers
        )
        assert unknown.json()["reasons"][0]["code"] == "not-in-inventory"
        for name in ("trivy", "cosign", "syft", "terraform", "kubectl", "actions/checkout"):
            answer = httpx.get(
                f"{url}/v1/decision", params={"tool": name, "version": "1.0.0"}, headers=headers
            )
            assert answer.json()["decision"] == "deny" and answer.json()["reasons"]
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    engine = create_store_engine(load_config(tmp_path / "config.toml").store_url)
    assert len(query_audit(engine)) == 7  # flushed on SIGTERM
    engine.dispose()
