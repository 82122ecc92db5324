"""A whole daemon life with every kind of secret in use (GitHub token, SMTP password, webhook
secret, API tokens created and used), then a grep of everything it printed for each of them."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.alerts.conftest import (
    SMTP_PASSWORD,
    WEBHOOK_SECRET,
    MailServer,
    Tls,
    WebhookReceiver,
    alerts_toml,
)
from tests.ops.conftest import DaemonProcess, GitHubWithRateLimit, create_token
from verifier.config import Config

GITHUB_TOKEN = "ghp_secretsTestToken0123456789abcdefABCD"


@pytest.fixture
def github() -> Iterator[GitHubWithRateLimit]:
    fake = GitHubWithRateLimit(GITHUB_TOKEN).start()
    fake.repo("aquasecurity/trivy")
    yield fake
    fake.stop()


def _until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_no_secret_reaches_the_log(
    tmp_path: Path,
    write_config: Callable[..., Config],
    tls: Tls,
    github: GitHubWithRateLimit,
    mail_server: Callable[..., MailServer],
    webhook: WebhookReceiver,
    start_daemon: Callable[..., DaemonProcess],
):
    smtp = mail_server()
    (tmp_path / "github-token").write_text(GITHUB_TOKEN + "\n")
    config = write_config(
        github=f'api_url = "{github.url}"\ntoken_file = "github-token"\npoll_interval = "1s"',
        extra=alerts_toml(tmp_path, tls, smtp.port, webhook_url=webhook.url),
    )
    admin = create_token(config.source_path, "ops-admin", "admin")
    daemon = start_daemon(config.source_path)
    daemon.notify.wait_for("READY", "1")

    with daemon.client(admin) as client:
        created = client.post("/v1/tokens", json={"name": "runner-7", "scopes": ["check"]})
        assert created.status_code == 201, created.text
        runner = created.json()["token"]
        blocked = client.post(
            "/v1/overrides",
            json={"kind": "block", "tool": "trivy", "version": "0.69.4", "reason": "compromised"},
            headers={"X-Request-Id": "change-42"},
        )
        assert blocked.status_code == 201, blocked.text
        assert blocked.headers["X-Request-Id"] == "change-42"
    with daemon.client(runner) as client:
        _until(
            lambda: client.get("/v1/decision?tool=trivy&version=0.69.4").status_code == 200,
            "the runner token to reach the snapshot",
        )
        assert client.get("/v1/decision?tool=trivy&version=0.69.4").json()["decision"] == "deny"
    with daemon.client("tg_" + "x" * 43) as client:  # a wrong token: 401, and not logged
        assert client.get("/v1/tools").status_code == 401

    # Every secret was used: the token by the watcher, the password and the key by the alert.
    _until(lambda: f"Bearer {GITHUB_TOKEN}" in github.authorizations, "a poll with the token")
    _until(lambda: bool(smtp.received), "the alert mail (SMTP AUTH with the password)")
    _until(lambda: bool(webhook.requests), "the signed webhook")
    daemon.process.send_signal(signal.SIGHUP)  # a reload reads every secret again
    daemon.notify.wait_for("READY", "1", count=2, timeout=10)
    assert daemon.terminate() == 0

    printed = daemon.log_path.read_text() + daemon.log_path.with_suffix(".out").read_text()
    records = daemon.log_records()
    assert len(records) > 5
    for name, secret in {
        "GitHub token": GITHUB_TOKEN,
        "SMTP password": SMTP_PASSWORD,
        "webhook secret": WEBHOOK_SECRET,
        "admin API token": admin,
        "runner API token": runner,
    }.items():
        assert secret not in printed, f"the {name} is in the log"
    assert webhook.url not in printed  # a webhook URL may embed a token (Slack-style hooks)
    change = [r for r in records if r.get("request_id") == "change-42"]
    assert [r["message"] for r in change] == ["POST /v1/overrides 201"]
