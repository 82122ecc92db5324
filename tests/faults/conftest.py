"""Fault injection: what the tests here share (a load generator, condition waits, config edits)."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from verifier.config import Config, load_config

DEFAULT_AUDIT = '[audit]\nflush_interval = "1s"\n'


def rewrite(config: Config, old: str, new: str) -> Config:
    """`config` with the text `old` of its file replaced by `new`, rewritten on disk."""
    path = config.source_path
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return load_config(path)


def with_audit(config: Config, audit: str) -> Config:
    """`config` with its `[audit]` table replaced by `audit` (TOML)."""
    return rewrite(config, DEFAULT_AUDIT, audit.strip() + "\n")


@dataclass
class Load:
    """Threads asking `GET /v1/decision` in a loop, each answer tagged with a unique job id
    (`X-Toolgate-Job`, which the audit trail records); `answers` maps job id to (status,
    time.monotonic() when the answer arrived); `batch` queries per request go to
    `POST /v1/decisions` instead when above 1."""

    url: str
    token: str
    threads: int = 4
    batch: int = 1
    answers: dict[str, tuple[int, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    bad_refusals: list[str] = field(default_factory=list)  # 503s not saying "not recorded"
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def start(self) -> Load:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)

    def answered(self, status: int, after: float = 0.0) -> int:
        """Answers with `status` that arrived after `after` (a time.monotonic())."""
        return sum(1 for s, at in list(self.answers.values()) if s == status and at > after)

    def _run(self, worker: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "X-Toolgate-Runner": f"load-{worker}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as client:
            while not self._stop.is_set():
                job = f"job-{next(self._ids)}"
                try:
                    if self.batch > 1:
                        queries = [{"tool": "trivy", "version": "0.69.3"}] * self.batch
                        response = client.post(
                            "/v1/decisions",
                            json={"queries": queries},
                            headers={"X-Toolgate-Job": job},
                        )
                    else:
                        response = client.get(
                            "/v1/decision",
                            params={"tool": "trivy", "version": "0.69.3"},
                            headers={"X-Toolgate-Job": job},
                        )
                except httpx.TransportError as exc:  # the server was killed: stop asking
                    self.errors.append(f"{job}: {exc!r}")
                    return
                refusal = (response.headers.get("Retry-After"), response.json().get("error"))
                if response.status_code == 503 and refusal != ("1", "not-recorded"):
                    self.bad_refusals.append(f"{job}: {response.headers} {response.text}")
                self.answers[job] = (response.status_code, time.monotonic())
                time.sleep(0.005)


def set_read_only(store_url: str, read_only: bool) -> None:
    """Make the store refuse every write (reads still work), or take writes again: SQLite's
    files made immutable (chattr), PostgreSQL's database read-only for new sessions, its
    current sessions ended."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        files = [url.database or "", f"{url.database}-wal"]
        files = [name for name in files if Path(name).exists()]
        subprocess.run(["chattr", "+i" if read_only else "-i", *files], check=True)
        return
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as connection:
        name = url.database
        setting = "SET default_transaction_read_only = on" if read_only else "RESET ALL"
        connection.execute(f'ALTER DATABASE "{name}" {setting}')
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
