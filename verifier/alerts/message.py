"""What an alert says: subject lines, mail bodies (Jinja2, text + HTML), the webhook payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined

from verifier.alerts.claims import NOTICE, RESOLVED, Claim
from verifier.config import bare_address
from verifier.exposure import Exposure
from verifier.store.models import AlertRow

SCHEMA = "toolgate.alert/v1"
MAX_LISTED = 50  # exposed jobs listed in a mail; the webhook payload carries them all
_SUMMARY_LIMIT = 160
_FEED_KINDS = ("feed-stale", "feed-failing")  # incidents about an advisory feed, not a tool
_SMTP_LINES = compat32.clone(linesep="\r\n")  # smtplib sends bytes as they are: CRLF here

_TEMPLATES = Environment(
    loader=PackageLoader("verifier", "templates"),
    autoescape=lambda name: bool(name and name.endswith(".html.j2")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _one_line(text: str, limit: int = _SUMMARY_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as its readers see it: what is now answered, about what, and who is exposed.

    Built from a `Claim` re-checked just before sending: `action` is what runners are answered
    now (`deny`, `warn`), `notice` for an incident about toolgate itself, or `resolved` for a
    note that an earlier alert's claim no longer holds (`resolution` says why). The subject,
    the body and the webhook payload all read `action` from here, so they cannot disagree.
    """

    key: str
    action: str
    kind: str
    tool: str
    version: str | None
    severity: str
    summary: str
    detail: dict[str, Any]
    created_at: datetime
    exposure: Exposure
    resolution: str | None = None

    @classmethod
    def of(cls, alert: AlertRow, claim: Claim) -> AlertView:
        """The alert as `claim` (its re-check) allows it to be told."""
        return cls(
            key=alert.dedupe_key,
            action=claim.action if claim.holds else RESOLVED,
            kind=alert.kind,
            tool=alert.tool,
            version=alert.version,
            severity=alert.severity,
            summary=alert.summary,
            detail=orjson.loads(alert.detail_json),
            created_at=alert.created_at,
            exposure=claim.exposure,
            resolution=None if claim.holds else claim.why_not,
        )

    @property
    def answered(self) -> bool:
        """Whether the alert states what runners are answered (not a notice or resolution)."""
        return self.action not in (NOTICE, RESOLVED)

    @property
    def target(self) -> str:
        """`trivy 0.69.4`, or the digest / commit / whole tool the incident names."""
        if self.kind in _FEED_KINDS:
            return "advisory feed " + str(self.detail.get("feed", "?"))
        if self.version:
            return f"{self.tool} {self.version}"
        if digest := self.exposure.sha256 or self.exposure.commit:
            return f"{self.tool} {digest[:12]}"
        return f"{self.tool} (every version)"

    @property
    def headline(self) -> str:
        """The summary on one line, without repeating the tool and version it starts with."""
        summary = " ".join(self.summary.split())
        if self.version and summary.startswith(f"{self.tool} {self.version}"):
            rest = summary[len(self.tool) + len(self.version) + 1 :].lstrip(": ")
            summary = rest or summary
        return _one_line(summary)

    @property
    def subject(self) -> str:
        """`DENY trivy 0.69.4 — signature from unexpected commit — 3 runners fetched it`;
        `RESOLVED trivy 0.69.4 — … — now answered allow (…)`; `NOTICE advisory feed osv — …`."""
        if self.resolution is not None:
            return f"{self.action.upper()} {self.target} — {self.headline} — {self.resolution}"
        if self.action == NOTICE:
            return f"{self.action.upper()} {self.target} — {self.headline}"
        return f"{self.action.upper()} {self.target} — {self.headline} — {self.exposure.describe()}"

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The incident's detail as (name, text) pairs; structured values as compact JSON.

        An advisory's own `action` is left out: what runners are answered is `action`, stated
        once (other reasons may deny a version an advisory alone would only warn about)."""
        return [
            (name, value if isinstance(value, str) else orjson.dumps(value).decode())
            for name, value in sorted(self.detail.items())
            if value is not None and name != "action"
        ]

    @property
    def exposure_command(self) -> str:
        return f"toolgate exposure {self.tool} {self.version}" if self.version else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "action": self.action,
            "kind": self.kind,
            "tool": self.tool,
            "version": self.version,
            "severity": self.severity,
            "summary": self.summary,
            "detail": self.detail,
            "created_at": self.created_at.isoformat(),
            "resolution": self.resolution,
            "exposure": self.exposure.to_dict(),
        }


def digest_subject(views: list[AlertView]) -> str:
    """`toolgate digest: 3 alerts — WARN cosign 2.2.0, … — 2 runners fetched them`."""
    if len(views) == 1:
        return views[0].subject
    named = ", ".join(f"{v.action.upper()} {v.target}" for v in views[:3])
    more = f" and {len(views) - 3} more" if len(views) > 3 else ""
    runners = len({(r.token_name, r.runner) for v in views for r in v.exposure.runners})
    fetched = f"{runners} runner{'s' if runners != 1 else ''} fetched them"
    return f"toolgate digest: {len(views)} alerts — {named}{more} — {fetched}"


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same every time this alert (or digest) is sent."""
    domain = bare_address(sender).rpartition("@")[2] or "toolgate.invalid"
    return f"<{key[:40]}.toolgate@{domain}>"


def build_email(
    views: list[AlertView], *, key: str, sender: str, recipient: str, now: datetime
) -> bytes:
    """One mail (text + HTML) about one alert, or a digest of several, for one recipient.

    Built with the compat32 MIME classes: as correct as `EmailMessage` for what we write and
    several times faster, which matters when a backlog drains.
    """
    context = {"alerts": views, "digest": len(views) > 1, "max_listed": MAX_LISTED}
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(digest_subject(views), "utf-8")
    message["From"] = formataddr(parseaddr(sender), charset="utf-8")
    message["To"] = formataddr(parseaddr(recipient), charset="utf-8")
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(key, sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Toolgate-Alert"] = key
    if len(views) == 1:  # what the mail claims, for filters (and tests) to check mechanically
        message["X-Toolgate-Action"] = views[0].action
        message["X-Toolgate-Tool"] = views[0].tool
        if views[0].version:
            message["X-Toolgate-Version"] = views[0].version
        if sha256 := views[0].detail.get("sha256"):  # the claim is about these bytes only
            message["X-Toolgate-Sha256"] = sha256
    for template, subtype in (("alert_mail.txt.j2", "plain"), ("alert_mail.html.j2", "html")):
        body = _TEMPLATES.get_template(template).render(context)
        message.attach(MIMEText(body, subtype, "utf-8"))
    return message.as_bytes(policy=_SMTP_LINES)


def _chat_text(view: AlertView) -> str:
    if not view.answered:
        return f"*{view.subject}*"
    runners = "\n".join(
        f"• {r.token_name} / {r.runner or '?'} — {r.job or 'no job URL'}"
        f"{' (genuine build)' if r.genuine else ''}"
        for r in view.exposure.runners[:10]
    )
    return "\n".join(filter(None, [f"*{view.subject}*", runners, view.exposure.advice[0]]))


def webhook_payload(view: AlertView, delivery_id: str) -> bytes:
    """The JSON body of a webhook (schema `toolgate.alert/v1`); `text` suits Slack-style hooks."""
    return orjson.dumps(
        {
            "schema": SCHEMA,
            "delivery_id": delivery_id,
            "subject": view.subject,
            "text": _chat_text(view),
            "alert": view.to_dict(),
        }
    )
