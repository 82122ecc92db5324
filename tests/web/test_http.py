"""The dashboard over HTTP against a live server: sessions, cookie flags, headers, CSRF, scopes."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from tests.conftest import LiveServer
from tests.web.conftest import csrf_of, login, wait_for
from verifier.inventory import add_override
from verifier.store.models import AlertDeliveryRow, EventRow, OverrideRow
from verifier.tokens import Scope, hash_token, revoke_token
from verifier.web.security import COOKIE_NAME, KEY_FILE

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGES = (
    "/ui/",
    "/ui/tools/trivy",
    "/ui/tools/aquasecurity/trivy-action",
    "/ui/incidents",
    "/ui/incidents?state=all",
    "/ui/incidents/1",
    "/ui/advisories",
    "/ui/exposure",
    "/ui/audit",
)
WEBHOOK = """
[alerts]
poll_interval = "100ms"

[[alerts.webhook]]
url = "http://127.0.0.1:9/hook"
secret_file = "hook.secret"
name = "chat"

[[feed]]
name = "osv-local"
type = "osv"
path = "{osv}"
"""
OSV_DIR = Path(__file__).resolve().parents[1] / "data" / "osv-trivy-2026"


class Site:
    """A live server with a blocked trivy version (an incident) and tokens of each scope."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.read = server.token("reader", Scope.READ)
        self.admin = server.token("boss", Scope.ADMIN)
        self.check = server.token("runner", Scope.CHECK)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=10)

    @contextmanager
    def logged_in(self, token: str) -> Iterator[httpx.Client]:
        with self.client() as client:
            assert login(client, token).status_code == 303
            yield client

    def events(self, actor: str) -> list[tuple[str, str]]:
        with Session(self.server.engine) as session:
            rows = session.scalars(select(EventRow).where(EventRow.actor == actor)).all()
        return [(row.action, row.target) for row in rows]


@pytest.fixture
def site(live_server: Callable[..., LiveServer], tmp_path: Path) -> Site:
    (tmp_path / "hook.secret").write_text("s3cret-for-tests")
    server = live_server(extra=WEBHOOK.format(osv=OSV_DIR))
    add_override(
        server.engine, kind="block", tool="trivy", actor="test", reason="bad", version="0.69.4"
    )
    server.service.refresh()
    return Site(server)


def assert_hardened(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_every_page_without_a_session_redirects_to_the_login_page(site: Site):
    forged = "eyJ0IjoxfQ.forged.signature"
    with site.client() as client:
        for path in (*PAGES, "/ui/no/such/page"):
            for cookies in ({}, {COOKIE_NAME: forged}):
                client.cookies.clear()
                client.cookies.update(cookies)
                answer = client.get(path, headers={"Authorization": f"Bearer {site.admin}"})
                assert answer.status_code == 303, path
                assert answer.headers["location"].startswith("/ui/login?next=%2Fui%2F")
                assert "trivy" not in answer.text
                assert_hardened(answer)
        login_page = client.get("/ui/login")
        assert login_page.status_code == 200 and 'name="token"' in login_page.text
        assert_hardened(login_page)
        assert client.get("/ui").headers["location"] == "/ui/"


def test_login_sets_a_hardened_cookie_that_holds_no_token(site: Site):
    with site.client() as client:
        answer = login(client, site.read)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/")
        cookie = answer.headers["set-cookie"]
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "path", "samesite", "max-age"} <= flags
        assert "Path=/ui" in cookie and "SameSite=strict" in cookie
        assert "secure" not in flags  # plain http on loopback
        value = client.cookies[COOKIE_NAME]
        assert site.read not in value and hash_token(site.read) not in value
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 200, path
            assert_hardened(page)
            assert page.headers["cache-control"] == "no-store"
            assert "<script" not in page.text and "style=" not in page.text
            assert not re.search(r'(?:src|href|action)="(?!/ui/|#)', page.text), path
        css = client.get("/ui/static/dashboard.css")
        assert css.headers["content-type"].startswith("text/css") and "prefers-color-scheme" in (
            css.text
        )
        assert "url(" not in css.text and "@import" not in css.text
    key = site.server.config.state_dir / KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600


def test_the_cookie_is_secure_when_served_over_https(site: Site):
    with site.client() as client:
        # uvicorn trusts X-Forwarded-Proto from loopback, as from a TLS-terminating proxy
        answer = client.post(
            "/ui/login",
            data={"token": site.read},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()


def test_failed_logins_are_logged_without_the_token_and_rate_limited(
    site: Site, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="verifier.web")
    with site.client() as client:
        wrong_scope = client.post("/ui/login", data={"token": site.check})
        assert wrong_scope.status_code == 401 and "neither" in wrong_scope.text
        assert COOKIE_NAME not in client.cookies
        for attempt in range(9):
            answer = client.post("/ui/login", data={"token": f"tg_guess-{attempt}"})
            assert answer.status_code == 401
        limited = client.post("/ui/login", data={"token": site.read})  # right, but too late
        assert limited.status_code == 429 and COOKIE_NAME not in client.cookies
    assert "dashboard login failed" in caplog.text
    assert "tg_guess" not in caplog.text and site.check not in caplog.text
    assert site.read not in caplog.text


def test_the_overview_lists_tools_with_denied_versions_on_request(site: Site):
    engine = site.server.engine  # an approved version the block still denies: a known version
    add_override(
        engine,
        kind="approve",
        tool="trivy",
        actor="t",
        reason="r",
        version="0.69.4",
        sha256="a" * 64,
    )
    site.server.service.refresh()
    with site.logged_in(site.read) as reader:
        wait_for(lambda: "(1 of 3)" in reader.get("/ui/", params={"only": "deny"}).text)
        every = reader.get("/ui/").text
        denied = reader.get("/ui/", params={"only": "deny"}).text
        odd = reader.get("/ui/", params={"only": "<script>"})
    assert all(f'href="/ui/tools/{name}"' in every for name in ("trivy", "cosign"))
    assert 'href="/ui/tools/trivy"' in denied and 'href="/ui/tools/cosign"' not in denied
    assert odd.status_code == 200 and "<script>" not in odd.text


def test_the_overview_shows_each_feeds_freshness(site: Site):
    with site.logged_in(site.read) as reader:
        wait_for(lambda: "fresh" in reader.get("/ui/").text)  # the daemon syncs it on start
        overview = reader.get("/ui/").text
    assert "osv-local" in overview and "stale" not in overview


def test_revoking_the_token_ends_its_sessions_at_once(site: Site):
    with site.logged_in(site.read) as client:
        assert client.get("/ui/").status_code == 200
        revoke_token(site.server.engine, "reader", "test")
        answer = client.get("/ui/")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")


def test_actions_need_an_admin_session_and_its_csrf_token(site: Site):
    form = {"kind": "block", "tool": "cosign", "reason": "suspicious"}
    with site.client() as anonymous:
        assert anonymous.post("/ui/actions/override", data=form).status_code == 303  # to login
    with site.logged_in(site.read) as reader:
        token = csrf_of(reader.get("/ui/tools/cosign").text)
        refused = reader.post("/ui/actions/override", data={**form, "csrf": token})
        assert refused.status_code == 403 and "admin" in refused.text
    with site.logged_in(site.admin) as admin, site.logged_in(site.admin) as other:
        token = csrf_of(admin.get("/ui/tools/cosign").text)
        other_token = csrf_of(other.get("/ui/tools/cosign").text)
        assert token != other_token  # bound to the session
        for bad in ({}, {"csrf": ""}, {"csrf": "x" * 64}, {"csrf": other_token}):
            answer = admin.post("/ui/actions/override", data={**form, **bad})
            assert answer.status_code == 403, bad
            assert_hardened(answer)
        foreign = admin.post(
            "/ui/actions/override",
            data={**form, "csrf": token},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        proxied = {"Origin": "https://toolgate.example", "X-Forwarded-Host": "toolgate.example"}
        bad_form = {**form, "csrf": token, "reason": " "}  # passes the origin check, then 422
        assert admin.post("/ui/actions/override", data=bad_form, headers=proxied).status_code == 422
        assert site.events("token:boss") == []
        done = admin.post("/ui/actions/override", data={**form, "csrf": token})
        assert (done.status_code, done.headers["location"]) == (
            303,
            "/ui/tools/cosign?notice=block",
        )
        page = admin.get(done.headers["location"])
        assert "Block recorded" in page.text and "every version" in page.text
    assert site.events("token:boss") == [("block", "cosign")]
    with Session(site.server.engine) as session:
        row = session.scalars(select(OverrideRow).where(OverrideRow.tool == "cosign")).one()
    assert (row.kind, row.actor, row.reason, row.version) == (
        "block",
        "token:boss",
        "suspicious",
        None,
    )


def test_bad_action_input_is_a_clear_error_not_a_crash(site: Site):
    with site.logged_in(site.admin) as admin:
        token = csrf_of(admin.get("/ui/").text)
        cases = [
            (
                {"kind": "approve", "tool": "trivy", "version": "0.69.3", "reason": "x"},
                422,
                "sha256",
            ),
            (
                {
                    "kind": "approve",
                    "tool": "trivy",
                    "version": "0.69.3",
                    "sha256": "zz",
                    "reason": "x",
                },
                422,
                "sha256",
            ),
            ({"kind": "block", "tool": "trivy", "reason": "x", "expires": "soon"}, 422, "duration"),
            (
                {"kind": "block", "tool": "trivy", "reason": "x", "expires": "9" * 20 + "w"},
                422,
                "dur",
            ),
            (
                {"kind": "block", "tool": "trivy", "reason": "x", "expires": "101000d"},
                422,
                "century",
            ),
            ({"kind": "block", "tool": "trivy", "reason": "   "}, 422, "reason"),
            ({"kind": "block", "tool": "nope", "reason": "x"}, 404, "not in the inventory"),
            ({"kind": "delete", "tool": "trivy", "reason": "x"}, 422, "kind"),
            ({"kind": "block", "tool": "trivy", "reason": "a\x00b"}, 422, "reason"),
        ]
        for fields, status, words in cases:
            answer = admin.post("/ui/actions/override", data={**fields, "csrf": token})
            assert answer.status_code == status, fields
            assert words in answer.text, (fields, answer.text)
        upload = admin.post(
            "/ui/actions/override", data={"csrf": token}, files={"reason": ("a.txt", b"x")}
        )
        assert upload.status_code == 400
        for params, words in (
            ({"tool": "trivy", "version": "0.69.4", "sha256": "zz"}, "sha256"),
            ({"tool": "nope", "version": "1.0"}, "not in the inventory"),
            ({"tool": "trivy"}, "version"),
        ):
            answer = admin.get("/ui/exposure", params=params)
            assert answer.status_code == 422 and words in answer.text, params
        looked_up = admin.get("/ui/exposure", params={"tool": "trivy", "version": "0.69.4"})
        assert looked_up.status_code == 200 and "No runner fetched it" in looked_up.text
        assert admin.get("/ui/incidents/99999").status_code == 404
        assert admin.get("/ui/incidents/" + "9" * 30).status_code == 404
        huge = {"delivery": "9" * 30, "incident": "1", "csrf": token}
        assert admin.post("/ui/actions/resend", data=huge).status_code == 422
        assert admin.get("/ui/audit", params={"since": "9" * 20 + "w"}).status_code == 422
        for field in ("tool", "runner"):
            assert admin.get("/ui/audit", params={field: "a\x00b"}).status_code == 422
        for cursor, status in (
            (f"2026-01-01T00:00:00+00:00~{'9' * 30}", 422),
            (f"2026-01-01T00:00:00+00:00~{2**31 - 1}", 200),
            (f"2026-01-01T00:00:00+00:00~{2**31}", 422),
            ("2026-01-01T00:00:00~1", 422),
        ):
            assert admin.get("/ui/audit", params={"before": cursor}).status_code == status
        assert admin.get("/ui/tools/no-such-tool").status_code == 404
    assert site.events("token:boss") == []


def test_login_never_redirects_off_the_dashboard(site: Site):
    with site.client() as client:
        for target in ("https://evil.example/", "//evil.example/ui/", "/v1/tokens", "/ui\\..\\x"):
            client.cookies.clear()
            answer = client.post("/ui/login", data={"token": site.read, "next": target})
            assert answer.headers["location"] == "/ui/", target
        client.cookies.clear()
        answer = client.post("/ui/login", data={"token": site.read, "next": "/ui/audit?tool=x"})
        assert answer.headers["location"] == "/ui/audit?tool=x"


def test_an_admin_resends_an_alert_delivery_from_the_incident_page(site: Site):
    engine = site.server.engine

    def delivery() -> AlertDeliveryRow | None:
        with Session(engine) as session:
            return session.scalars(select(AlertDeliveryRow)).first()

    wait_for(lambda: delivery() is not None)
    row = delivery()
    assert row is not None
    with site.logged_in(site.admin) as admin:
        page = admin.get("/ui/incidents/1")
        assert "chat" in page.text and "Resend" in page.text
        answer = admin.post(
            "/ui/actions/resend",
            data={"delivery": str(row.id), "incident": "1", "csrf": csrf_of(page.text)},
        )
        assert (answer.status_code, answer.headers["location"]) == (
            303,
            "/ui/incidents/1?notice=resend",
        )
    assert site.events("token:boss") == [("alert-resend", f"delivery #{row.id}")]


def test_the_audit_log_filters_and_pages(site: Site):
    queries = [{"tool": "trivy", "version": f"0.{60 + i % 15}.0"} for i in range(57)]
    queries += [{"tool": "cosign", "version": "2.0.0"}] * 3
    with site.server.client(site.check) as runner:
        answer = runner.post(
            "/v1/decisions", json={"queries": queries}, headers={"X-Toolgate-Runner": "r-1"}
        )
        assert answer.status_code == 200
    with site.logged_in(site.read) as reader:
        wait_for(lambda: reader.get("/ui/audit?tool=cosign").text.count("<tr>") == 4)
        first = reader.get("/ui/audit", params={"tool": "trivy", "runner": "r-1"})
        assert first.text.count('<a href="/ui/tools/trivy">') == 50
        older = re.search(r'<a href="([^"]+)">Older', first.text)
        assert older, "no link to the next page"
        second = reader.get(older.group(1).replace("&amp;", "&"))
        assert second.text.count('<a href="/ui/tools/trivy">') == 7
        assert "Older" not in second.text and "Newest" in second.text
        warned = reader.get("/ui/audit", params={"decision": "warn"})  # cosign is in warn mode
        assert warned.text.count('<a href="/ui/tools/cosign">') == 3
        assert '<a href="/ui/tools/trivy">' not in warned.text
        assert "No decision matches" in reader.get("/ui/audit", params={"runner": "nobody"}).text
        bad = reader.get("/ui/audit", params={"since": "yesterday", "decision": "maybe"})
        assert bad.status_code == 422 and "since" in bad.text and "decision" in bad.text
        assert reader.get("/ui/audit", params={"before": "garbage"}).status_code == 422


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    page=st.sampled_from(["/ui/audit", "/ui/exposure", "/ui/incidents", "/ui/tools/trivy"]),
    params=st.dictionaries(
        st.sampled_from(["tool", "runner", "decision", "since", "before", "version", "sha256"]),
        st.text(max_size=60),
        max_size=5,
    ),
)
def test_no_query_string_makes_a_page_fail(site: Site, page: str, params: dict[str, str]):
    with site.logged_in(site.read) as reader:
        answer = reader.get(page, params=params)
    assert answer.status_code in (200, 422), (page, params, answer.text[:500])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.fixed_dictionaries(
        {"kind": st.sampled_from(["approve", "block", "waive", ""])},
        optional={
            name: st.one_of(st.text(max_size=70), st.sampled_from(["trivy", "0.69.3", "a" * 64]))
            for name in ("tool", "version", "sha256", "reason", "expires")
        },
    )
)
def test_no_override_form_makes_the_action_fail(site: Site, fields: dict[str, str]):
    with site.logged_in(site.admin) as admin:
        token = csrf_of(admin.get("/ui/tools/trivy").text)
        answer = admin.post("/ui/actions/override", data={**fields, "csrf": token})
    assert answer.status_code in (303, 404, 422), (fields, answer.text[:500])


def test_a_tool_page_highlights_no_navigation_entry_and_expiry_reads_as_optional(site: Site):
    with site.logged_in(site.admin) as admin:
        page = admin.get("/ui/tools/trivy").text
        overview = admin.get("/ui/").text
    assert 'aria-current="page"' not in page  # "Overview" is not the page being shown
    assert 'href="/ui/" aria-current="page"' in overview
    assert 'placeholder="7d"' not in page and 'placeholder="30d"' not in page
    assert 'name="expires" placeholder="never"' in page and "such as <code>7d</code>" in page
