"""`toolgate doctor`: can this installation do its job? One check per thing it depends on.

Each check says what it found and, when something is wrong, what to do. Nothing is changed:
the store is not migrated, no alert is sent (webhooks get a signed `ping` event), no file but a
probe in the state directory is written.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from advisories import feed_states
from verifier import __version__
from verifier.advisory_feeds import failing_feeds, stale_feeds
from verifier.alerts.errors import DeliveryError
from verifier.alerts.smtp import open_relay
from verifier.alerts.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from verifier.config import Config, WebhookConfig, load_config, read_secret, secret_references
from verifier.errors import ConfigError
from verifier.health import problem_lines
from verifier.sources.http import make_client
from verifier.store.engine import create_store_engine
from verifier.store.migrate import current_revision, head_revision

MAX_CLOCK_SKEW = timedelta(seconds=30)
UPGRADE_ADVICE = "run `toolgate db upgrade` (serve also does it on start)"
MAX_TRUST_ROOT_AGE = timedelta(days=180)
TIMEOUT = httpx.Timeout(10.0)
# Where sigstore-python keeps the public-good trust root it verifies with (sigstore/_internal/
# tuf.py: the user cache directory, per TUF repository URL); the unit points XDG_CACHE_HOME at
# the service's CacheDirectory=.
SIGSTORE_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"  # not configured, or could not be checked because an earlier check failed


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, what was found, what to do."""

    name: str
    status: Status
    detail: str
    advice: str = ""


def diagnose(config_path: Path) -> list[Check]:
    """Run every check against the configuration at `config_path`."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        failed = Check("configuration", Status.FAIL, str(exc), "fix the file at the line named")
        return [failed, Check("everything else", Status.SKIP, "needs a valid configuration")]
    checks = [
        Check(
            "configuration",
            Status.OK,
            f"{config_path}: {len(config.tools)} tools, {len(config.feeds)} feeds",
        ),
        check_state_dir(config),
        check_store(config),
        check_feeds(config),
        check_serving(config),
        check_secrets(config),
        *check_github(config),
        check_smtp(config),
        *check_webhooks(config),
        check_trust_root(sigstore_trust_root(), datetime.now(UTC)),
    ]
    return checks


def check_state_dir(config: Config) -> Check:
    """The state directory exists (or can be made) and takes a file."""
    directory = config.state_dir
    if not directory.exists():
        parent = next(p for p in directory.parents if p.exists())
        if _writable(parent):
            return Check("state directory", Status.OK, f"{directory} (made on first start)")
        return Check(
            "state directory",
            Status.FAIL,
            f"{directory} does not exist and {parent} is not writable",
            "create it for the service user (systemd: StateDirectory=toolgate does)",
        )
    if _writable(directory):
        return Check("state directory", Status.OK, f"{directory} is writable")
    return Check(
        "state directory",
        Status.FAIL,
        f"{directory} is not writable by this user",
        "run doctor as the service user, or fix the directory's owner",
    )


def _writable(directory: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            return True
    except OSError:
        return False


def check_store(config: Config) -> Check:
    """The store answers and its schema is at this toolgate's head revision."""
    url = make_url(config.store_url)
    label = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return Check(
            "store",
            Status.FAIL,
            f"no database at {url.database}",
            UPGRADE_ADVICE,
        )
    engine = create_store_engine(config.store_url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return Check(
            "store",
            Status.FAIL,
            f"{label}: {str(exc).splitlines()[0]}",
            "check [store] url, that the database runs and accepts this user",
        )
    finally:
        engine.dispose()
    head = head_revision()
    if current == head:
        return Check("store", Status.OK, f"{label}, schema {current} (current)")
    return Check(
        "store",
        Status.FAIL,
        f"{label}, schema {current or 'empty'}, this toolgate's is {head}",
        UPGRADE_ADVICE
        if current is None or current < (head or "")
        else "the store is newer than this toolgate: upgrade toolgate",
    )


def check_feeds(config: Config) -> Check:
    """Every configured feed's last sync attempt succeeded and none is stale (as the store
    records them, whichever replica synced)."""
    if not config.feeds:
        return Check("advisory feeds", Status.SKIP, "no [[feed]] configured")
    engine = create_store_engine(config.store_url)
    try:
        states = feed_states(engine)
    except SQLAlchemyError:
        return Check("advisory feeds", Status.SKIP, "needs a readable store")
    finally:
        engine.dispose()
    failing = failing_feeds(states, config)
    stale = [name for name in stale_feeds(states, config, datetime.now(UTC)) if name not in failing]
    if not failing and not stale:
        return Check("advisory feeds", Status.OK, f"{len(config.feeds)} feeds synced")
    found = [f"{name} failing: {error}" for name, error in sorted(failing.items())]
    found += [f"{name} stale (no successful sync within its max_age)" for name in stale]
    return Check(
        "advisory feeds",
        Status.FAIL,
        "; ".join(found),
        "fix the source named (or its [[feed]] table); `toolgate advisories sync` retries now",
    )


def check_serving(config: Config) -> Check:
    """If toolgate serves at `[server] listen`, its /readyz: ready, or what degrades it."""
    url = f"http://{config.server.listen}/readyz"
    try:
        response = httpx.get(url, timeout=TIMEOUT)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return Check("running daemon", Status.SKIP, f"nothing answers at {url}")
    if response.status_code == 200 and body.get("status") == "ready":
        return Check("running daemon", Status.OK, f"{url}: ready")
    lines = problem_lines(body) or [f"HTTP {response.status_code}, status {body.get('status')}"]
    return Check(
        "running daemon",
        Status.FAIL,
        f"{url}: {body.get('status', 'not ready')}: {'; '.join(lines)}",
        "read the daemon's log for each problem named (it logs every failure by name)",
    )


def check_secrets(config: Config) -> Check:
    """Every secret file (or systemd credential) the configuration names can be read."""
    references = secret_references(config)
    if not references:
        return Check("secrets", Status.SKIP, "the configuration names no secret files")
    problems = []
    for key, reference in references:
        try:
            if not read_secret(reference, config):
                problems.append(f"{key}: {reference} is empty")
        except ConfigError as exc:
            problems.append(f"{key}: {exc}")
    if problems:
        return Check(
            "secrets",
            Status.FAIL,
            "; ".join(problems),
            "create the files readable by the service user, or the LoadCredential= sources",
        )
    return Check("secrets", Status.OK, f"{len(references)} readable")


def check_github(config: Config) -> list[Check]:
    """The GitHub API: token accepted, requests left; and our clock against its `Date`."""
    name = "GitHub API"
    api = config.github.api_url
    uses_github = config.github.token_file or any(
        tool.source.startswith(("github:", "pypi:")) for tool in config.tools
    )
    if not uses_github:
        skipped = "no github: or pypi: tool and no token"
        return [Check(name, Status.SKIP, skipped), Check("clock", Status.SKIP, skipped)]
    try:
        with make_client(config, timeout=TIMEOUT) as client:
            response = client.get(f"{api}/rate_limit")
            received = datetime.now(UTC)
    except ConfigError as exc:
        return [
            Check(name, Status.FAIL, str(exc), "fix [github] token_file"),
            Check("clock", Status.SKIP, "GitHub not asked"),
        ]
    except httpx.HTTPError as exc:
        return [
            Check(
                name,
                Status.FAIL,
                f"cannot reach {api}: {type(exc).__name__} {exc}".strip(),
                "check outbound HTTPS (proxy, firewall, DNS) and [github] api_url",
            ),
            Check("clock", Status.SKIP, "GitHub not reachable"),
        ]
    return [_rate_limit_check(config, response), check_clock(response, received)]


def _rate_limit_check(config: Config, response: httpx.Response) -> Check:
    name = "GitHub API"
    token = bool(config.github.token_file)
    if response.status_code == 401:
        return Check(
            name,
            Status.FAIL,
            "the token was rejected (401)",
            "write a valid read-only token to [github] token_file, then reload",
        )
    try:
        core = response.json()["resources"]["core"]
        limit, remaining, reset = int(core["limit"]), int(core["remaining"]), int(core["reset"])
    except (ValueError, KeyError, TypeError):
        return Check(
            name,
            Status.FAIL,
            f"{response.request.url} answered {response.status_code} without rate limits",
            "check [github] api_url (GitHub Enterprise: https://HOST/api/v3)",
        )
    resets = datetime.fromtimestamp(reset, UTC).strftime("%H:%M:%SZ")
    who = "token accepted" if token else "no token"
    detail = f"{who}, {remaining}/{limit} requests left (resets {resets})"
    if remaining == 0:
        return Check(name, Status.FAIL, detail, "wait for the reset, or poll less often")
    advice = "" if token else "set [github] token_file: 5,000 requests an hour instead of 60"
    return Check(name, Status.OK, detail, advice)


def check_clock(response: httpx.Response, received: datetime) -> Check:
    """Our clock against the `Date` of a GitHub answer received at `received`."""
    date = response.headers.get("date")
    if not date:
        return Check("clock", Status.SKIP, "GitHub's answer had no Date header")
    skew = received - parsedate_to_datetime(date)
    seconds = skew.total_seconds()
    # `Date` has whole seconds: a second of difference is rounding, not skew.
    detail = f"{abs(seconds):.0f} s {'ahead of' if seconds > 0 else 'behind'} GitHub's clock"
    if abs(skew) <= MAX_CLOCK_SKEW:
        return Check("clock", Status.OK, detail)
    return Check(
        "clock",
        Status.FAIL,
        detail,
        "fix time sync (timedatectl, chrony): cooldowns, overrides' expiry and certificate "
        "validity all read this clock",
    )


def check_smtp(config: Config) -> Check:
    """The mail relay: connect, TLS as configured, AUTH; no message is sent."""
    smtp = config.alerts.smtp
    if smtp is None:
        return Check("SMTP relay", Status.SKIP, "no [alerts.smtp]")
    steps = {"starttls": "STARTTLS", "implicit": "TLS", "none": "no TLS (loopback)"}[smtp.tls]
    try:
        with open_relay(smtp, config):
            pass
    except DeliveryError as exc:
        return Check(
            "SMTP relay",
            Status.FAIL,
            str(exc),
            "check [alerts.smtp] host, port, tls, ca_file, username and the password file",
        )
    auth = f", authenticated as {smtp.username}" if smtp.username else ""
    return Check("SMTP relay", Status.OK, f"{smtp.host}:{smtp.effective_port}, {steps}{auth}")


def check_webhooks(config: Config) -> list[Check]:
    """Each webhook answers a signed `ping` event (never a fake alert)."""
    if not config.alerts.webhooks:
        return [Check("webhooks", Status.SKIP, "no [[alerts.webhook]]")]
    with httpx.Client(follow_redirects=False) as client:
        return [_ping(client, webhook, config) for webhook in config.alerts.webhooks]


def _ping(client: httpx.Client, webhook: WebhookConfig, config: Config) -> Check:
    name = f"webhook {webhook.label}"
    try:
        secret = read_secret(webhook.secret_file, config)
    except ConfigError as exc:
        return Check(name, Status.FAIL, str(exc), "fix secret_file")
    body = json.dumps(
        {"schema": "toolgate.ping/v1", "sent_at": datetime.now(UTC).isoformat()}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"toolgate/{__version__}",
        SIGNATURE_HEADER: sign(secret, body),
        DELIVERY_HEADER: f"ping-{time.time_ns()}",
        "X-Toolgate-Event": "ping",
    }
    try:
        response = client.post(
            webhook.url, content=body, headers=headers, timeout=webhook.timeout.total_seconds()
        )
    except httpx.HTTPError as exc:  # the URL may hold a token: name the endpoint by its label
        return Check(name, Status.FAIL, f"unreachable: {type(exc).__name__}", "check url")
    status = response.status_code
    if response.is_redirect or status in (401, 403, 404) or status >= 500:
        advice = {
            401: "the receiver refused the signature: compare the secrets",
            403: "the receiver refused the signature: compare the secrets",
            404: "the receiver has no such path: check url",
        }.get(status, "configure the final URL (redirects are not followed)")
        if status >= 500:
            advice = "the receiver is failing: alerts will be retried, but look at it"
        return Check(name, Status.FAIL, f"answered {status} to a ping", advice)
    # Some receivers answer 4xx to an event they do not handle; reachable is what counts here.
    return Check(name, Status.OK, f"reachable, answered {status} to a signed ping")


def sigstore_trust_root() -> Path:
    """The public-good trust root file sigstore-python verifies with."""
    cache = Path(platformdirs.user_cache_dir("sigstore-python", "sigstore"))
    return cache / "tuf" / quote(SIGSTORE_TUF_URL, safe="") / "trusted_root.json"


def check_trust_root(path: Path, now: datetime) -> Check:
    """The Sigstore trust root: present, not too old, with a certificate authority valid now."""
    name = "Sigstore trust root"
    if not path.exists():
        return Check(
            name,
            Status.SKIP,
            f"not cached yet at {path}",
            "written from the copy inside sigstore at the first verification",
        )
    age = now - datetime.fromtimestamp(path.stat().st_mtime, UTC)
    try:
        root = json.loads(path.read_bytes())
        valid = [ca for ca in root.get("certificateAuthorities", []) if _valid_at(ca, now)]
    except (ValueError, AttributeError, TypeError) as exc:
        return Check(name, Status.FAIL, f"{path} is unreadable: {exc}", "delete it")
    detail = f"{path}, {age.days} days old, {len(valid)} certificate authorities valid now"
    if not valid:
        return Check(name, Status.FAIL, detail, "delete it and upgrade toolgate (sigstore)")
    if age > MAX_TRUST_ROOT_AGE:
        return Check(
            name,
            Status.FAIL,
            detail,
            "delete it so the newer copy in the installed sigstore is used, or upgrade toolgate",
        )
    return Check(name, Status.OK, detail)


def _valid_at(entry: dict[str, Any], now: datetime) -> bool:
    period = entry.get("validFor", {})
    start, end = period.get("start"), period.get("end")
    return (start is None or _instant(start) <= now) and (end is None or now < _instant(end))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
