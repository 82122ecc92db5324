"""Answering decision queries: the one code path behind GET /v1/decision and the fast ASGI route.

The fast route exists because the decision is the hot path: it answers from the snapshot's
precomputed JSON without FastAPI's routing and dependency machinery (see bench/decision_api.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError

from verifier.api.auth import AuthError, authenticate
from verifier.api.queries import DecisionQuery, field_errors
from verifier.audit import AuditRecord
from verifier.policy import Query
from verifier.service import Service
from verifier.snapshot import Answer, Snapshot
from verifier.tokens import Scope, TokenInfo

QUERY_FIELDS = frozenset(DecisionQuery.model_fields)
MAX_RUNNER = 200
MAX_JOB = 2000

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]


def error_body(error: str, detail: Any) -> bytes:
    return orjson.dumps({"error": error, "detail": detail})


def iso_now(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_answer(answer: Answer, checked_at: str) -> bytes:
    return answer.body_prefix + b',"checked_at":"' + checked_at.encode() + b'"}'


def record_answer(
    service: Service,
    snapshot: Snapshot,
    query: Query,
    token: TokenInfo,
    caller: tuple[str | None, str | None],
    now: datetime,
) -> Answer:
    """Answer one query and queue its audit record."""
    answer = snapshot.answer(query)
    decision = answer.decision
    service.audit.append(
        AuditRecord(
            at=now,
            token_name=token.name,
            runner=caller[0],
            job=caller[1],
            tool=query.tool,
            version=query.version,
            sha256=query.sha256,
            asset=query.asset,
            decision=decision.outcome,
            would_deny=decision.would_deny,
            reasons_json=answer.reasons_json,
            revision=snapshot.revision,
        )
    )
    return answer


def check_caller(runner: str | None, job: str | None) -> list[dict[str, str]]:
    """Errors for over-long runner identification headers."""
    errors = []
    if runner is not None and len(runner) > MAX_RUNNER:
        errors.append({"field": "X-Toolgate-Runner", "message": f"longer than {MAX_RUNNER}"})
    if job is not None and len(job) > MAX_JOB:
        errors.append({"field": "X-Toolgate-Job", "message": f"longer than {MAX_JOB}"})
    return errors


def _parse_query_string(query_string: str) -> Query | list[dict[str, str]]:
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, max_num_fields=8)
    except ValueError:
        return [{"field": "query", "message": "too many parameters"}]
    seen: dict[str, str] = {}
    errors = []
    for key, value in pairs:
        if key not in QUERY_FIELDS:
            errors.append({"field": key[:64], "message": "unknown parameter"})
        elif key in seen:
            errors.append({"field": key, "message": "given more than once"})
        seen[key] = value
    if errors:
        return errors
    try:
        return DecisionQuery.model_validate(seen).to_query()
    except ValidationError as exc:
        return field_errors(exc)


async def answer_decision(
    service: Service,
    query_string: str,
    authorization: str | None,
    runner: str | None,
    job: str | None,
) -> tuple[int, bytes]:
    """Status and JSON body for `GET /v1/decision?<query_string>`."""
    started = perf_counter()
    if not service.ready:
        return 503, error_body("not-ready", "the first snapshot is not built yet")
    now = datetime.now(UTC)
    snapshot = service.snapshot_at(now)
    try:
        token = authenticate(snapshot, authorization, Scope.CHECK)
    except AuthError as exc:
        return exc.status, error_body(
            "unauthorized" if exc.status == 401 else "forbidden", exc.message
        )
    query = _parse_query_string(query_string)
    if isinstance(query, list) or (query_errors := check_caller(runner, job)):
        errors = query if isinstance(query, list) else query_errors
        return 422, error_body("invalid-request", errors)
    answer = record_answer(service, snapshot, query, token, (runner, job), now)
    if service.config.audit.durable:
        await service.audit.flush()
    body = render_answer(answer, iso_now(now))
    service.metrics.observe(answer.decision.outcome, answer.reason_codes, perf_counter() - started)
    return 200, body


_JSON = (b"content-type", b"application/json")
_CHALLENGE = (b"www-authenticate", b"Bearer")


class FastDecisionRoute:
    """ASGI middleware answering `GET /v1/decision` directly; everything else goes to `app`."""

    def __init__(self, service: Service, app: ASGIApp) -> None:
        self.service = service
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/decision" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        authorization = runner = job = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-toolgate-runner":
                runner = value.decode("utf-8", "replace")
            elif name == b"x-toolgate-job":
                job = value.decode("utf-8", "replace")
        status, body = await answer_decision(
            self.service, scope["query_string"].decode("latin-1"), authorization, runner, job
        )
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append(_CHALLENGE)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
