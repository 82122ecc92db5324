"""The dashboard's pages: overview, tool, incidents, advisories, exposure and audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.responses import Response

from verifier.durations import parse_duration
from verifier.web.dashboard import CurrentSession, Dashboard, Refused
from verifier.web.forms import ExposureQuery, FormError, parse_form
from verifier.web.render import page
from verifier.web.tool_page import tool_page
from verifier.web.views import (
    MAX_ID,
    AuditFilters,
    alert_backlog,
    audit_page,
    feed_views,
    incident_exposures,
    incident_list,
    incident_page,
    lookup_exposure,
    open_incidents,
    parse_cursor,
)

NOTICES = {
    "approve": "Approval recorded: it applies from the next snapshot (about a second).",
    "block": "Block recorded: it applies from the next snapshot (about a second).",
    "resend": "The delivery is queued again.",
}
DECISION_FILTERS = ("allow", "warn", "deny", "would-deny")


def page_router(dashboard: Dashboard) -> APIRouter:
    """Every page under `/ui/`; each needs a session (`CurrentSession`)."""
    router = APIRouter(prefix="/ui", include_in_schema=False)
    service = dashboard.service
    engine, config = service.engine, service.config

    @router.get("/")
    def overview(session: CurrentSession, only: str = "") -> Response:
        snapshot = dashboard.snapshot()
        now = datetime.now(UTC)
        incidents = open_incidents(engine)
        inventory = dashboard.inventory(snapshot)  # a Summary: .value, .fresh
        only = only if only in ("warn", "deny") else ""
        tools = [t for t in inventory.value.tools if not only or t.counts[only]]
        return page(
            "overview.html",
            dashboard.context(
                session,
                "overview",
                inventory=inventory,
                tools=tools,
                only=only,
                snapshot=snapshot,
                staleness=service.staleness(now),
                store_error=service.store_error,
                incidents=incidents[:10],
                incident_count=len(incidents),
                feeds=feed_views(engine, config, now),
                backlog=alert_backlog(engine),
            ),
        )

    @router.get("/tools/{name:path}")
    def tool(name: str, session: CurrentSession, notice: str | None = None) -> Response:
        snapshot = dashboard.snapshot()
        if name not in snapshot.tools:
            raise Refused(404, f'tool "{name}" is not in the inventory')
        return page(
            "tool.html",
            dashboard.context(
                session,
                "tool",  # a tool's page is none of the navigation's pages
                tool=tool_page(engine, config, snapshot, name),
                notice=NOTICES.get(notice or ""),
            ),
        )

    @router.get("/incidents")
    def incidents(session: CurrentSession, state: str = "open") -> Response:
        rows = incident_list(engine, open_only=state != "all")
        context = dashboard.context(session, "incidents", incidents=rows, state=state)
        return page("incidents.html", context)

    @router.get("/incidents/{incident_id}")
    def incident(incident_id: str, session: CurrentSession, notice: str | None = None) -> Response:
        found = None
        if incident_id.isdigit() and int(incident_id) <= MAX_ID:
            found = incident_page(engine, dashboard.snapshot(), int(incident_id))
        if found is None:
            raise Refused(404, f"no incident #{incident_id}")
        context = dashboard.context(
            session, "incidents", page=found, notice=NOTICES.get(notice or "")
        )
        return page("incident.html", context)

    @router.get("/advisories")
    def advisories(session: CurrentSession) -> Response:
        matched = dashboard.advisories(dashboard.snapshot())  # a Summary: .value, .fresh
        return page("advisories.html", dashboard.context(session, "advisories", advisories=matched))

    @router.get("/exposure")
    def exposure(
        session: CurrentSession, tool: str = "", version: str = "", sha256: str = ""
    ) -> Response:
        asked = {"tool": tool, "version": version, "sha256": sha256}
        found, error = None, None
        if tool or version or sha256:
            try:
                query = parse_form(ExposureQuery, asked)
                snapshot = dashboard.snapshot()
                if query.tool not in snapshot.tools:
                    raise FormError(f'tool "{query.tool}" is not in the inventory')
                found = lookup_exposure(engine, snapshot, query.tool, query.version, query.sha256)
            except FormError as exc:
                error = str(exc)
        context = dashboard.context(
            session,
            "exposure",
            lines=incident_exposures(engine, dashboard.snapshot()),
            asked=asked,
            found=found,
            error=error,
        )
        return page("exposure.html", context, status=422 if error else 200)

    @router.get("/audit")
    def audit(
        session: CurrentSession,
        tool: str = "",
        runner: str = "",
        decision: str = "",
        since: str = "",
        before: str = "",
    ) -> Response:
        errors = []
        since_at = None
        if since.strip():
            try:
                since_at = datetime.now(UTC) - parse_duration(since)
            except (ValueError, OverflowError):
                errors.append(f'since: "{since[:40]}" is not a duration such as "24h" or "7d"')
        if decision and decision not in DECISION_FILTERS:
            errors.append(f"decision: must be one of {', '.join(DECISION_FILTERS)}")
            decision = ""
        cursor = None
        if before:
            try:
                cursor = parse_cursor(before)
            except ValueError:
                errors.append("before: not a page cursor of this page (start again)")
        if not tool.isprintable():
            errors.append("tool: control characters are not allowed")
            tool = ""
        if not runner.isprintable():
            errors.append("runner: control characters are not allowed")
            runner = ""
        filters = AuditFilters(
            tool.strip()[:200] or None, runner.strip()[:200] or None, decision or None, since_at
        )
        result = audit_page(engine, filters, cursor)
        query = {"tool": tool, "runner": runner, "decision": decision, "since": since}
        next_url = None
        if result.next_cursor:
            next_url = "/ui/audit?" + urlencode({**query, "before": result.next_cursor})
        context = dashboard.context(
            session,
            "audit",
            records=result.records,
            filters=query,
            decisions=DECISION_FILTERS,
            errors=errors,
            next_url=next_url,
            first_page=not before,
        )
        return page("audit.html", context, status=422 if errors else 200)

    return router
