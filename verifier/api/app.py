"""The FastAPI application: batch decisions, inventory, admin actions, health and metrics."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from verifier import __version__
from verifier.api.auth import AuthError, authenticate
from verifier.api.decision import (
    NOT_RECORDED,
    RETRY_AFTER_SECONDS,
    FastDecisionRoute,
    answer_decision,
    check_caller,
    iso_now,
    record_answer,
    render_answer,
)
from verifier.api.queries import DecisionBatch, Sha256, ToolName, Version, field_errors
from verifier.api.request_id import RequestIdMiddleware
from verifier.audit import query_audit, record_json
from verifier.durations import parse_duration
from verifier.errors import NotFoundError
from verifier.exposure import exposure_report
from verifier.health import readiness
from verifier.inventory import add_override, list_overrides, revoke_override
from verifier.inventory_view import tool_view
from verifier.metrics import render_metrics
from verifier.service import Service
from verifier.tokens import Scope, TokenInfo, create_token, list_tokens, revoke_token
from verifier.web import install_dashboard

MAX_BATCH_BYTES = 1024 * 1024
_ERROR_NAMES = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}


_HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 503: {"Retry-After": str(RETRY_AFTER_SECONDS)}}


def _error(status: int, detail: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    name = _ERROR_NAMES.get(status, "invalid-request" if status < 500 else "error")
    return JSONResponse({"error": name, "detail": detail}, status_code=status, headers=headers)


class OverrideRequest(BaseModel):
    """An approval or block made over the API (admin scope)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["approve", "block"]
    tool: ToolName
    version: Version | None = None
    sha256: Sha256 | None = None
    commit: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$")] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    expires: str | None = Field(default=None, description='a duration such as "7d"')


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@-]+$")]
    scopes: list[Scope] = Field(min_length=1)


def create_app(service: Service) -> FastDecisionRoute:
    """The ASGI application: the fast decision route in front of the FastAPI app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await service.start_background()
        yield
        await service.stop()

    app = FastAPI(
        title="toolgate",
        version=__version__,
        summary="Is this exact build of this tool safe to run right now?",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return _error(422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.detail)

    def require(scope: Scope) -> Callable[..., TokenInfo]:
        def dependency(authorization: Annotated[str | None, Header()] = None) -> TokenInfo:
            if not service.ready:
                raise HTTPException(503, "the first snapshot is not built yet")
            try:
                return authenticate(service.snapshot_at(datetime.now(UTC)), authorization, scope)
            except AuthError as exc:
                raise HTTPException(exc.status, exc.message) from None

        return dependency

    @app.get(
        "/v1/decision",
        summary="Decide whether a runner may fetch one tool build",
        response_class=Response,
        openapi_extra={
            "parameters": [
                {"name": "tool", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "version", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "sha256", "in": "query", "schema": {"type": "string"}},
                {"name": "asset", "in": "query", "schema": {"type": "string"}},
            ]
        },
    )
    async def decision(request: Request) -> Response:
        """Served here only when the fast route is disabled (`[server] fast_path = false`)."""
        headers = request.headers
        status, body = await answer_decision(
            service,
            request.url.query,
            headers.get("authorization"),
            headers.get("x-toolgate-runner"),
            headers.get("x-toolgate-job"),
        )
        return Response(body, status, headers=_HEADERS.get(status), media_type="application/json")

    @app.post("/v1/decisions", summary="Decide up to 1,000 queries against one snapshot")
    async def decisions(
        request: Request,
        token: Annotated[TokenInfo, Depends(require(Scope.CHECK))],
        x_toolgate_runner: Annotated[str | None, Header()] = None,
        x_toolgate_job: Annotated[str | None, Header()] = None,
    ) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BATCH_BYTES:
            return _error(413, f"body larger than {MAX_BATCH_BYTES} bytes")
        try:
            batch = DecisionBatch.model_validate_json(raw)
        except ValidationError as exc:
            return _error(422, field_errors(exc))
        if errors := check_caller(x_toolgate_runner, x_toolgate_job):
            return _error(422, errors)
        now = datetime.now(UTC)
        snapshot = service.snapshot_at(now)
        checked_at = iso_now(now)
        caller = (x_toolgate_runner, x_toolgate_job)
        bodies = [
            render_answer(
                record_answer(service, snapshot, q.to_query(), token, caller, now), checked_at
            )
            for q in batch.queries
        ]
        if service.audit.must_flush_now and not await service.audit.settle():
            return Response(NOT_RECORDED, 503, headers=_HEADERS[503], media_type="application/json")
        body = (
            b'{"decisions":[' + b",".join(bodies) + b'],"policy_revision":%d}' % snapshot.revision
        )
        return Response(body, media_type="application/json")

    @app.get("/v1/tools", summary="The inventory, with each tool's newest allowed version")
    def tools(_token: Annotated[TokenInfo, Depends(require(Scope.READ))]) -> dict[str, Any]:
        snapshot = service.snapshot_at(datetime.now(UTC))
        return {
            "tools": [tool_view(snapshot, name) for name in sorted(snapshot.tools)],
            "policy_revision": snapshot.revision,
        }

    @app.get("/v1/tools/{name:path}", summary="One tool: its configuration, versions and overrides")
    def tool(
        name: str, _token: Annotated[TokenInfo, Depends(require(Scope.READ))]
    ) -> dict[str, Any]:
        snapshot = service.snapshot_at(datetime.now(UTC))
        if name not in snapshot.tools:
            raise HTTPException(404, f'tool "{name}" is not in the inventory')
        return tool_view(snapshot, name, detail=True)

    @app.get("/v1/overrides", summary="Approvals and blocks in force")
    def overrides(_token: Annotated[TokenInfo, Depends(require(Scope.READ))]) -> dict[str, Any]:
        return {
            "overrides": [row.model_dump(mode="json") for row in list_overrides(service.engine)]
        }

    @app.post("/v1/overrides", status_code=201, summary="Approve or block (admin)")
    def create_override(
        body: OverrideRequest, token: Annotated[TokenInfo, Depends(require(Scope.ADMIN))]
    ) -> dict[str, int]:
        if body.kind == "approve" and not (body.version and body.sha256):
            raise HTTPException(422, "an approval needs version and sha256")
        try:
            expires = parse_duration(body.expires) if body.expires else None
            override_id = add_override(
                service.engine,
                kind=body.kind,
                tool=body.tool,
                actor=f"token:{token.name}",
                reason=body.reason,
                version=body.version,
                sha256=body.sha256,
                commit=body.commit,
                expires_in=expires,
            )
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        service.refresh()
        return {"id": override_id}

    @app.delete("/v1/overrides/{override_id}", status_code=204, summary="Revoke (admin)")
    def delete_override(
        override_id: int,
        token: Annotated[TokenInfo, Depends(require(Scope.ADMIN))],
        reason: str = "revoked over the API",
    ) -> Response:
        try:
            revoke_override(service.engine, override_id, f"token:{token.name}", reason)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        service.refresh()
        return Response(status_code=204)

    @app.get("/v1/tokens", summary="Tokens (names and scopes, never the tokens)")
    def tokens(_token: Annotated[TokenInfo, Depends(require(Scope.ADMIN))]) -> dict[str, Any]:
        rows = list_tokens(service.engine)
        return {"tokens": [row.model_dump(mode="json", exclude={"token_hash"}) for row in rows]}

    @app.post("/v1/tokens", status_code=201, summary="Create a token, shown once (admin)")
    def new_token(
        body: TokenRequest, token: Annotated[TokenInfo, Depends(require(Scope.ADMIN))]
    ) -> dict[str, str]:
        try:
            secret = create_token(
                service.engine, body.name, set(body.scopes), f"token:{token.name}"
            )
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        service.refresh()
        return {"name": body.name, "token": secret}

    @app.delete("/v1/tokens/{name}", status_code=204, summary="Revoke a token (admin)")
    def delete_token(
        name: str, token: Annotated[TokenInfo, Depends(require(Scope.ADMIN))]
    ) -> Response:
        try:
            revoke_token(service.engine, name, f"token:{token.name}")
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        service.refresh()
        return Response(status_code=204)

    @app.get("/v1/audit", summary="Decisions given, newest first")
    def audit(
        _token: Annotated[TokenInfo, Depends(require(Scope.READ))],
        tool: ToolName | None = None,
        since: str | None = None,
        would_deny: bool = False,
        limit: Annotated[int, Field(ge=1, le=10_000)] = 1000,
    ) -> dict[str, Any]:
        try:
            since_at = datetime.now(UTC) - parse_duration(since) if since else None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        rows = query_audit(
            service.engine, tool=tool, since=since_at, would_deny=would_deny, limit=limit
        )
        return {"records": [record_json(row) for row in rows]}

    @app.get("/v1/exposure", summary="Runners that were allowed to fetch this build")
    def exposure(
        _token: Annotated[TokenInfo, Depends(require(Scope.READ))],
        tool: ToolName,
        version: Version,
        sha256: Sha256 | None = None,
    ) -> dict[str, Any]:
        snapshot = service.snapshot_at(datetime.now(UTC))
        with Session(service.engine) as session:
            return exposure_report(session, snapshot, tool, version, sha256)

    install_dashboard(app, service)  # the dashboard under /ui (its own cookie sessions)

    @app.get("/healthz", summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Ready once the first snapshot is built; reports what degrades it")
    def readyz() -> JSONResponse:
        if not service.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse(readiness(service, datetime.now(UTC)))

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        body = render_metrics(service.metrics, lambda: _gauges(service))
        return Response(body, media_type="text/plain; version=0.0.4")

    return FastDecisionRoute(service, app) if service.config.server.fast_path else app  # type: ignore[return-value]


def _gauges(service: Service) -> dict[str, tuple[str, float]]:
    now = datetime.now(UTC)
    snapshot = service.snapshot_at(now) if service.ready else None
    return {
        "toolgate_snapshot_age_seconds": (
            "Seconds since the store was last read successfully",
            service.staleness(now) or 0.0,
        ),
        "toolgate_snapshot_revision": (
            "Store revision of the snapshot answering",
            snapshot.revision if snapshot else 0,
        ),
        "toolgate_store_up": (
            "1 if the last store read succeeded",
            0.0 if service.store_error else 1.0,
        ),
        "toolgate_audit_pending": (
            "Audit records waiting to be written",
            float(len(service.audit)),
        ),
        "toolgate_audit_dropped_total": (
            "Audit records dropped past buffer_limit",
            float(service.audit.dropped),
        ),
        "toolgate_audit_written_total": (
            "Audit records written to the store",
            float(service.audit.written),
        ),
        "toolgate_alerts_pending": (
            "Alert deliveries waiting to be sent or retried (as of the last sender pass)",
            float(service.alerts.backlog.get("pending", 0)),
        ),
        "toolgate_alerts_dead": (
            "Alert deliveries that failed max_attempts times (toolgate alerts list)",
            float(service.alerts.backlog.get("dead", 0)),
        ),
        "toolgate_alerts_sent_total": (
            "Alert messages this process handed to a relay or webhook",
            float(service.alerts.sent),
        ),
        "toolgate_alerts_failed_total": (
            "Failed alert delivery attempts in this process",
            float(service.alerts.failed),
        ),
    }
