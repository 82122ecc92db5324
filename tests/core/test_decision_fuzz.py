"""Property: whatever a client sends as the decision query string, the answer is 200 or 422."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from verifier.api.decision import answer_decision
from verifier.config import Config
from verifier.service import Service
from verifier.tokens import Scope, create_token

KEYS = st.sampled_from(["tool", "version", "sha256", "asset", "x", "", "tool[]", "%00"])
VALUES = st.one_of(st.text(max_size=300), st.sampled_from(["trivy", "0.69.4", "a" * 64, "%ff%fe"]))
QUERY = st.lists(st.tuples(KEYS, VALUES), max_size=8).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)


@pytest.fixture
def service_and_token(engine: Engine, write_config: Callable[..., Config], store_url: str):
    service = Service(write_config(store_url), engine)
    service.start_sync()
    token = create_token(engine, "fuzz", {Scope.CHECK}, "test")
    service.refresh()
    return service, token


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.one_of(QUERY, st.text(max_size=500)))
def test_any_query_string_is_answered_or_refused_with_422(service_and_token, query: str):
    service, token = service_and_token
    status, body = asyncio.run(answer_decision(service, query, f"Bearer {token}", None, None))
    assert status in (200, 422)
    parsed = orjson.loads(body)
    if status == 200:
        assert parsed["decision"] in ("allow", "warn", "deny")
    else:
        assert parsed["error"] == "invalid-request" and parsed["detail"]
