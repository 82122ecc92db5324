"""Answering decision queries: the one code path behind GET /v1/decision and the fast ASGI route.

The fast route exists because the decision is the hot path: it answers from the snapshot's
precomputed JSON without FastAPI's routing and dependency machinery (see bench/decision_api.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError

from verifier.api.auth import AuthError, authenticate
from verifier.api.queries import DecisionQuery, field_errors
from verifier.audit import AuditRow
from verifier.metrics import AnswerKind
from verifier.policy import Query
from verifier.service import Service
from verifier.snapshot import Answer, Snapshot
from verifier.tokens import Scope, TokenInfo

QUERY_FIELDS = frozenset(DecisionQuery.model_fields)
MAX_RUNNER = 200
MAX_JOB = 2000
# Valid query strings already parsed, so a repeated question skips parse_qsl and pydantic
# (a fleet of runners asks the same few thousand questions over and over). Bounded in entries
# and in key length; invalid query strings are never cached, so errors are always recomputed.
QUERY_CACHE_LIMIT = 32_768
QUERY_CACHE_MAX_KEY = 512
# `[audit] durable = true`: an answer whose audit record was not committed is not a decision.
RETRY_AFTER_SECONDS = 1

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]


def error_body(error: str, detail: Any) -> bytes:
    return orjson.dumps({"error": error, "detail": detail})


NOT_RECORDED = error_body(
    "not-recorded",
    "the decision could not be recorded in the audit trail ([audit] durable): ask again",
)


def iso_now(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_answer(answer: Answer, checked_at: str) -> bytes:
    return answer.body_prefix + b',"checked_at":"' + checked_at.encode() + b'"}'


_MILLISECOND = timedelta(milliseconds=1)


class _CheckedAt:
    """The `"checked_at"` tail of answer bodies, formatted once per millisecond.

    `iso_now` truncates to the millisecond, so every `now` in [start, start + 1 ms) renders the
    same text; outside that window the tail is recomputed.
    """

    __slots__ = ("_end", "_start", "_tail")

    def __init__(self) -> None:
        self._start = self._end = datetime.min.replace(tzinfo=UTC)
        self._tail = b""

    def tail(self, now: datetime) -> bytes:
        if not self._start <= now < self._end:
            self._start = now.replace(microsecond=now.microsecond - now.microsecond % 1000)
            self._end = self._start + _MILLISECOND
            self._tail = b',"checked_at":"' + iso_now(now).encode() + b'"}'
        return self._tail


_checked_at = _CheckedAt()


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
    service.audit.append_row((now, token.name, *caller, *audit_tail(snapshot, query, answer)))
    return answer


def audit_tail(snapshot: Snapshot, query: Query, answer: Answer) -> AuditRow:
    """The audit record's values after (at, token_name, runner, job): fixed for a query within
    a snapshot, so the fast route keeps them with the cached answer."""
    decision = answer.decision
    return (
        query.tool,
        query.version,
        query.sha256,
        query.asset,
        decision.outcome,
        decision.would_deny,
        answer.reasons_json,
        snapshot.revision,
    )


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


_query_cache: dict[str, Query] = {}


def parse_query_string(query_string: str) -> Query | list[dict[str, str]]:
    """The validated query, or the errors naming each bad field (valid ones are cached)."""
    if (query := _query_cache.get(query_string)) is not None:
        return query
    parsed = _parse_query_string(query_string)
    if isinstance(parsed, Query) and len(query_string) <= QUERY_CACHE_MAX_KEY:
        if len(_query_cache) >= QUERY_CACHE_LIMIT:
            _query_cache.clear()
        _query_cache[query_string] = parsed
    return parsed


class _Cached(NamedTuple):
    """What a valid query string yields within one snapshot: everything but the time."""

    answer: Answer
    audit_tail: AuditRow  # see audit_tail
    kind: AnswerKind  # what the metrics count


def _cached(snapshot: Snapshot, query: Query) -> _Cached:
    answer = snapshot.answer(query)
    kind = (answer.decision.outcome, answer.reason_codes)
    return _Cached(answer, audit_tail(snapshot, query, answer), kind)


class _PerSnapshot:
    """What depends only on the snapshot and the request's text, kept for the current snapshot.

    The token an `Authorization` header names (once it authenticated with the check scope) and
    the answer to a valid query string. Both are pure functions of the snapshot, and the cache is
    dropped whole when the snapshot changes, so a revoked token, a new fact or a passed time
    boundary takes effect exactly when it does without it. Bounded like the query cache.
    """

    __slots__ = ("answers", "snapshot", "tokens")

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.tokens: dict[str, TokenInfo] = {}
        self.answers: dict[str, _Cached] = {}

    def reset(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.tokens = {}
        self.answers = {}


TOKEN_CACHE_LIMIT = 256
_current = _PerSnapshot()


def _decide(
    service: Service,
    query_string: str,
    authorization: str | None,
    runner: str | None,
    job: str | None,
) -> tuple[int, bytes, AnswerKind | None]:
    """Status, body and (on 200) the answer's kind; the body is final unless the audit is
    durable. A repeated query string costs a few dict lookups and one tuple for the audit."""
    if not service.ready:
        return 503, error_body("not-ready", "the first snapshot is not built yet"), None
    now = datetime.now(UTC)
    snapshot = service.snapshot_at(now)
    cache = _current
    if cache.snapshot is not snapshot:
        cache.reset(snapshot)
    token = cache.tokens.get(authorization) if authorization else None
    if token is None:
        try:
            token = authenticate(snapshot, authorization, Scope.CHECK)
        except AuthError as exc:
            return (
                exc.status,
                error_body("unauthorized" if exc.status == 401 else "forbidden", exc.message),
                None,
            )
        if authorization and len(cache.tokens) < TOKEN_CACHE_LIMIT:
            cache.tokens[authorization] = token
    entry = cache.answers.get(query_string)
    if entry is None:
        query = parse_query_string(query_string)
        if isinstance(query, list):
            return 422, error_body("invalid-request", query), None
        entry = _cached(snapshot, query)
        if len(query_string) <= QUERY_CACHE_MAX_KEY:
            if len(cache.answers) >= QUERY_CACHE_LIMIT:
                cache.answers.clear()
            cache.answers[query_string] = entry
    if (runner is not None or job is not None) and (caller_errors := check_caller(runner, job)):
        return 422, error_body("invalid-request", caller_errors), None
    service.audit.append_row((now, token.name, runner, job, *entry.audit_tail))
    return 200, entry.answer.body_prefix + _checked_at.tail(now), entry.kind


async def answer_decision(
    service: Service,
    query_string: str,
    authorization: str | None,
    runner: str | None,
    job: str | None,
) -> tuple[int, bytes]:
    """Status and JSON body for `GET /v1/decision?<query_string>`."""
    started = perf_counter()
    status, body, kind = _decide(service, query_string, authorization, runner, job)
    if kind is not None:
        if service.audit.must_flush_now and not await service.audit.settle():
            status, body = 503, NOT_RECORDED
        service.metrics.observe(kind, perf_counter() - started)
    return status, body


_JSON = (b"content-type", b"application/json")
_CHALLENGE = (b"www-authenticate", b"Bearer")
_RETRY = (b"retry-after", b"%d" % RETRY_AFTER_SECONDS)
_START = "http.response.start"
_BODY = "http.response.body"


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
        # answer_decision inlined: no await unless the audit must be written first
        service = self.service
        started = perf_counter()
        status, body, kind = _decide(
            service, scope["query_string"].decode("latin-1"), authorization, runner, job
        )
        if kind is not None:
            if service.audit.must_flush_now and not await service.audit.settle():
                status, body = 503, NOT_RECORDED
            service.metrics.observe(kind, perf_counter() - started)
        headers = [_JSON, (b"content-length", b"%d" % len(body))]
        if status == 401:
            headers.append(_CHALLENGE)
        elif status == 503:
            headers.append(_RETRY)
        await send({"type": _START, "status": status, "headers": headers})
        await send({"type": _BODY, "body": body})
