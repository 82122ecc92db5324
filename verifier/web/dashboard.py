"""The dashboard's shared parts: its state, the session dependency, errors and form reading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from verifier.service import Service
from verifier.snapshot import Snapshot
from verifier.web.render import apply_headers
from verifier.web.security import COOKIE_NAME, LoginLimiter, SessionKeeper, WebSession
from verifier.web.summaries import PerSnapshot, inventory_counts, matched_advisories

MAX_FORM_FIELDS = 20


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
    """A tool page's address (tool names may hold `/`, `+`, `@` and `:`)."""
    return "/ui/tools/" + quote(name, safe="/:@+")


def same_origin(request: Request) -> bool:
    """A POST whose Origin header is this site, or absent or opaque: with `Referrer-Policy:
    no-referrer` browsers send `Origin: null` for our own forms (the CSRF token decides then)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    # behind a reverse proxy the site's own name may come as X-Forwarded-Host (a cross-site
    # form cannot set that header: the check stays meaningful)
    hosts = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    return any(origin in (f"http://{host}", f"https://{host}") for host in hosts if host)


async def read_form(request: Request) -> dict[str, str]:
    """The submitted fields as text (file parts and oversized forms are refused)."""
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except HTTPException:  # the body limit's 413
        raise
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
        if not same_origin(request):
            raise Refused(403, "the form was posted from another site")
        fields = await read_form(request)
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
