"""Every alert is re-checked against the current decision just before it is sent: an alert whose
claim no longer holds is dropped (nobody heard it) or sent as a resolution note (someone did);
the subject, the action and the body come from that one check."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from tests.alerts.conftest import add_fetches
from tests.alerts.test_delivery import RUNNERS, record
from verifier.advisory_feeds import record_feed_incidents
from verifier.alerts.outbox import list_deliveries
from verifier.cli import app
from verifier.exposure import find_exposure
from verifier.incidents import IncidentKind, Severity, record_incident
from verifier.inventory import add_override
from verifier.store.models import DecisionLogRow

GENUINE = "a" * 64
TAMPERED = "b" * 64


def approve(engine: Engine, version: str = "0.69.4") -> None:
    add_override(
        engine, kind="approve", tool="trivy", actor="cli:bob", reason="vetted", version=version
    )


def statuses(engine: Engine) -> list[tuple[str, str, str]]:
    return [(d.status, d.action, d.last_error or "") for d, _ in list_deliveries(engine)]


def test_an_alert_whose_version_is_allowed_by_send_time_is_dropped(engine: Engine, setup):
    config, server, sender = setup(webhook_url=None)
    add_fetches(engine, "trivy", "0.69.4", RUNNERS[:1])
    record(engine)  # denied: no such release is known
    approve(engine)  # …and allowed before the sender's pass

    assert sender.run_once() == 0
    assert server.received == []
    ((status, action, why),) = statuses(engine)
    assert status == "dropped" and action == "allow"
    assert "trivy 0.69.4 is now answered allow" in why
    listing = CliRunner().invoke(
        app, ["alerts", "list", "--config", str(config.source_path)], terminal_width=200
    )
    assert listing.exit_code == 0 and "dropped" in listing.stdout


def test_a_claim_heard_earlier_is_followed_by_one_resolution_note(engine: Engine, setup):
    _config, server, sender = setup(webhook_url=None)
    add_fetches(engine, "trivy", "0.69.4", RUNNERS[:1])
    record(engine)
    assert sender.run_once() == 1
    assert str(server.received[0].message["Subject"]).startswith("DENY trivy 0.69.4")
    ((sent, _alert),) = list_deliveries(engine)
    assert (sent.status, sent.attempts) == ("sent", 1)  # `alerts list` says 1 try, not 0

    record(engine, Severity.HIGH)  # news about the same incident…
    record(engine, Severity.MEDIUM)  # …twice, both due after the version became allowed
    approve(engine)
    assert sender.run_once() == 1
    note = server.received[1].message
    assert str(note["Subject"]).startswith("RESOLVED trivy 0.69.4 — ")
    assert "now answered allow" in str(note["Subject"])
    assert note["X-Toolgate-Action"] == "resolved"
    text = note.get_body(preferencelist=("plain",)).get_content()
    assert "Rotate every credential" not in text and "answered: deny" not in text
    assert [s for s, _, _ in statuses(engine)].count("dropped") == 1
    assert sender.run_once() == 0


def test_subject_action_and_body_come_from_the_current_decision(engine: Engine, setup):
    _config, server, sender = setup(webhook_url=None)
    with Session(engine) as session:  # an advisory that would only warn, on a denied version
        record_incident(
            session,
            kind=IncidentKind.ADVISORY,
            tool="trivy",
            version="0.69.8",
            severity=Severity.LOW,
            summary="GHSA-xxxx affects trivy 0.69.8: a low one",
            detail={"action": "warn", "aliases": []},
            dedupe_key="advisory:GHSA-xxxx:trivy:0.69.8",
        )
        session.commit()
    sender.run_once()
    (mail,) = server.received
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert str(mail.message["Subject"]).startswith("DENY trivy 0.69.8")
    assert mail.message["X-Toolgate-Action"] == "deny"
    assert "now answered: deny" in text
    assert "action: warn" not in text


def test_a_stale_feed_is_a_notice_not_a_deny_of_every_version(engine: Engine, setup):
    feed = '\n[[feed]]\nname = "osv"\ntype = "osv"\nurl = "http://127.0.0.1:9/osv"\n'
    config, server, sender = setup(webhook_url=None, route=feed)
    record_feed_incidents(engine, config, ["osv"], {})
    sender.run_once()
    (mail,) = server.received
    subject = str(mail.message["Subject"])
    assert subject.startswith("NOTICE advisory feed osv — "), subject
    assert "DENY" not in subject and "every version" not in subject
    assert mail.message["X-Toolgate-Action"] == "notice"


def test_a_failing_feed_is_a_notice_naming_the_feed_and_its_error(engine: Engine, setup):
    feed = '\n[[feed]]\nname = "osv"\ntype = "osv"\nurl = "http://127.0.0.1:9/osv"\n'
    config, server, sender = setup(webhook_url=None, route=feed)
    record_feed_incidents(engine, config, [], {"osv": "all.zip: corrupt deflate data"})
    sender.run_once()
    (mail,) = server.received
    subject = str(mail.message["Subject"])
    assert subject.startswith("NOTICE advisory feed osv — "), subject
    assert "corrupt deflate data" in subject
    assert "DENY" not in subject and "every version" not in subject
    assert mail.message["X-Toolgate-Action"] == "notice"


def test_exposure_names_builds_and_advises_rotation_only_for_unverified_fetches(
    engine: Engine, setup
):
    _config, _server, _sender = setup(webhook_url=None)
    at = datetime(2026, 3, 19, 18, 0, tzinfo=UTC)
    with Session(engine) as session:
        for runner, digest, decision in (
            ("runner-a", GENUINE, "allow"),
            ("runner-b", TAMPERED, "deny"),
        ):
            session.add(
                DecisionLogRow(
                    at=at,
                    token_name="ci",
                    runner=runner,
                    job=f"job/{runner}",
                    tool="trivy",
                    version="0.69.4",
                    sha256=digest,
                    decision=decision,
                    reasons_json="[]",
                    revision=1,
                )
            )
        session.commit()
        exposure = find_exposure(session, "trivy", "0.69.4")
    ((runner,),) = [[r.runner for r in exposure.runners]]
    assert runner == "runner-a"
    (fetch,) = exposure.runners
    assert (fetch.version, fetch.sha256) == ("0.69.4", GENUINE)
    judged = exposure.judged(lambda _v, sha: "allow" if sha == GENUINE else "deny", False)
    assert judged.at_risk == () and "genuine build" in judged.describe()
    assert "Rotate" not in " ".join(judged.advice) and "No credential rotation" in judged.advice[0]
    blind = exposure.judged(lambda _v, _sha: "deny", False)
    assert blind.at_risk_count == 1 and blind.advice[0].startswith("Rotate every credential")
