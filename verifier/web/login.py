"""Logging in and out of the dashboard, and its stylesheet (the only routes without a session)."""

from __future__ import annotations

import logging
from importlib.resources import files

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from verifier.api.proxies import describe_client
from verifier.web.dashboard import (
    Dashboard,
    Refused,
    read_form,
    redirect,
    same_origin,
)
from verifier.web.render import apply_headers, page
from verifier.web.security import COOKIE_NAME, COOKIE_PATH, SESSION_SECONDS, safe_next

log = logging.getLogger(__name__)

CSS = files("verifier.web").joinpath("static/dashboard.css").read_bytes()


def login_router(dashboard: Dashboard) -> APIRouter:
    """`/ui`, `/ui/static/dashboard.css`, `/ui/login` (GET, POST) and `POST /ui/logout`."""
    router = APIRouter(prefix="/ui", include_in_schema=False)
    service = dashboard.service

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
        client = describe_client(request)  # the limit's key: per client, not per proxy
        if not same_origin(request):
            raise Refused(403, "the form was posted from another site")
        fields = await read_form(request)
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
        fields = await read_form(request)
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

    return router
