"""`toolgate doctor` against real loopback servers: a fake GitHub with /rate_limit, an aiosmtpd
relay with STARTTLS and AUTH, a webhook receiver; all green, then each thing broken."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import sigstore

from tests.alerts.conftest import WEBHOOK_SECRET, MailServer, Tls, WebhookReceiver, alerts_toml
from tests.ops.conftest import GitHubWithRateLimit, toolgate
from verifier.alerts.webhook import sign
from verifier.config import Config
from verifier.demo.upstream import FakeGitHub
from verifier.doctor import UPGRADE_ADVICE, Status, check_clock, check_store, check_trust_root
from verifier.store.engine import create_store_engine
from verifier.store.migrate import head_revision, upgrade

GITHUB_TOKEN = "ghp_doctorTestToken0123456789abcdefABCDEF"
EMBEDDED_ROOT = (
    Path(sigstore.__file__).parent
    / "_store"
    / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    / "trusted_root.json"
)


@pytest.fixture
def github() -> Iterator[GitHubWithRateLimit]:
    fake = GitHubWithRateLimit(GITHUB_TOKEN).start()
    yield fake
    fake.stop()


def _setup(
    tmp_path: Path,
    write_config: Callable[..., Config],
    tls: Tls,
    github: FakeGitHub,
    smtp: MailServer,
    webhook: WebhookReceiver,
) -> Config:
    (tmp_path / "github-token").write_text(GITHUB_TOKEN + "\n")
    config = write_config(
        github=f'api_url = "{github.url}"\ntoken_file = "github-token"\npoll_interval = "0s"',
        # aiosmtpd answers a refused AUTH LOGIN by going silent: keep that wait short.
        extra=alerts_toml(tmp_path, tls, smtp.port, webhook_url=webhook.url).replace(
            'timeout = "20s"', 'timeout = "2s"'
        ),
    )
    assert toolgate("db", "upgrade", "-c", str(config.source_path)).returncode == 0
    cache = tmp_path / "cache" / "sigstore-python" / "tuf" / EMBEDDED_ROOT.parent.name
    cache.mkdir(parents=True)
    shutil.copy(EMBEDDED_ROOT, cache / "trusted_root.json")
    return config


def _doctor(config: Config) -> tuple[int, dict[str, dict[str, str]]]:
    """Run `toolgate doctor --format json` with the sigstore cache set up by `_setup`."""
    directory = config.source_path.parent
    done = toolgate(
        "doctor",
        "--format",
        "json",
        "-c",
        str(config.source_path),
        env={"XDG_CACHE_HOME": str(directory / "cache")},
    )
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    return done.returncode, checks


def test_doctor_all_green_then_each_failure_named(
    tmp_path: Path,
    write_config: Callable[..., Config],
    tls: Tls,
    github: GitHubWithRateLimit,
    mail_server: Callable[..., MailServer],
    webhook: WebhookReceiver,
):
    smtp = mail_server()
    config = _setup(tmp_path, write_config, tls, github, smtp, webhook)

    code, checks = _doctor(config)
    assert code == 0, checks
    assert {name: c["status"] for name, c in checks.items()} == {
        "configuration": "ok",
        "state directory": "ok",
        "store": "ok",
        "advisory feeds": "skip",  # none configured
        "running daemon": "skip",  # not started
        "secrets": "ok",
        "GitHub API": "ok",
        "clock": "ok",
        "SMTP relay": "ok",
        "webhook chatops": "ok",
        "Sigstore trust root": "ok",
    }
    assert "token accepted, 4321/5000 requests left" in checks["GitHub API"]["detail"]
    assert "STARTTLS, authenticated as toolgate" in checks["SMTP relay"]["detail"]
    assert smtp.received == []  # nothing was mailed
    (ping,) = webhook.requests  # one signed ping, no alert
    assert ping.headers["X-Toolgate-Event"] == "ping"
    assert ping.headers["X-Toolgate-Signature-256"] == sign(WEBHOOK_SECRET, ping.body)
    assert "schema" in json.loads(ping.body) and "alert" not in json.loads(ping.body)

    # Break things: a revoked token, a wrong SMTP password, a failing webhook, an old schema.
    (tmp_path / "github-token").write_text("ghp_revoked0000000000000000000000000000\n")
    (tmp_path / "smtp-password").write_text("not-the-password\n")
    webhook.statuses = [503]
    downgrade = toolgate("db", "downgrade", "--yes", "-c", str(config.source_path))
    assert downgrade.returncode == 0, downgrade.stderr
    code, checks = _doctor(config)
    assert code == 1
    assert checks["GitHub API"]["status"] == "fail"
    assert "rejected (401)" in checks["GitHub API"]["detail"]
    assert checks["clock"]["status"] == "ok"  # GitHub still answered, with its Date
    assert checks["SMTP relay"]["status"] == "fail"
    assert checks["SMTP relay"]["detail"].startswith(f"127.0.0.1:{smtp.port}: SMTP")
    assert checks["webhook chatops"] == {
        "name": "webhook chatops",
        "status": "fail",
        "detail": "answered 503 to a ping",
        "advice": "the receiver is failing: alerts will be retried, but look at it",
    }
    assert checks["store"]["status"] == "fail"
    assert checks["store"]["advice"] == UPGRADE_ADVICE


def test_doctor_names_an_invalid_configuration_and_skips_the_rest(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[server]\nlisten = "nowhere"\n')
    done = toolgate("doctor", "--format", "json", "-c", str(path))
    assert done.returncode == 1
    first, rest = json.loads(done.stdout)["checks"]
    assert first["status"] == "fail"
    assert first["detail"].startswith(f'{path}:2: server.listen: "nowhere" is not HOST:PORT')
    assert rest["status"] == "skip"
    table = toolgate("doctor", "-c", str(path))
    assert table.returncode == 1 and "✗" in table.stdout and "\u2013" in table.stdout


def test_clock_skew_is_read_from_the_date_header():
    now = datetime.now(UTC).replace(microsecond=0)  # Date has whole seconds
    for skew, status in ((timedelta(seconds=2), Status.OK), (timedelta(minutes=3), Status.FAIL)):
        response = httpx.Response(200, headers={"Date": format_datetime(now - skew, usegmt=True)})
        check = check_clock(response, now)
        assert check.status is status, check
    assert "180 s ahead of GitHub's clock" in check.detail


def test_trust_root_without_a_valid_authority_or_too_old_fails(tmp_path: Path):
    root = json.loads(EMBEDDED_ROOT.read_text())
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(root))
    now = datetime.now(UTC)
    assert check_trust_root(path, now).status is Status.OK
    assert check_trust_root(path, now + timedelta(days=200)).status is Status.FAIL  # too old
    for authority in root["certificateAuthorities"]:
        authority["validFor"]["end"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(root))
    check = check_trust_root(path, now)
    assert check.status is Status.FAIL and "0 certificate authorities valid now" in check.detail
    assert check_trust_root(tmp_path / "absent.json", now).status is Status.SKIP


def test_store_check_reads_the_schema_revision_on_both_backends(
    write_config: Callable[..., Config], store_url: str
):
    config = write_config(store_url)
    before = check_store(config)
    assert before.status is Status.FAIL
    assert before.advice == UPGRADE_ADVICE
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    engine.dispose()
    after = check_store(config)
    assert after.status is Status.OK and f"schema {head_revision()} (current)" in after.detail


def test_store_check_names_an_unreachable_database(write_config: Callable[..., Config]):
    config = write_config("postgresql+psycopg://toolgate@127.0.0.1:9/toolgate")
    check = check_store(config)
    assert check.status is Status.FAIL and "127.0.0.1:9" in check.detail
    assert "check [store] url" in check.advice
