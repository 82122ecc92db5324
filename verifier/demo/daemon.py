"""A `toolgate serve` process on a configuration: started, awaited until ready, stopped with
SIGTERM as systemd would, and started again on the same store. Its output goes to a log file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Self

import httpx

from verifier.errors import ToolgateError


class DaemonError(ToolgateError):
    """The daemon did not start, or stopped on its own; the message ends with its log."""


class Daemon:
    """One `toolgate serve` child process at a time, answering on `url`."""

    def __init__(self, config_path: Path, url: str, log_path: Path) -> None:
        self.config_path = config_path
        self.url = url
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 60.0) -> Self:
        """Start the daemon and wait until `/readyz` answers (its first snapshot is built)."""
        return self.spawn().wait_ready(timeout)

    def spawn(self) -> Self:
        """Start the daemon, listening on `url`'s host and port, without waiting for it."""
        if self.running:
            raise DaemonError("the daemon is already running")
        self._log = self.log_path.open("ab")
        listen = httpx.URL(self.url)
        command = [sys.executable, "-m", "verifier", "serve", "--config", str(self.config_path)]
        self._process = subprocess.Popen(
            [*command, "--listen", f"{listen.host}:{listen.port}"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> Self:
        """Wait until `/readyz` answers; stop the daemon and raise if it does not in time."""
        if self._process is None:
            raise DaemonError("the daemon was not started")
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    code = self._process.returncode
                    raise DaemonError(f"toolgate serve exited with {code}{self.tail()}")
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise DaemonError(f"toolgate serve was not ready within {timeout:.0f}s{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would end it: no draining, no flush, leases left to expire."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (drain, flush the audit buffer), then SIGKILL after `timeout`; exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return process.returncode

    def tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the daemon's log, after a newline ("" if unreadable)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n" + "\n".join(text.splitlines()[-lines:])
