"""Bad input over the API and the CLI: a 4xx (or exit 2) naming what was wrong, never a 5xx or a
traceback, on SQLite and PostgreSQL, through the fast route and FastAPI's."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from tests.conftest import LiveServer
from tests.core.test_api import wait_for
from verifier.api.app import create_app
from verifier.api.queries import MAX_BODY_BYTES
from verifier.cli import app as cli
from verifier.config import Config
from verifier.durations import MAX_DURATION, parse_duration
from verifier.tokens import Scope


@pytest.fixture(params=[True, False], ids=["fast-route", "fastapi-route"])
def server(request: pytest.FixtureRequest, live_server) -> LiveServer:
    return live_server(fast_path=request.param)


def test_durations_past_the_limit_are_value_errors():
    assert parse_duration("36500d") == MAX_DURATION
    for text in ("36501d", "99999999999d", "1000000d", "9" * 30 + "ms"):
        with pytest.raises(ValueError, match="longer than"):
            parse_duration(text)


TEXT = {"content-type": "text/plain"}
JSON = {"content-type": "application/json"}
NESTED = b"[" * 200_000 + b"]" * 200_000  # within the body limit, past any parser's depth
FORM = {"content-type": "application/x-www-form-urlencoded"}
TEXT = {"content-type": "text/plain"}
JSON = {"content-type": "application/json"}
NESTED = b"[" * 200_000 + b"]" * 200_000  # within the body limit, past any parser's depth
FORM = {"content-type": "application/x-www-form-urlencoded"}
BAD_REQUESTS: list[tuple[str, str, dict[str, object], int]] = [
    ("GET", "/v1/audit", {"params": {"since": "1000000d"}}, 422),
    ("GET", "/v1/audit", {"params": {"since": "99999999999d"}}, 422),
    (
        "POST",
        "/v1/overrides",
        {"json": {"kind": "block", "tool": "trivy", "reason": "x", "expires": "99999999999d"}},
        422,
    ),
    ("POST", "/v1/overrides", {"json": {"kind": "block", "tool": "trivy", "reason": "a\0b"}}, 422),
    ("POST", "/v1/tokens", {"json": {"name": "a\0b", "scopes": ["check"]}}, 422),
    ("DELETE", "/v1/overrides/9223372036854775808", {}, 422),
    ("DELETE", "/v1/overrides/2147483648", {}, 422),
    ("DELETE", "/v1/overrides/0", {}, 422),
    ("DELETE", "/v1/overrides/1", {"params": {"reason": "a\0b"}}, 422),
    ("DELETE", "/v1/tokens/a%00b", {}, 422),
    ("POST", "/v1/decisions", {"content": b'{"queries": []}', "headers": TEXT}, 415),
    ("POST", "/v1/overrides", {"content": b"{}", "headers": TEXT}, 415),
    ("PUT", "/v1/tools", {}, 405),
    ("POST", "/v1/decisions", {"content": NESTED, "headers": JSON}, 422),
    ("POST", "/v1/overrides", {"content": NESTED, "headers": JSON}, 400),
    ("POST", "/v1/tokens", {"content": b"\xff\xfe{}", "headers": JSON}, 422),
    ("POST", "/v1/decisions", {"content": b" " * (MAX_BODY_BYTES + 1), "headers": JSON}, 413),
    ("POST", "/ui/login", {"content": b"token=" + b"a" * MAX_BODY_BYTES, "headers": FORM}, 413),
]


def test_bad_api_input_is_a_4xx_naming_the_problem(server: LiveServer):
    with server.client(server.token("ops", Scope.ADMIN, Scope.READ, Scope.CHECK)) as client:
        for method, path, options, status in BAD_REQUESTS:
            response = client.request(method, path, **options)  # type: ignore[arg-type]
            assert response.status_code == status, (method, path, options, response.text)
            body = response.json()
            assert body["error"] and body["detail"], body
        assert "GET" in client.put("/v1/tools").headers["allow"]


def test_one_runner_decoding_and_one_limit_on_every_route(server: LiveServer):
    """UTF-8 everywhere: a non-ASCII id is the same runner on both routes; 200 characters is the
    limit in characters, not bytes; bytes that are not UTF-8 are refused."""
    runner_id = "ü" * 150  # 300 bytes
    query = {"tool": "trivy", "version": "0.69.3"}
    with server.client(server.token("runner")) as client:
        one = client.get(
            "/v1/decision", params=query, headers={"X-Toolgate-Runner": runner_id.encode()}
        )
        batch = client.post(
            "/v1/decisions",
            json={"queries": [query]},
            headers={"X-Toolgate-Runner": runner_id.encode()},
        )
        assert (one.status_code, batch.status_code) == (200, 200), (one.text, batch.text)
        for bad in ("é".encode() * 201, b"\xff\xfe runner"):
            refused = [
                client.get("/v1/decision", params=query, headers={"X-Toolgate-Runner": bad}),
                client.post(
                    "/v1/decisions", json={"queries": [query]}, headers={"X-Toolgate-Runner": bad}
                ),
            ]
            for response in refused:
                assert response.status_code == 422, response.text
                assert response.json()["detail"][0]["field"] == "X-Toolgate-Runner"
    wait_for(lambda: server.service.audit.written >= 2)
    with server.client(server.token("auditor", Scope.READ)) as client:
        records = client.get("/v1/audit").json()["records"]
    assert [record["runner"] for record in records] == [runner_id, runner_id]


def test_a_declared_oversize_body_is_refused_before_it_is_read(server: LiveServer):
    token = server.token("runner")
    request = (
        b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n{" % token.encode()
    )
    with socket.create_connection((server.config.server.host, server.config.server.port)) as sock:
        sock.settimeout(30)
        sock.sendall(request)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head


def test_a_streamed_body_is_cut_off_at_the_limit(server: LiveServer):
    """A chunked body with no Content-Length: the app pulls at most the limit plus one chunk."""
    app = create_app(server.service)
    token = server.token("runner")
    chunk = b" " * 65536
    pulled = 0
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        nonlocal pulled
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/decisions",
        "raw_path": b"/v1/decisions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled <= MAX_BODY_BYTES + len(chunk)


@pytest.fixture
def config(write_config: Callable[..., Config], store_url: str) -> Config:
    return write_config(store_url)


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "--since", "1000000d"],
        ["audit", "--since", "99999999999d"],
        ["block", "trivy", "--reason", "x", "--expires", "99999999999d"],
        ["approve", "trivy", "1.0", "--sha256", "a" * 64, "--reason", "x", "--expires", "1000000d"],
        ["revoke", "9223372036854775808"],
        ["revoke", "2147483648"],
        ["token", "create", "--name", "bad name!", "--scope", "check"],
        ["audit", "--limit", "99999999999999999999"],
        ["audit", "--limit", "-1"],
        ["alerts", "list", "--limit", "0"],
        ["alerts", "resend", "2147483648"],
        ["block", "trivy", "--reason", "a\x01b"],
        ["revoke", "1", "--reason", "a\x01b"],
        ["serve", "--listen", "127.0.0.1:99999"],
        ["serve", "--listen", "[::1:8750"],
    ],
)
def test_bad_cli_input_exits_2_with_a_message(config: Config, args: list[str]):
    runner = CliRunner()
    runner.invoke(cli, ["tools", "--config", str(config.source_path)])  # sync the inventory
    result = runner.invoke(cli, [*args, "--config", str(config.source_path)])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error" in result.stderr.lower() or "invalid" in result.stderr.lower()
