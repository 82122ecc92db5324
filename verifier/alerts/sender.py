"""The sender loop: route new alerts, notice new exposure, deliver what is due, retry the rest.

Each pass runs on a worker thread. A delivery is marked sent right after the relay or webhook
accepted it, so a crash can at worst send one message twice, under the same Message-ID or
delivery id. On shutdown the message in flight finishes and unattempted leases are given back.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from jinja2 import TemplateError
from sqlalchemy import Engine

from verifier.alerts.claims import RESOLVED, check_claim
from verifier.alerts.errors import DeliveryError
from verifier.alerts.message import AlertView, build_email, webhook_payload
from verifier.alerts.outbox import (
    Claimed,
    claim,
    count_by_status,
    enqueue_new_exposure,
    mark_failed,
    mark_sent,
    release,
    route_alerts,
    sent_history,
    settle_claims,
)
from verifier.alerts.routing import Target, plan_targets
from verifier.alerts.smtp import open_relay
from verifier.alerts.webhook import deliver
from verifier.config import Config
from verifier.store.models import AlertRow
from verifier.store.revision import read_revision

if TYPE_CHECKING:
    from verifier.snapshot import Snapshot

log = logging.getLogger(__name__)

BATCH = 100


class AlertSender:
    """Delivers the outbox of one store; several senders (replicas) may share it.

    Every delivery is re-checked against the current policy just before it is sent (see
    `verifier.alerts.claims`): `snapshot()` gives the snapshot to check with (the daemon passes
    its own, refreshed); without one the sender builds its own when the store revision moves.
    """

    def __init__(
        self, config: Config, engine: Engine, snapshot: Callable[[], Snapshot] | None = None
    ) -> None:
        self.config = config
        self.engine = engine
        self._snapshot_source = snapshot or self._own_snapshot
        self._own: tuple[tuple[int, int], Snapshot] | None = None
        self.dropped = 0
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sent = 0
        self.failed = 0
        self.backlog: dict[str, int] = {}  # deliveries by status, as of the last pass
        self.store_error: str | None = None
        self._claims = itertools.count(1)
        self._stopping = threading.Event()
        self._next_exposure_check = 0.0

    def _own_snapshot(self) -> Snapshot:
        """A snapshot of the store as it is now, rebuilt only when a revision moved."""
        from verifier.advisory_feeds import load_weigher  # heavy: only senders without a daemon
        from verifier.snapshot import build_snapshot

        with self.engine.connect() as connection:
            revisions = (read_revision(connection), read_revision(connection, "advisories"))
        if self._own is None or self._own[0] != revisions:
            weigher = load_weigher(self.engine, self.config)
            self._own = (revisions, build_snapshot(self.engine, self.config, weigher))
        return self._own[1]

    def planner(self) -> Callable[[AlertRow], tuple[str, list[Target]]]:
        """`plan` for `route_alerts`, against one snapshot taken when the first alert needs it."""
        taken: list[Snapshot] = []

        def plan(alert: AlertRow) -> tuple[str, list[Target]]:
            if not taken:
                taken.append(self._snapshot_source())
            return self.plan(alert, taken[0])

        return plan

    def plan(self, alert: AlertRow, snapshot: Snapshot) -> tuple[str, list[Target]]:
        """What runners are told about the alert's subject now, and who hears of it."""
        claim = check_claim(snapshot, alert)
        # Only warnings wait for a digest window: a notice (about toolgate itself) goes as
        # denials do, and a claim that no longer holds at once (its re-check drops it or sends
        # a note).
        timing = "warn" if claim.holds and claim.action == "warn" else "deny"
        targets = plan_targets(self.config.alerts, alert.tool, alert.severity, timing)
        if not targets:
            log.warning(
                "alert %s on %s (%s) matches no [[alerts.route]] or [[alerts.webhook]]: it is "
                "kept in the store but sent to nobody",
                alert.dedupe_key[:16],
                alert.tool,
                alert.severity,
            )
        return claim.action, targets

    def run_once(self, now: datetime | None = None) -> int:
        """One pass: new exposure (when due), routing, then every due delivery. Returns sends."""
        now = now or datetime.now(UTC)
        if time.monotonic() >= self._next_exposure_check:
            enqueue_new_exposure(self.engine)
            interval = self.config.alerts.exposure_check.total_seconds()
            self._next_exposure_check = time.monotonic() + interval
        route_alerts(self.engine, self.planner(), now)
        sent = 0
        lease = self.config.alerts.lease
        while not self._stopping.is_set():
            token = f"{self.owner}:{next(self._claims)}"
            claimed_at = max(now, datetime.now(UTC))  # `now` may be in the future in tests
            claimed = claim(self.engine, token, claimed_at, lease, BATCH)
            # Stop sending at half the lease, so no message goes out after another sender
            # could have taken the claim over; what is left is released and claimed again.
            deadline = time.monotonic() + lease.total_seconds() / 2
            try:
                sent += self._deliver(token, claimed, claimed_at, deadline)
            finally:
                release(self.engine, token)
            if len(claimed) < BATCH:
                break
        self.backlog = count_by_status(self.engine)
        return sent

    def stop(self) -> None:
        """Finish the message in flight, then stop claiming."""
        self._stopping.set()

    async def run(self) -> None:
        """Deliver every `[alerts] poll_interval` until cancelled (then stop cleanly)."""
        interval = self.config.alerts.poll_interval.total_seconds()
        while True:
            work = asyncio.ensure_future(asyncio.to_thread(self._guarded_pass))
            try:
                await asyncio.shield(work)
            except asyncio.CancelledError:
                self.stop()
                await asyncio.wait([work])
                raise
            await asyncio.sleep(interval)

    def _guarded_pass(self) -> None:
        try:
            self.run_once()
        except Exception as exc:  # the loop must outlive a store outage or a bug in one pass
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if message != self.store_error:
                log.exception("alert pass failed, retrying next pass: %s", message)
            self.store_error = message
        else:
            self.store_error = None

    def _halt(self, deadline: float) -> bool:
        return self._stopping.is_set() or time.monotonic() >= deadline

    def _recheck(self, token: str, claimed: list[Claimed]) -> dict[int, AlertView]:
        """Each claimed delivery as its claim allows it to be told now: the current action, a
        resolution note to a recipient who heard the claim, or nothing (dropped, recorded)."""
        snapshot = self._snapshot_source()
        resolved, last_sent = sent_history(self.engine, {c.alert.incident_id for c in claimed})
        views: dict[int, AlertView] = {}
        dropped: dict[int, str] = {}
        for item in claimed:
            incident = item.alert.incident_id
            claim = check_claim(snapshot, item.alert, resolved=incident in resolved)
            where = (incident, item.delivery.channel, item.delivery.target)
            heard = last_sent.get(where) not in (None, RESOLVED)
            if claim.holds or heard:
                views[_id(item)] = AlertView.of(item.alert, claim)
                if not claim.holds:
                    last_sent[where] = RESOLVED  # one resolution note per recipient
            else:
                dropped[_id(item)] = claim.why_not or "its claim no longer holds"
                log.info("alert delivery %d not sent: %s", _id(item), dropped[_id(item)])
        changed = {
            _id(item): views[_id(item)].action
            for item in claimed
            if _id(item) in views and views[_id(item)].action != item.delivery.action
        }
        if changed or dropped:
            settle_claims(self.engine, token, changed, dropped)
        self.dropped += len(dropped)
        return views

    def _deliver(self, token: str, claimed: list[Claimed], now: datetime, deadline: float) -> int:
        views = self._recheck(token, claimed) if claimed else {}
        claimed = [item for item in claimed if _id(item) in views]
        groups: dict[str, list[Claimed]] = {}
        for item in claimed:
            if item.delivery.channel == "email":
                key = item.delivery.digest_key or item.delivery.dedupe_key
                groups.setdefault(key, []).append(item)
        sent = 0
        if groups:
            sent = self._send_emails(token, list(groups.values()), views, now, deadline)
        webhooks = [item for item in claimed if item.delivery.channel == "webhook"]
        if webhooks:
            with httpx.Client(follow_redirects=False) as client:
                for item in webhooks:
                    if self._halt(deadline):
                        break
                    send = self._webhook_send(client, item, views[_id(item)])
                    sent += self._attempt(token, [item], now, send)
        return sent

    def _send_emails(
        self,
        token: str,
        groups: list[list[Claimed]],
        views: dict[int, AlertView],
        now: datetime,
        deadline: float,
    ) -> int:
        smtp = self.config.alerts.smtp
        sent, attempted = 0, 0
        try:
            if smtp is None:
                raise DeliveryError("no [alerts.smtp] is configured to send mail through")
            with open_relay(smtp, self.config) as relay:
                for group in groups:
                    if self._halt(deadline):
                        break
                    attempted += 1
                    recipient = group[0].delivery.target
                    message = self._email_builder(group, views, smtp.sender)
                    sent += self._attempt(
                        token, group, now, lambda m=message, r=recipient: relay.send(m(), r)
                    )
        except DeliveryError as exc:  # the relay could not be reached or refused us
            for group in groups[attempted:]:
                self._failed(token, group, str(exc), now)
        return sent

    def _email_builder(
        self, group: list[Claimed], by_id: dict[int, AlertView], sender: str
    ) -> Callable[[], bytes]:
        views = [by_id[_id(item)] for item in group]
        if len(group) == 1:
            key = group[0].alert.dedupe_key
        else:
            material = "\n".join(sorted(item.delivery.dedupe_key for item in group))
            key = hashlib.sha256(material.encode()).hexdigest()
        recipient = group[0].delivery.target
        return lambda: build_email(
            views, key=key, sender=sender, recipient=recipient, now=datetime.now(UTC)
        )

    def _webhook_send(
        self, client: httpx.Client, item: Claimed, view: AlertView
    ) -> Callable[[], None]:
        def send() -> None:
            webhook = next(
                (w for w in self.config.alerts.webhooks if w.label == item.delivery.target), None
            )
            if webhook is None:
                raise DeliveryError(f"webhook {item.delivery.target} is no longer configured")
            body = webhook_payload(view, item.delivery.dedupe_key)
            deliver(client, webhook, self.config, body, item.delivery.dedupe_key)

        return send

    def _attempt(
        self, token: str, group: list[Claimed], now: datetime, send: Callable[[], object]
    ) -> int:
        try:
            send()
        except (DeliveryError, TemplateError) as exc:
            self._failed(token, group, str(exc), now)
            return 0
        mark_sent(self.engine, token, [_id(item) for item in group], datetime.now(UTC))
        self.sent += 1
        return 1

    def _failed(self, token: str, group: list[Claimed], error: str, now: datetime) -> None:
        alerts = self.config.alerts
        attempts = max(item.delivery.attempts for item in group) + 1
        backoff = min(alerts.retry_max, alerts.retry_base * 2 ** (attempts - 1))
        delay = backoff * random.uniform(0.5, 1.0)  # jitter: replicas do not retry in step
        ids = [_id(item) for item in group]
        dead = mark_failed(self.engine, token, ids, error, now + delay, alerts.max_attempts)
        self.failed += 1
        target = f"{group[0].delivery.channel} {group[0].delivery.target}"
        if dead:
            log.error(
                "alert deliveries %s to %s are dead after %d attempts: %s "
                "(`toolgate alerts resend ID` queues one again)",
                dead,
                target,
                attempts,
                error,
            )
        else:
            log.warning(
                "alert deliveries %s to %s failed (attempt %d of %d, next in %s): %s",
                ids,
                target,
                attempts,
                alerts.max_attempts,
                _seconds(delay),
                error,
            )


def _id(item: Claimed) -> int:
    assert item.delivery.id is not None
    return item.delivery.id


def _seconds(delay: timedelta) -> str:
    return f"{delay.total_seconds():.0f}s"
