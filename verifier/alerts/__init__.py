"""Alerts: a persisted outbox of incidents, delivered by mail and signed webhooks.

Flow: `record_incident` writes an alert (outbox row) in the caller's transaction
(`outbox.enqueue_alert`); the sender routes it to deliveries per configured recipient and webhook
(`routing`), claims due deliveries with a lease, re-checks each alert's claim against the
current decision (`claims`: the action said is what runners are answered now; a claim no longer
true becomes a resolution note or is dropped), renders them (`message`), sends them (`smtp`,
`webhook`) and marks them sent, retrying with backoff. Delivery is at least once, under stable
ids (Message-ID, `X-Toolgate-Delivery`) receivers can dedupe on.
"""

from verifier.alerts.errors import DeliveryError

__all__ = ["DeliveryError"]
