"""The dashboard mounted into the API's FastAPI app under `/ui`.

Every page needs a session (else: the login page); every action is a POST by an admin session
carrying the session's CSRF token, and goes through the same functions as the CLI and the API.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from verifier.service import Service
from verifier.web.actions import action_router
from verifier.web.dashboard import CurrentSession, Dashboard, LoginRequired, Refused, redirect
from verifier.web.login import login_router
from verifier.web.pages import page_router
from verifier.web.render import page
from verifier.web.security import safe_next


def install_dashboard(app: FastAPI, service: Service) -> None:
    """Serve the dashboard under `/ui` in `app`."""
    dashboard = Dashboard(service)
    app.state.toolgate_dashboard = dashboard
    for router in (login_router(dashboard), page_router(dashboard), action_router(dashboard)):
        app.include_router(router)
    app.include_router(_not_found_router())  # last: it matches every other /ui/ address

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return redirect("/ui/login?" + urlencode({"next": safe_next(exc.target)}))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return page("error.html", {"status": exc.status, "message": exc.message}, status=exc.status)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Refused, refused)


def _not_found_router() -> APIRouter:
    router = APIRouter(prefix="/ui", include_in_schema=False)

    @router.api_route("/{rest:path}", methods=["GET", "POST"])
    def not_found(rest: str, session: CurrentSession) -> Response:
        raise Refused(404, f"no dashboard page at /ui/{rest}")

    return router
