"""kill -9 of the real daemon while it is handing a mail to the relay: after a restart every
alert arrives, and a receiver deduping on Message-ID sees each exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.conftest import MailServer, Tls, alerts_toml
from tests.core.test_api import wait_for
from verifier.config import Config
from verifier.demo.daemon import Daemon

VERSIONS = ("0.69.4", "0.69.5", "0.69.6")


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def serve(config: Config, log_name: str) -> Daemon:
    """`toolgate serve` on `config` as a real subprocess, ready."""
    url = f"http://{config.server.listen}"
    return Daemon(config.source_path, url, config.source_path.with_name(log_name)).start(30)


def block(config: Config, version: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "verifier",
            "block",
            "trivy",
            version,
            "--reason",
            "bad build",
            "--config",
            str(config.source_path),
        ],
        check=True,
        capture_output=True,
    )


def test_kill_9_while_sending_loses_nothing_and_dedupes_on_message_id(
    write_config, store_url: str, mail_server, tls: Tls, tmp_path: Path, daemons: list[Daemon]
):
    mail: MailServer = mail_server()
    mail.handler.hold_first = 30.0  # the relay has the first mail but has not said 250 yet
    # A loaded machine may time a session out: allow retries, so only the crash is tested.
    extra = alerts_toml(tmp_path, tls, mail.port, settings='lease = "3s"', max_attempts=20)
    config = write_config(store_url, extra=extra)
    first = serve(config, "first.log")
    daemons.append(first)
    for version in VERSIONS:
        block(config, version)
    wait_for(lambda: len(mail.received) == 1, timeout=30)
    first.kill()  # between "sent" and "marked sent"

    mail.handler.hold_first = 0.0
    second = serve(config, "second.log")
    daemons.append(second)
    wait_for(lambda: len(set(mail.handler.message_ids())) == len(VERSIONS), timeout=30)
    time.sleep(2)  # more passes add nothing
    ids = mail.handler.message_ids()
    assert len(set(ids)) == len(VERSIONS)
    # At least once: only the message in flight at the kill may arrive twice, same Message-ID.
    assert len(ids) <= len(VERSIONS) + 1
    subjects = {r.message["Subject"] for r in mail.received}
    assert {s.split(" — ")[0] for s in subjects} == {f"DENY trivy {v}" for v in VERSIONS}
