"""The weekly inventory mail: through a real SMTP server on loopback, once per week and
recipient, across restarts and two replicas sharing the store; retried after a failure."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.alerts.conftest import (  # noqa: F401 (fixtures)
    RECIPIENT,
    MailServer,
    Tls,
    alerts_toml,
    mail_server,
    tls,
)
from verifier.cli import app
from verifier.config import Config, ReportsConfig
from verifier.errors import ConfigError
from verifier.inventory import sync_tools
from verifier.reports.schedule import due_week, send_weekly_report
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade

SCHEDULED = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 00:00 of ISO week 2026-W48
OTHER = "platform@example.org"


@pytest.fixture
def weekly(write_config, tmp_path: Path, tls: Tls, mail_server, store_url: str):  # noqa: F811
    """A store and a configuration mailing the weekly report to RECIPIENT and OTHER (due from
    Monday 00:00 UTC: always, for the CLI test on the wall clock)."""
    server: MailServer = mail_server()
    reports = f'\n[reports]\nweekly = "Mon 00:00"\nto = ["{RECIPIENT}", "Ops <{OTHER}>"]\n'
    config: Config = write_config(
        store_url, extra=alerts_toml(tmp_path, tls, server.port) + reports
    )
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    sync_tools(engine, config)
    yield config, engine, server
    engine.dispose()


def test_due_from_the_scheduled_moment_to_the_end_of_its_week(weekly) -> None:
    config, _engine, _server = weekly
    wednesday = config.model_copy(update={"reports": ReportsConfig(weekly="wed 12:30")})
    moment = SCHEDULED + timedelta(days=2, hours=12, minutes=30)
    assert due_week(wednesday, moment - timedelta(seconds=1)) is None
    assert due_week(wednesday, moment) == "2026-W48"
    assert due_week(wednesday, SCHEDULED + timedelta(days=6, hours=23)) == "2026-W48"
    assert due_week(wednesday, SCHEDULED + timedelta(days=7)) is None
    assert due_week(config, SCHEDULED - timedelta(seconds=1)) == "2026-W47"
    assert due_week(config.model_copy(update={"reports": ReportsConfig()}), moment) is None


def test_sent_once_per_week_and_recipient_with_the_inventory(weekly) -> None:
    config, engine, server = weekly
    outcome = send_weekly_report(engine, config, SCHEDULED + timedelta(minutes=1))
    assert (outcome.week, len(outcome.sent), outcome.unsent) == ("2026-W48", 2, ())
    assert sorted(r.envelope_to[0] for r in server.received) == [OTHER, RECIPIENT]
    message = server.received[0].message
    assert message["Subject"] == "toolgate weekly inventory report 2026-W48"
    assert message["Auto-Submitted"] == "auto-generated"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<h1>toolgate inventory</h1>" in html and "| trivy |" not in html
    assert "# toolgate inventory" in text and "aquasecurity/trivy-action" in text
    # a restart later in the week (a new holder) sends nothing more
    again = send_weekly_report(engine, config, SCHEDULED + timedelta(days=2), holder="restarted")
    assert again.sent == () and len(server.received) == 2
    # next week: again, under another Message-ID
    assert len(send_weekly_report(engine, config, SCHEDULED + timedelta(days=7)).sent) == 2
    ids = {r.message["Message-ID"] for r in server.received}
    assert len(ids) == 2  # one per week: both recipients of a week share the report's id


def test_two_replicas_send_each_recipient_one_mail(weekly) -> None:
    config, engine, server = weekly
    barrier = threading.Barrier(2)
    outcomes = []

    def replica(name: str) -> None:
        barrier.wait()
        outcomes.append(send_weekly_report(engine, config, SCHEDULED, holder=name))

    threads = [threading.Thread(target=replica, args=(f"replica-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r for outcome in outcomes for r in outcome.sent) == sorted(
        [RECIPIENT, f"Ops <{OTHER}>"]
    )
    assert sorted(r.envelope_to[0] for r in server.received) == [OTHER, RECIPIENT]


def test_a_failed_send_is_retried_at_the_next_check(weekly) -> None:
    config, engine, server = weekly
    server.handler.fail_next = 1
    first = send_weekly_report(engine, config, SCHEDULED)
    assert first.unsent and "451" in (first.error or "")
    second = send_weekly_report(engine, config, SCHEDULED + timedelta(minutes=1))
    assert sorted(first.sent + second.sent) == sorted([RECIPIENT, f"Ops <{OTHER}>"])
    assert sorted(r.envelope_to[0] for r in server.received) == [OTHER, RECIPIENT]


def test_cli_sends_the_due_report_and_says_when_there_is_nothing(weekly) -> None:
    config, _engine, server = weekly
    args = ["report", "inventory", "--send-weekly", "--config", str(config.source_path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert len(server.received) == 2 and "sent to" in first.output
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "nothing to send" in second.output
    assert len(server.received) == 2


def test_cli_without_a_weekly_schedule_names_the_key_as_written(write_config) -> None:
    config = write_config()
    args = ["report", "inventory", "--send-weekly", "--config", str(config.source_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "[reports] weekly is not set" in result.output and "\\" not in result.output


@pytest.mark.parametrize(
    ("reports", "message"),
    [
        ('weekly = "someday 7am"', "reports.weekly"),
        ('weekly = "mon 07:00"\nto = ["not an address"]', "reports.to"),
    ],
)
def test_bad_reports_settings_name_the_key(write_config, reports: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        write_config(extra=f"\n[reports]\n{reports}\n")


def test_weekly_without_a_relay_is_a_configuration_error(write_config) -> None:
    with pytest.raises(ConfigError, match=r"needs \[alerts.smtp\]"):
        write_config(extra='\n[reports]\nweekly = "mon 07:00"\n')
