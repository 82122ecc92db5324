"""The dashboard's admin actions: approve, block, resend an alert delivery.

Each is a POST from an admin session carrying its CSRF token (`Dashboard.admin_form`), and goes
through the functions the CLI and the API use, recorded as `token:NAME`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from verifier.alerts.outbox import resend
from verifier.durations import parse_duration
from verifier.errors import NotFoundError
from verifier.inventory import add_override
from verifier.web.dashboard import Dashboard, Refused, redirect, tool_url
from verifier.web.forms import FormError, OverrideForm, ResendForm, parse_form


def _duration(text: str) -> timedelta:
    """A duration a form gave, no longer than a century (FormError otherwise)."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise FormError(f"expires: {exc}") from None


def action_router(dashboard: Dashboard) -> APIRouter:
    """`POST /ui/actions/override` (approve or block) and `POST /ui/actions/resend`."""
    router = APIRouter(prefix="/ui", include_in_schema=False)
    service = dashboard.service
    engine = service.engine

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

    return router
