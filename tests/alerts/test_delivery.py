"""Incidents to mail and webhooks through real loopback receivers, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from jinja2 import TemplateError
from sqlalchemy import Engine, select
from sqlmodel import Session
from typer.testing import CliRunner

from tests.alerts.conftest import (
    RECIPIENT,
    SMTP_PASSWORD,
    WEBHOOK_SECRET,
    WebhookReceiver,
    add_fetches,
)
from tests.conftest import free_port
from verifier.alerts import message
from verifier.alerts.outbox import (
    claim,
    enqueue_new_exposure,
    list_deliveries,
    resend,
    route_alerts,
)
from verifier.alerts.sender import AlertSender
from verifier.cli import app
from verifier.incidents import IncidentKind, Severity, record_incident
from verifier.inventory import add_override, sync_tools
from verifier.service import Service
from verifier.store.models import AlertDeliveryRow, AlertRow

RUNNERS = [
    ("ci-eu", "runner-eu-1", "https://ci.example.org/acme/api/actions/runs/101"),
    ("ci-eu", "runner-eu-2", "https://ci.example.org/acme/api/actions/runs/102"),
    ("ci-us", "runner-us-1", "https://ci.example.org/acme/web/actions/runs/7"),
]


def block(engine: Engine, version: str = "0.69.4", reason: str = "tag from a fork") -> int:
    return add_override(
        engine, kind="block", tool="trivy", actor="cli:alice", reason=reason, version=version
    )


def record(engine: Engine, severity: Severity = Severity.CRITICAL, **detail: object) -> str:
    with Session(engine) as session:
        change = record_incident(
            session,
            kind=IncidentKind.VERIFICATION_FAILED,
            tool="trivy",
            version="0.69.4",
            severity=severity,
            summary="signature from unexpected commit",
            detail={"commit": "1885610c" + "0" * 32, **detail},
            dedupe_key="verification-failed:trivy:0.69.4",
        )
        session.commit()
        return change.outcome


def alert_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(AlertRow)).all())


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_block_sends_one_mail_and_one_signed_webhook_listing_exposed_runners(
    engine: Engine, setup, webhook: WebhookReceiver, implicit: bool
):
    _config, server, sender = setup(implicit=implicit)
    add_fetches(engine, "trivy", "0.69.4", RUNNERS[:2])
    add_fetches(engine, "trivy", "v0.69.4", RUNNERS[2:], decision="warn")
    add_fetches(engine, "trivy", "0.69.3", [("ci-eu", "runner-eu-9", "https://x/9")])
    add_fetches(
        engine, "trivy", "0.69.4", [("ci-eu", "runner-eu-8", "https://x/8")], decision="deny"
    )
    block(engine, reason="tag pushed from a fork")

    assert sender.run_once() == 2
    assert sender.run_once() == 0  # nothing is sent twice

    assert len(server.received) == 1
    mail = server.received[0]
    assert mail.envelope_to == [RECIPIENT]
    assert mail.message["To"] == RECIPIENT
    assert mail.message["Subject"] == (
        "DENY trivy 0.69.4 — blocked by cli:alice: tag pushed from a fork — 3 runners fetched it"
    )
    assert mail.message.is_multipart()
    parts = {part.get_content_type(): part.get_content() for part in mail.message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    for body in parts.values():
        for token, runner, job in RUNNERS:
            assert token in body and runner in body and job in body
        assert "runner-eu-9" not in body and "eu-8" not in body
        assert "new access keys" in body
    assert "<table" in parts["text/html"]

    assert len(webhook.requests) == 1
    hook = webhook.requests[0]
    expected = hmac.new(WEBHOOK_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Toolgate-Signature-256"] == f"sha256={expected}"
    payload = json.loads(hook.body)
    assert payload["schema"] == "toolgate.alert/v1"
    assert payload["delivery_id"] == hook.headers["X-Toolgate-Delivery"]
    assert payload["alert"]["action"] == "deny"
    assert payload["alert"]["exposure"]["runner_count"] == 3
    assert {r["runner"] for r in payload["alert"]["exposure"]["runners"]} == {
        r for _, r, _ in RUNNERS
    }
    assert payload["text"].startswith("*DENY trivy 0.69.4")


def test_same_incident_alerts_once_and_material_changes_alert_again(engine: Engine, setup):
    config, server, sender = setup()
    add_fetches(engine, "trivy", "0.69.4", RUNNERS[:1])
    assert record(engine) == "new"
    assert record(engine) == "unchanged"
    assert enqueue_new_exposure(engine) == 0
    sender.run_once()
    assert len(server.received) == 1
    assert server.received[0].message["Subject"] == (
        "DENY trivy 0.69.4 — signature from unexpected commit — 1 runner fetched it"
    )

    # A second replica, or a restart, seeing the same incident changes nothing.
    AlertSender(config, engine).run_once()
    assert record(engine) == "unchanged"
    assert alert_count(engine) == 1

    # New severity: a material change.
    assert record(engine, Severity.HIGH) == "changed"
    # Newly exposed runners (late audit records): another alert, listing them.
    add_fetches(engine, "trivy", "0.69.4", RUNNERS[1:])
    assert enqueue_new_exposure(engine) == 1
    assert enqueue_new_exposure(engine) == 0
    sender.run_once()
    subjects = [r.message["Subject"] for r in server.received]
    assert len(subjects) == 3
    assert subjects[1].endswith("1 runner fetched it")
    assert subjects[2].endswith("3 runners fetched it")
    assert len(set(server.handler.message_ids())) == 3


def test_message_id_is_stable_when_an_alert_is_resent(engine: Engine, setup):
    _config, server, sender = setup()
    block(engine)
    sender.run_once()
    with Session(engine) as session:
        delivery = session.scalars(
            select(AlertDeliveryRow).where(AlertDeliveryRow.channel == "email")
        ).one()
    resend(engine, delivery.id, "test", datetime.now(UTC))
    sender.run_once()
    ids = server.handler.message_ids()
    assert len(ids) == 2 and ids[0] == ids[1]
    assert ids[0].endswith("@example.org>")


def test_smtp_outage_then_recovery_delivers_once(engine: Engine, alerts_config, mail_server):
    port = free_port()
    config = alerts_config(port)
    sync_tools(engine, config)
    sender = AlertSender(config, engine)
    block(engine)
    now = datetime.now(UTC)
    assert sender.run_once(now) == 0
    [(delivery, _alert)] = list_deliveries(engine)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "127.0.0.1" in (delivery.last_error or "")
    assert sender.run_once(now) == 0  # not due yet: backing off

    server = mail_server(port=port)
    server.handler.fail_next = 1  # the relay is back but answers 451 once
    assert sender.run_once(now + timedelta(seconds=5)) == 0
    assert sender.run_once(now + timedelta(seconds=30)) == 1
    assert sender.run_once(now + timedelta(seconds=60)) == 0
    assert len(server.received) == 1
    [(delivery, _alert)] = list_deliveries(engine)
    assert (delivery.status, delivery.attempts) == ("sent", 3)  # two failed tries, one sent


def test_failing_delivery_becomes_dead_and_is_kept(engine: Engine, alerts_config):
    config = alerts_config(free_port())
    sync_tools(engine, config)
    sender = AlertSender(config, engine)
    block(engine)
    now = datetime.now(UTC)
    for step in range(4):
        sender.run_once(now + timedelta(minutes=step))
    [(delivery, alert)] = list_deliveries(engine)
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert alert.tool == "trivy"
    listed = CliRunner().invoke(
        app, ["alerts", "list", "--status", "dead", "--json", "-c", str(config.source_path)]
    )
    assert listed.exit_code == 1  # a dead delivery is a problem found
    [record] = json.loads(listed.stdout)
    assert (record["id"], record["status"], record["attempts"]) == (delivery.id, "dead", 3)
    assert "Connection refused" in record["last_error"] or "127.0.0.1" in record["last_error"]


def test_restart_in_the_middle_sends_the_rest_without_duplicates(engine: Engine, setup):
    config, server, sender = setup()
    for version in ("0.69.4", "0.69.5", "0.69.6", "0.70.0", "0.70.1"):
        block(engine, version)
    server.handler.on_message = lambda: len(server.received) == 2 and sender.stop()
    sender.run_once()
    assert len(server.received) == 2

    restarted = Service(config, engine).alerts
    restarted.run_once()
    assert len(server.received) == 5
    assert len(set(server.handler.message_ids())) == 5


def test_a_crashed_senders_lease_runs_out_and_another_sends(
    engine: Engine, setup, webhook: WebhookReceiver
):
    config, server, sender = setup()
    block(engine)
    now = datetime.now(UTC)
    route_alerts(engine, sender.planner(), now)
    crashed = claim(engine, "crashed-host:1:1", now, config.alerts.lease, 100)
    assert {c.delivery.channel for c in crashed} == {"email", "webhook"}
    assert sender.run_once(now) == 0  # still leased to the sender that died
    later = now + config.alerts.lease + timedelta(seconds=1)
    assert sender.run_once(later) == 2
    assert len(server.received) == 1 and len(webhook.requests) == 1


def test_concurrent_claims_never_share_a_delivery(engine: Engine, setup):
    config, _server, sender = setup()
    for index in range(30):
        block(engine, f"0.{index}.0")
    now = datetime.now(UTC)
    route_alerts(engine, sender.planner(), now)
    results: dict[int, list[int]] = {}

    def grab(worker: int) -> None:
        ids: list[int] = []
        for round_ in range(10):
            ids += [
                c.delivery.id
                for c in claim(engine, f"w{worker}:{round_}", now, config.alerts.lease, 4)
            ]
        results[worker] = ids

    threads = [threading.Thread(target=grab, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in results.values() for i in ids]
    assert len(claimed) == len(set(claimed))
    assert len(claimed) == 60  # a mail and a webhook (blocks are high severity) per block


def test_warnings_go_out_in_one_digest_per_window(engine: Engine, setup):
    _config, server, sender = setup(route='digest = "1h"', mode="warn")
    block(engine, "0.69.4")
    block(engine, "0.69.5")
    now = datetime.now(UTC)
    assert sender.run_once(now) == 2  # webhooks are immediate; the mail waits for the window
    assert server.received == []
    assert sender.run_once(now + timedelta(hours=1, seconds=1)) == 1
    [mail] = server.received
    assert mail.message["Subject"].startswith("toolgate digest: 2 alerts — WARN trivy 0.69.4")
    text = mail.message.get_body(("plain",)).get_content()
    assert "0.69.4" in text and "0.69.5" in text


def test_no_secret_in_logs_or_alert_rows(engine: Engine, setup, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    _config, server, sender = setup()
    (tmp_path / "smtp-password").write_text("wrong-password-d41d8cd9")
    block(engine)
    sender.run_once()
    (tmp_path / "smtp-password").write_text(SMTP_PASSWORD)
    sender.run_once(datetime.now(UTC) + timedelta(minutes=1))
    assert len(server.received) == 1
    assert "authentication" in caplog.text.lower() or "535" in caplog.text
    with Session(engine) as session:
        rows = [*session.scalars(select(AlertRow)), *session.scalars(select(AlertDeliveryRow))]
    dumped = orjson.dumps([row.model_dump(mode="json") for row in rows]).decode()
    for secret in (SMTP_PASSWORD, WEBHOOK_SECRET, "wrong-password-d41d8cd9"):
        assert secret not in caplog.text
        assert secret not in dumped
        assert secret not in server.received[0].message.as_string()


def test_webhook_500_then_200_is_delivered_once_and_redirects_are_not_followed(
    engine: Engine, setup, webhook: WebhookReceiver
):
    _config, _server, sender = setup()
    webhook.statuses = [500]
    block(engine)
    now = datetime.now(UTC)
    assert sender.run_once(now) == 1  # the mail went; the webhook answered 500
    assert webhook.requests == []
    assert sender.run_once(now + timedelta(seconds=10)) == 1
    assert sender.run_once(now + timedelta(seconds=20)) == 0
    assert len(webhook.requests) == 1

    webhook.statuses = [302]
    block(engine, "0.69.5")
    sender.run_once(now + timedelta(seconds=30))
    hooks = [d for d, _ in list_deliveries(engine) if d.channel == "webhook"]
    assert "redirects are not followed" in (hooks[0].last_error or "")
    assert len(webhook.requests) == 1


def test_relay_closing_mid_data_or_a_template_error_keeps_the_alert_for_retry(
    engine: Engine, setup, monkeypatch: pytest.MonkeyPatch
):
    _config, server, sender = setup()
    server.handler.drop_next = 1
    block(engine)
    now = datetime.now(UTC)
    sender.run_once(now)
    [email] = [d for d, _ in list_deliveries(engine) if d.channel == "email"]
    assert (email.status, email.attempts) == ("pending", 1)
    assert "Disconnected" in (email.last_error or "")

    def broken(_name: str) -> None:
        raise TemplateError("broken template")

    monkeypatch.setattr(message._TEMPLATES, "get_template", broken)
    sender.run_once(now + timedelta(seconds=10))
    [email] = [d for d, _ in list_deliveries(engine) if d.channel == "email"]
    assert (email.status, email.attempts, email.last_error) == ("pending", 2, "broken template")
    monkeypatch.undo()
    assert sender.run_once(now + timedelta(seconds=30)) == 1
    assert len(server.received) == 1


def test_a_sender_stops_at_half_its_lease_and_claims_again(engine: Engine, setup):
    _config, server, sender = setup(settings='lease = "2s"')
    server.handler.delay = 0.4
    for version in ("0.69.4", "0.69.5", "0.69.6", "0.70.0", "0.70.1"):
        block(engine, version)
    first = sender.run_once()
    assert 0 < first < 10  # five mails and five webhooks do not fit in one second
    while sender.run_once():
        pass
    assert len(server.received) == 5
    assert len(set(server.handler.message_ids())) == 5
    assert all(d.status == "sent" for d, _ in list_deliveries(engine))
