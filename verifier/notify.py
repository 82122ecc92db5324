"""systemd's service notification protocol (sd_notify(3)): READY, STATUS, WATCHDOG, STOPPING.

Implemented here instead of taken from a library on purpose: the protocol is one AF_UNIX
datagram of newline-separated `KEY=VALUE` lines sent to `$NOTIFY_SOCKET`, which systemd
documents as a stable interface meant to be reimplemented. The Python packages for it are either
unmaintained (`sdnotify`, last release 2017) or need libsystemd's headers to build
(`systemd-python`), which a service that only sends datagrams should not depend on.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends state changes to the service manager; does nothing when not run by one."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace (a leading NUL byte on the wire).
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._failed = False
        self.watchdog_interval = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *fields: str) -> None:
        """Send `KEY=VALUE` fields in one datagram; a failure is logged once, never raised
        (the manager then acts on its own timeouts, which is the right fallback)."""
        if not self._address:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify the service manager at %s: %s", self._address, exc)
            self._failed = True

    def ready(self, status: str) -> None:
        """The service is up (after start, or after a reload)."""
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def reloading(self) -> None:
        """A reload started; `ready()` ends it. MONOTONIC_USEC lets the manager match the two."""
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={now_usec}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping: draining requests, flushing the audit trail")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None when not supervised."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):  # meant for another process (e.g. our parent)
        return None
    return int(usec) / 2_000_000
