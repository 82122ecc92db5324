"""The decision API through a real uvicorn server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from tests.conftest import LiveServer, wait_until
from verifier.store.models import AssetRow, ReleaseRow
from verifier.store.revision import bump_revision
from verifier.tokens import Scope

GOOD = "a" * 64
EVIL = "e" * 64


def add_release(
    server: LiveServer, version: str, *, age: timedelta = timedelta(days=10), digest: str = GOOD
) -> None:
    """Record a verified release as the release watcher would."""
    with Session(server.engine) as session:
        release = ReleaseRow(
            tool="trivy", version=version, status="verified", first_seen_at=datetime.now(UTC) - age
        )
        session.add(release)
        session.flush()
        session.add(
            AssetRow(
                release_id=release.id, name=f"trivy_{version}_Linux-64bit.tar.gz", sha256=digest
            )
        )
        bump_revision(session)
        session.commit()
    server.service.refresh()


def wait_for(predicate, timeout: float = 30.0) -> None:
    wait_until(predicate, "condition", timeout)


@pytest.fixture(params=[True, False], ids=["fast-route", "fastapi-route"])
def server(request: pytest.FixtureRequest, live_server) -> LiveServer:
    return live_server(fast_path=request.param)


def test_unknown_tool_is_denied_not_in_inventory(server: LiveServer):
    with server.client(server.token("runner")) as client:
        response = client.get("/v1/decision", params={"tool": "curl-pipe-sh", "version": "1.0"})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "deny"
    assert [r["code"] for r in body["reasons"]] == ["not-in-inventory"]
    assert body["policy_revision"] >= 1 and body["checked_at"].endswith("Z")


def test_every_configured_tool_gets_a_decision_with_reasons(server: LiveServer):
    with server.client(server.token("runner")) as client:
        for tool in ("trivy", "aquasecurity/trivy-action", "cosign"):
            body = client.get("/v1/decision", params={"tool": tool, "version": "9.9.9"}).json()
            assert body["decision"] in {"deny", "warn"}
            assert body["reasons"] and all("code" in r and "expected" in r for r in body["reasons"])


def test_verified_release_is_allowed_and_a_wrong_digest_denied(server: LiveServer):
    add_release(server, "0.69.3")
    with server.client(server.token("runner")) as client:
        allowed = client.get("/v1/decision", params={"tool": "trivy", "version": "v0.69.3"}).json()
        mismatch = client.get(
            "/v1/decision", params={"tool": "trivy", "version": "0.69.3", "sha256": EVIL.upper()}
        ).json()
    assert (allowed["decision"], allowed["sha256"], allowed["newest_allowed"]) == (
        "allow",
        GOOD,
        "0.69.3",
    )
    assert mismatch["decision"] == "deny"
    assert mismatch["reasons"][0] == {"code": "checksum-mismatch", "expected": GOOD, "found": EVIL}


def test_cooldown_says_when_a_release_becomes_eligible(live_server):
    server = live_server(cooldown="72h")
    add_release(server, "0.69.2")
    add_release(server, "0.69.3", age=timedelta(hours=1))
    with server.client(server.token("runner")) as client:
        body = client.get("/v1/decision", params={"tool": "trivy", "version": "0.69.3"}).json()
    assert body["decision"] == "deny"
    (reason,) = body["reasons"]
    assert reason["code"] == "too-new" and reason["eligible_at"].endswith("Z")
    assert body["newest_allowed"] == "0.69.2"


def test_approve_then_block_over_the_admin_api(server: LiveServer):
    admin = server.token("ops", Scope.ADMIN)
    with server.client(admin) as client:
        created = client.post(
            "/v1/overrides",
            json={
                "kind": "approve",
                "tool": "trivy",
                "version": "0.69.3",
                "sha256": GOOD,
                "reason": "checked",
            },
        )
        assert created.status_code == 201
        assert (
            client.get("/v1/decision", params={"tool": "trivy", "version": "0.69.3"}).json()[
                "decision"
            ]
            == "allow"
        )
        blocked = client.post(
            "/v1/overrides",
            json={
                "kind": "block",
                "tool": "trivy",
                "sha256": GOOD,
                "reason": "poisoned",
                "expires": "7d",
            },
        )
        assert blocked.status_code == 201
        body = client.get("/v1/decision", params={"tool": "trivy", "version": "0.69.3"}).json()
        assert body["decision"] == "deny" and body["reasons"][0]["code"] == "manual-block"
        assert "poisoned" in body["reasons"][0]["detail"]
        assert client.delete(f"/v1/overrides/{blocked.json()['id']}").status_code == 204
        assert (
            client.get("/v1/decision", params={"tool": "trivy", "version": "0.69.3"}).json()[
                "decision"
            ]
            == "allow"
        )


def test_warn_mode_answers_warn_and_audits_would_deny(live_server):
    server = live_server(mode="warn")
    with server.client(server.token("runner")) as client:
        body = client.get(
            "/v1/decision",
            params={"tool": "trivy", "version": "0.69.4"},
            headers={
                "X-Toolgate-Runner": "gh-runner-7",
                "X-Toolgate-Job": "https://ci.example/job/9",
            },
        ).json()
    assert body["decision"] == "warn" and body["reasons"]
    wait_for(lambda: server.service.audit.written >= 1)
    with server.client(server.token("auditor", Scope.READ)) as client:
        records = client.get("/v1/audit", params={"would_deny": "true", "tool": "trivy"}).json()[
            "records"
        ]
    assert len(records) == 1
    assert (records[0]["runner"], records[0]["job"], records[0]["token_name"]) == (
        "gh-runner-7",
        "https://ci.example/job/9",
        "runner",
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"version": "1.0"}, "tool"),
        ({"tool": "trivy"}, "version"),
        ({"tool": "trivy", "version": "1" * 10_000}, "version"),
        ({"tool": "trivy", "version": "1.0", "sha256": "xyz"}, "sha256"),
        ({"tool": "trivy", "version": "1.0", "sha256": "g" * 64}, "sha256"),
        ({"tool": "trivy", "version": "1.0", "color": "red"}, "color"),
        ({"tool": "../../etc", "version": "1.0"}, "tool"),
        ({"tool": "trivy", "version": "1 0"}, "version"),
        ({"tool": "trivy", "version": "1.0", "asset": "a/b"}, "asset"),
    ],
)
def test_malformed_queries_get_422_naming_the_field(server: LiveServer, params: dict, field: str):
    with server.client(server.token("runner")) as client:
        response = client.get("/v1/decision", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid-request"
    assert field in [error["field"] for error in body["detail"]]
    assert len(response.content) < 2000  # never echoes a huge input


def test_repeated_parameters_are_refused(server: LiveServer):
    with server.client(server.token("runner")) as client:
        response = client.get("/v1/decision?tool=trivy&tool=cosign&version=1")
    assert response.status_code == 422


def test_auth_is_required_and_scoped(server: LiveServer):
    reader = server.token("reader", Scope.READ)
    with server.client() as anonymous:
        response = anonymous.get("/v1/decision", params={"tool": "trivy", "version": "1"})
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/v1/tools").status_code == 401
    with server.client("tg_not-a-token") as client:
        assert (
            client.get("/v1/decision", params={"tool": "trivy", "version": "1"}).status_code == 401
        )
    with server.client(reader) as client:
        assert (
            client.get("/v1/decision", params={"tool": "trivy", "version": "1"}).status_code == 403
        )
        assert client.get("/v1/tools").status_code == 200
        assert client.post("/v1/tokens", json={"name": "x", "scopes": ["check"]}).status_code == 403


def test_revoked_tokens_stop_working(server: LiveServer):
    admin = server.token("ops", Scope.ADMIN)
    with server.client(admin) as client:
        created = client.post("/v1/tokens", json={"name": "runner-9", "scopes": ["check"]})
        assert created.status_code == 201
        runner_token = created.json()["token"]
        listed = client.get("/v1/tokens").json()["tokens"]
        assert "token_hash" not in listed[0] and runner_token not in str(listed)
        with server.client(runner_token) as runner:
            assert (
                runner.get("/v1/decision", params={"tool": "trivy", "version": "1"}).status_code
                == 200
            )
            assert client.delete("/v1/tokens/runner-9").status_code == 204
            assert (
                runner.get("/v1/decision", params={"tool": "trivy", "version": "1"}).status_code
                == 401
            )


def test_batch_answers_up_to_1000_queries(server: LiveServer):
    add_release(server, "0.69.3")
    queries = [{"tool": "trivy", "version": "0.69.3"}, {"tool": "nope", "version": "1"}] * 500
    with server.client(server.token("runner")) as client:
        response = client.post("/v1/decisions", json={"queries": queries})
        assert response.status_code == 200
        decisions = response.json()["decisions"]
        assert len(decisions) == 1000
        assert [d["decision"] for d in decisions[:2]] == ["allow", "deny"]
        too_many = client.post("/v1/decisions", json={"queries": queries + queries[:1]})
        assert too_many.status_code == 422 and too_many.json()["detail"][0]["field"] == "queries"
        unknown = client.post(
            "/v1/decisions", json={"queries": [{"tool": "trivy", "version": "1", "extra": 1}]}
        )
        assert (
            unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "queries.0.extra"
        )
        garbage = client.post("/v1/decisions", content=b"\xff{not json")
        assert garbage.status_code == 422


def test_tools_listing_and_detail(server: LiveServer):
    add_release(server, "0.69.3")
    with server.client(server.token("reader", Scope.READ)) as client:
        tools = client.get("/v1/tools").json()["tools"]
        assert {t["name"] for t in tools} == {"trivy", "aquasecurity/trivy-action", "cosign"}
        detail = client.get("/v1/tools/trivy").json()
        assert detail["versions"] == [{"version": "0.69.3", "decision": "allow", "reasons": []}]
        assert client.get("/v1/tools/aquasecurity/trivy-action").status_code == 200
        assert client.get("/v1/tools/nope").status_code == 404


def test_health_readiness_and_metrics(server: LiveServer):
    with server.client(server.token("runner")) as client:
        client.get("/v1/decision", params={"tool": "nope", "version": "1"})
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready" and ready["store"] == "ok"
        metrics = client.get("/metrics").text
    assert 'toolgate_decisions_total{outcome="deny"} 1.0' in metrics
    assert 'toolgate_decision_reasons_total{reason="not-in-inventory"} 1.0' in metrics
    assert "toolgate_decision_latency_seconds_bucket" in metrics
    assert "toolgate_snapshot_age_seconds" in metrics


def test_openapi_documents_the_decision_endpoint(server: LiveServer):
    with server.client() as client:
        spec = client.get("/openapi.json").json()
    assert {"/v1/decision", "/v1/decisions", "/v1/tools", "/readyz"} <= set(spec["paths"])
