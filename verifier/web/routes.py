"""The dashboard's pages and actions under `/ui`, mounted into the API's FastAPI app.

Every page needs a session (else: the login page); every action is a POST by an admin session
carrying the session's CSRF token, and goes through the same functions as the CLI and the API.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from verifier.alerts.outbox import resend
from verifier.durations import parse_duration
from verifier.errors import NotFoundError
from verifier.inventory import add_override
from verifier.service import Service
from verifier.snapshot import Snapshot
from verifier.web.forms import ExposureQuery, FormError, OverrideForm, ResendForm, parse_form
from verifier.web.render import apply_headers, page
from verifier.web.security import (
    COOKIE_NAME,
    COOKIE_PATH,
    SESSION_SECONDS,
    LoginLimiter,
    SessionKeeper,
    WebSession,
    safe_next,
)
from verifier.web.summaries import PerSnapshot, inventory_counts, matched_advisories
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

log = logging.getLogger(__name__)

CSS = files("verifier.web").joinpath("static/dashboard.css").read_bytes()
NOTICES = {
    "approve": "Approval recorded: it applies from the next snapshot (about a second).",
    "block": "Block recorded: it applies from the next snapshot (about a second).",
    "resend": "The delivery is queued again.",
}
DECISION_FILTERS = ("allow", "warn", "deny", "would-deny")
MAX_FORM_FIELDS = 20
MAX_DURATION = timedelta(days=36500)


def _duration(text: str) -> timedelta:
    """A duration a form gave, no longer than a century (FormError otherwise)."""
    try:
        value = parse_duration(text)
    except (ValueError, OverflowError):
        raise FormError(f'expires: "{text}" is not a duration such as "7d" or "12h"') from None
    if value > MAX_DURATION:
        raise FormError(f'expires: "{text}" is longer than a century')
    return value


class LoginRequired(Exception):
    """No valid session: the visitor is sent to the login page."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class Refused(Exception):
    """A request the session may not make (403) or that cannot be served (503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def tool_url(name: str) -> str:
    return "/ui/tools/" + quote(name, safe="/:@+")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _same_origin(request: Request) -> bool:
    """A POST whose Origin header is this site, or absent or opaque: with `Referrer-Policy:
    no-referrer` browsers send `Origin: null` for our own forms (the CSRF token decides then)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def _form(request: Request) -> dict[str, str]:
    """The submitted fields as text (file parts and oversized forms are refused)."""
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # starlette raises its own and multipart's errors here
        raise Refused(400, f"the form could not be read: {exc}") from None
    fields = {}
    for key, value in form.items():
        if isinstance(value, UploadFile):
            raise Refused(400, "the form may not carry files")
        fields[key] = value
    return fields


class Dashboard:
    """The dashboard's state: sessions, login limits, per-snapshot summaries."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.sessions = SessionKeeper(service.engine, service.config.state_dir)
        self.limiter = LoginLimiter()
        self.inventory = PerSnapshot(inventory_counts)
        self.advisories = PerSnapshot(matched_advisories)

    def snapshot(self) -> Snapshot:
        if not self.service.ready:
            raise Refused(503, "toolgate is starting: the first snapshot is not built yet")
        return self.service.snapshot_at(datetime.now(UTC))

    def session(self, request: Request) -> WebSession:
        """The request's session, re-checked against the token table; else LoginRequired."""
        session = self.sessions.check(request.cookies.get(COOKIE_NAME))
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        return session

    def context(self, session: WebSession, nav: str, **values: Any) -> dict[str, Any]:
        return {
            "user": session,
            "nav": nav,
            "now": datetime.now(UTC),
            "tool_url": tool_url,
            **values,
        }

    async def admin_form(self, request: Request) -> tuple[WebSession, dict[str, str]]:
        """The fields of an admin action, once session, scope, origin and CSRF token check out."""
        session = await run_in_threadpool(self.session, request)
        if not _same_origin(request):
            raise Refused(403, "the form was posted from another site")
        fields = await _form(request)
        if not self.sessions.csrf_ok(session, fields.pop("csrf", None)):
            raise Refused(403, "the form's CSRF token is missing or wrong: reload the page")
        if not session.admin:
            raise Refused(403, f'token "{session.token_name}" lacks the "admin" scope')
        return session, fields


def _current_session(request: Request) -> WebSession:
    dashboard: Dashboard = request.app.state.toolgate_dashboard
    return dashboard.session(request)


# A module-level name: FastAPI resolves the (postponed) annotations in the module's globals.
CurrentSession = Annotated[WebSession, Depends(_current_session)]


def redirect(url: str) -> Response:
    """A 303 to `url` with the dashboard's security headers."""
    response = RedirectResponse(url, status_code=303)
    apply_headers(response.headers)
    return response


def install_dashboard(app: FastAPI, service: Service) -> None:
    """Serve the dashboard under `/ui` in `app`."""
    dashboard = Dashboard(service)
    app.state.toolgate_dashboard = dashboard
    app.include_router(_router(dashboard))

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return redirect("/ui/login?" + urlencode({"next": safe_next(exc.target)}))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return page("error.html", {"status": exc.status, "message": exc.message}, status=exc.status)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Refused, refused)


def _router(dashboard: Dashboard) -> APIRouter:
    router = APIRouter(prefix="/ui", include_in_schema=False)
    service = dashboard.service
    engine, config = service.engine, service.config

    @router.get("")
    def root() -> Response:
        return redirect("/ui/")

    @router.get("/static/dashboard.css")
    def stylesheet() -> Response:
        response = Response(CSS, media_type="text/css")
        apply_headers(response.headers)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @router.get("/login")
    def login_form(request: Request, next: str | None = None) -> Response:
        if dashboard.sessions.check(request.cookies.get(COOKIE_NAME)) is not None:
            return redirect(safe_next(next))
        if service.ready:  # the overview's counts, ready by the time the user is in (once)
            dashboard.inventory.prepare(dashboard.snapshot())
        return page("login.html", {"next": safe_next(next), "error": None})

    @router.post("/login")
    async def login(request: Request) -> Response:
        client = _client(request)
        if not _same_origin(request):
            raise Refused(403, "the form was posted from another site")
        fields = await _form(request)
        target = safe_next(fields.get("next"))
        if dashboard.limiter.blocked(client):
            log.warning("dashboard login refused from %s: too many failed attempts", client)
            message = "Too many failed logins from this address: wait a few minutes."
            return page("login.html", {"next": target, "error": message}, status=429)
        token = fields.get("token", "").strip()
        row, why = (None, "no token given") if not token or len(token) > 200 else (None, "")
        if not why:
            row, why = await run_in_threadpool(dashboard.sessions.login, token)
        if row is None:
            failures = dashboard.limiter.failed(client)
            log.warning("dashboard login failed from %s (%d recent): %s", client, failures, why)
            return page("login.html", {"next": target, "error": why.capitalize() + "."}, status=401)
        log.info("dashboard login: token %s from %s", row.name, client)
        response = redirect(target)
        response.set_cookie(
            COOKIE_NAME,
            dashboard.sessions.issue(row),
            max_age=SESSION_SECONDS,
            path=COOKIE_PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        fields = await _form(request)
        session = await run_in_threadpool(
            dashboard.sessions.check, request.cookies.get(COOKIE_NAME)
        )
        if session is not None and not dashboard.sessions.csrf_ok(session, fields.get("csrf")):
            raise Refused(403, "the form's CSRF token is missing or wrong: reload the page")
        response = redirect("/ui/login")
        response.delete_cookie(
            COOKIE_NAME,
            path=COOKIE_PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    @router.get("/")
    def overview(session: CurrentSession) -> Response:
        snapshot = dashboard.snapshot()
        now = datetime.now(UTC)
        incidents = open_incidents(engine)
        return page(
            "overview.html",
            dashboard.context(
                session,
                "overview",
                inventory=dashboard.inventory(snapshot),  # a Summary: .value, .fresh
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
                "overview",
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
            lines=incident_exposures(engine),
            asked=asked,
            found=found,
            error=error,
        )
        return page("exposure.html", context, status=422 if error else 200)

    @router.get("/audit")
    def audit(
        request: Request,
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

    @router.post("/actions/override")
    async def override(request: Request) -> Response:
        session, fields = await dashboard.admin_form(request)
        try:
            form = parse_form(OverrideForm, fields)
            if form.kind == "approve" and not (form.version and form.sha256):
                raise FormError("an approval needs the version and the sha256 you verified")
            expires = _duration(form.expires) if form.expires else None
            await run_in_threadpool(
                add_override,
                engine,
                kind=form.kind,
                tool=form.tool,
                actor=session.actor,
                reason=form.reason,
                version=form.version,
                sha256=form.sha256,
                expires_in=expires,
            )
        except NotFoundError as exc:
            raise Refused(404, str(exc)) from None
        except ValueError as exc:  # FormError, a bad duration, an empty reason
            raise Refused(422, str(exc)) from None
        await run_in_threadpool(service.refresh)
        return redirect(f"{tool_url(form.tool)}?notice={form.kind}")

    @router.post("/actions/resend")
    async def resend_delivery(request: Request) -> Response:
        session, fields = await dashboard.admin_form(request)
        try:
            form = parse_form(ResendForm, fields)
            await run_in_threadpool(resend, engine, form.delivery, session.actor, datetime.now(UTC))
        except NotFoundError as exc:
            raise Refused(404, str(exc)) from None
        except ValueError as exc:
            raise Refused(422, str(exc)) from None
        return redirect(f"/ui/incidents/{form.incident}?notice=resend")

    @router.api_route("/{rest:path}", methods=["GET", "POST"])
    def not_found(rest: str, session: CurrentSession) -> Response:
        raise Refused(404, f"no dashboard page at /ui/{rest}")

    return router
