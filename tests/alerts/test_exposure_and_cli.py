"""Exposure from a real audit log (API and CLI), the alert commands, and the whole path through
a live server: a block over the API reaches the mailbox and the webhook once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.alerts.conftest import (
    RECIPIENT,
    WEBHOOK_SECRET,
    MailServer,
    Tls,
    WebhookReceiver,
    alerts_toml,
)
from tests.conftest import LiveServer, free_port
from tests.core.test_api import add_release, wait_for
from verifier.audit import query_audit
from verifier.cli import app
from verifier.tokens import Scope

JOBS = [
    ("runner-eu-1", "https://ci.example.org/acme/api/actions/runs/101"),
    ("runner-eu-2", "https://ci.example.org/acme/api/actions/runs/102"),
]


def fetch_as_runners(server: LiveServer, version: str = "0.69.3") -> None:
    """Real decision requests from two runners, audited by the server."""
    token = server.token("ci-eu", Scope.CHECK)
    with server.client(token) as client:
        for runner, job in JOBS:
            response = client.get(
                "/v1/decision",
                params={"tool": "trivy", "version": version},
                headers={"X-Toolgate-Runner": runner, "X-Toolgate-Job": job},
            )
            assert response.json()["decision"] == "allow"
    wait_for(lambda: len(query_audit(server.engine, tool="trivy")) == len(JOBS))


def block_over_api(server: LiveServer, version: str = "0.69.3") -> None:
    admin = server.token("admin", Scope.ADMIN)
    with server.client(admin) as client:
        response = client.post(
            "/v1/overrides",
            json={"kind": "block", "tool": "trivy", "version": version, "reason": "bad build"},
        )
    assert response.status_code == 201


def test_exposure_api_lists_runners_that_fetched_a_now_denied_version(live_server):
    server = live_server()
    add_release(server, "0.69.3")
    fetch_as_runners(server)
    block_over_api(server)
    reader = server.token("reader", Scope.READ)
    with server.client(reader) as client:
        body = client.get("/v1/exposure", params={"tool": "trivy", "version": "v0.69.3"}).json()
        assert client.get("/v1/exposure", params={"tool": "trivy"}).status_code == 422
    assert body["decision"] == "deny"
    assert [r["code"] for r in body["reasons"]] == ["manual-block"]
    assert body["runner_count"] == 2
    assert [(r["token_name"], r["runner"], r["job"]) for r in body["runners"]] == [
        ("ci-eu", runner, job) for runner, job in JOBS
    ]
    assert body["first_fetch"] <= body["last_fetch"]
    assert any("new access keys" in step for step in body["advice"])
    with server.client(server.token("runner-only", Scope.CHECK)) as client:
        params = {"tool": "trivy", "version": "0.69.3"}
        assert client.get("/v1/exposure", params=params).status_code == 403


def test_exposure_cli_exits_1_when_a_denied_version_was_fetched(live_server):
    server = live_server()
    add_release(server, "0.69.3")
    fetch_as_runners(server)
    config = ["--config", str(server.config.source_path)]
    runner = CliRunner()
    allowed = runner.invoke(app, ["exposure", "trivy", "0.69.3", "--json", *config])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["decision"] == "allow"
    block_over_api(server)
    denied = runner.invoke(app, ["exposure", "trivy", "0.69.3", "--json", *config])
    assert denied.exit_code == 1
    report = json.loads(denied.stdout)
    assert report["decision"] == "deny" and report["runner_count"] == 2
    table = runner.invoke(app, ["exposure", "trivy", "0.69.3", *config], terminal_width=200)
    assert table.exit_code == 1
    assert "runner-eu-2" in table.stdout and "Rotate every credential" in table.stdout


def test_block_over_the_api_reaches_mailbox_and_webhook_once(
    live_server, mail_server, webhook: WebhookReceiver, tls: Tls, tmp_path: Path
):
    mail: MailServer = mail_server()
    server = live_server(extra=alerts_toml(tmp_path, tls, mail.port, webhook_url=webhook.url))
    add_release(server, "0.69.3")
    fetch_as_runners(server)
    block_over_api(server)
    wait_for(lambda: len(mail.received) == 1 and len(webhook.requests) == 1)
    message = mail.received[0].message
    assert message["Subject"] == (
        "DENY trivy 0.69.3 — blocked by token:admin: bad build — 2 runners fetched it"
    )
    assert "runner-eu-1" in message.get_body(("plain",)).get_content()
    hook = webhook.requests[0]
    digest = hmac.new(WEBHOOK_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Toolgate-Signature-256"] == f"sha256={digest}"
    time.sleep(2.5)  # several more sender passes (poll_interval is 1s) add nothing
    assert len(mail.received) == 1 and len(webhook.requests) == 1
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "toolgate_alerts_sent_total 2.0" in metrics
    assert "toolgate_alerts_dead 0.0" in metrics

    runner = CliRunner()
    config = ["--config", str(server.config.source_path)]
    listed = runner.invoke(app, ["alerts", "list", "--json", *config])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)
    assert {(r["channel"], r["status"]) for r in records} == {
        ("email", "sent"),
        ("webhook", "sent"),
    }
    email_id = next(r["id"] for r in records if r["channel"] == "email")
    resent = runner.invoke(app, ["alerts", "resend", str(email_id), *config])
    assert resent.exit_code == 0, resent.output
    wait_for(lambda: len(mail.received) == 2)
    assert mail.received[0].message["Message-ID"] == mail.received[1].message["Message-ID"]
    assert runner.invoke(app, ["alerts", "resend", "999999", *config]).exit_code == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_alerts_test_sends_through_every_channel(
    write_config, mail_server, webhook: WebhookReceiver, tls: Tls, tmp_path: Path
):
    mail: MailServer = mail_server(implicit=True)
    extra = alerts_toml(tmp_path, tls, mail.port, webhook_url=webhook.url, tls_mode="implicit")
    config = write_config(extra=extra)
    runner = CliRunner()
    result = runner.invoke(app, ["alerts", "test", "--config", str(config.source_path)])
    assert result.exit_code == 0, result.output
    assert f"email {RECIPIENT}: ok" in result.stdout
    assert "webhook chatops: ok" in result.stdout
    assert len(mail.received) == 1 and len(webhook.requests) == 1
    assert mail.received[0].message["Subject"].startswith("TEST toolgate test")

    down = write_config(extra=alerts_toml(tmp_path, tls, free_port(), webhook_url=webhook.url))
    result = runner.invoke(app, ["alerts", "test", "--config", str(down.source_path)])
    assert result.exit_code == 1
    assert f"email {RECIPIENT}: failed" in result.stdout
