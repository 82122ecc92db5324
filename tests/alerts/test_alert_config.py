"""`[alerts]` configuration: the issue's example loads; bad recipients and secrets fail at load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from verifier.alerts.routing import digest_window_end, plan_targets
from verifier.errors import ConfigError

EXAMPLE = """
[alerts.smtp]
host = "smtp.example.org"
port = 587
tls = "starttls"
username = "toolgate"
password_file = "/run/credentials/toolgate.service/smtp-password"
from = "toolgate <toolgate@example.org>"

[[alerts.route]]
to = ["secops@example.org"]
tools = ["*"]
min_severity = "low"
digest = "0s"

[[alerts.route]]
to = ["Trivy owners <trivy-owners@example.org>", "secops@example.org"]
tools = ["trivy", "aquasecurity/*"]
min_severity = "high"

[[alerts.webhook]]
url = "https://hooks.example.org/toolgate"
secret_file = "/run/credentials/toolgate.service/webhook-secret"
min_severity = "high"
"""


def test_the_documented_example_loads_and_routes(write_config):
    config = write_config(extra=EXAMPLE)
    alerts = config.alerts
    assert alerts.smtp is not None and alerts.smtp.effective_port == 587
    assert alerts.webhooks[0].label == "hooks.example.org"
    high = plan_targets(alerts, "trivy", "critical", "deny")
    assert [(t.channel, t.name) for t in high] == [
        ("email", "secops@example.org"),
        ("email", "Trivy owners <trivy-owners@example.org>"),
        ("webhook", "hooks.example.org"),
    ]
    low = plan_targets(alerts, "cosign", "low", "warn")
    assert [(t.channel, t.name, t.digest) for t in low] == [
        ("email", "secops@example.org", timedelta(0))
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[alerts.smtp]\nhost = "h"\nfrom = "a@example.org"\n'
            '[[alerts.route]]\nto = ["secops@@example.org"]\n',
            'alerts.route[0].to[0]: "secops@@example.org" is not an email address',
        ),
        (
            '[alerts.smtp]\nhost = "h"\nfrom = "a@example.org"\npassword = "hunter2"\n',
            "secrets must not be written in the configuration",
        ),
        (
            '[[alerts.webhook]]\nurl = "https://h/x"\nsecret = "s"\nsecret_file = "f"\n',
            "set secret_file instead",
        ),
        (
            '[alerts.smtp]\nhost = "smtp.example.org"\ntls = "none"\nfrom = "a@example.org"\n',
            'tls = "none" is only allowed for a loopback relay',
        ),
        ('[[alerts.route]]\nto = ["a@example.org"]\n', "needs [alerts.smtp]"),
        (
            '[alerts.smtp]\nhost = "h"\nfrom = "a@example.org"\nusername = "u"\n',
            "username needs password_file",
        ),
    ],
)
def test_bad_alert_configuration_is_refused_at_load(write_config, extra: str, message: str):
    with pytest.raises(ConfigError) as caught:
        write_config(extra=extra)
    assert message in str(caught.value)
    assert "config.toml:" in str(caught.value)


def test_digest_windows_are_aligned_so_replicas_agree():
    moment = datetime(2026, 3, 19, 18, 22, 5, tzinfo=UTC)
    assert digest_window_end(moment, timedelta(hours=1)) == datetime(2026, 3, 19, 19, tzinfo=UTC)
    on_edge = datetime(2026, 3, 19, 19, tzinfo=UTC)
    assert digest_window_end(on_edge, timedelta(hours=1)) == datetime(2026, 3, 19, 20, tzinfo=UTC)
