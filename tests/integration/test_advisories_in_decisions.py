"""Advisory feeds inside toolgate: synced feeds turn into `advisory` decisions and incidents."""

from __future__ import annotations

import io
import json
import shutil
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from tests.conftest import FIXTURES, LiveServer, wait_until
from tests.web.conftest import login
from verifier.cli import app
from verifier.incidents import list_incidents
from verifier.store.models import ReleaseRow
from verifier.store.revision import bump_revision
from verifier.tokens import Scope

HERE = Path(__file__).resolve().parent
TRIVY_2026 = HERE.parent / "data" / "osv-trivy-2026"
GO_FIXTURES = FIXTURES / "osv" / "go-vulndb"


class FeedServer:
    """A loopback HTTP server publishing an OSV zip and an RSS document that tests can change."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish_zip(self, path: str, records: list[dict]) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for record in records:
                archive.writestr(f"{record['id']}.json", json.dumps(record))
        self.files[path] = buffer.getvalue()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.server.shutdown()


def record(name: str) -> dict:
    return json.loads((TRIVY_2026 / name).read_text())


def add_release(server: LiveServer, tool: str, version: str) -> None:
    with Session(server.engine) as session:
        seen = datetime.now(UTC) - timedelta(days=30)
        session.add(ReleaseRow(tool=tool, version=version, status="verified", first_seen_at=seen))
        bump_revision(session)
        session.commit()
    server.service.refresh()


def feed_config(url: str, rss: str | None = None) -> str:
    extra = f"""
[[feed]]
name = "osv-go"
type = "osv-zip"
url = "{url}/Go/all.zip"
interval = "1h"
"""
    if rss:
        extra += f'\n[[feed]]\nname = "vendor-blog"\ntype = "rss"\nurl = "{rss}"\n'
    return extra


def decide(server: LiveServer, token: str, tool: str, version: str) -> dict:
    with server.client(token) as client:
        return client.get("/v1/decision", params={"tool": tool, "version": version}).json()


def codes(answer: dict) -> list[str]:
    return [reason["code"] for reason in answer["reasons"]]


def wait_for(predicate, timeout: float = 30.0) -> None:
    wait_until(predicate, "condition", timeout)


def test_an_osv_feed_makes_the_api_deny_an_affected_version(live_server, feed_server: FeedServer):
    feed_server.publish_zip("/Go/all.zip", [record("GHSA-69fq-xp46-6x23.json")])
    server = live_server(extra=feed_config(feed_server.url), advisories=True)
    token = server.token("runner")
    for version in ("0.69.3", "0.69.4"):
        add_release(server, "trivy", version)
    wait_for(lambda: "advisory" in codes(decide(server, token, "trivy", "0.69.4")))
    denied = decide(server, token, "trivy", "0.69.4")
    reasons = {reason["code"]: reason for reason in denied["reasons"]}
    assert "advisory" in reasons
    assert "GHSA-69fq-xp46-6x23, CVE-2026-33634" in reasons["advisory"]["found"]
    assert decide(server, token, "trivy", "0.69.3")["decision"] == "allow"
    assert decide(server, token, "trivy", "0.69.3")["newest_allowed"] == "0.69.3"
    with Session(server.engine) as session:
        incidents = [i for i in list_incidents(session) if i.kind == "advisory"]
    assert [(i.tool, i.version, i.severity) for i in incidents] == [("trivy", "0.69.4", "critical")]
    # `toolgate tools` gives the reasons the API gives, advisories included
    listed = CliRunner().invoke(
        app, ["tools", "--json", "--config", str(server.config.source_path)]
    )
    assert listed.exit_code == 0, listed.output
    (trivy,) = [t for t in json.loads(listed.stdout)["tools"] if t["name"] == "trivy"]
    (row,) = [v for v in trivy["versions"] if v["version"] == "0.69.4"]
    assert (row["decision"], [r["code"] for r in row["reasons"]]) == ("deny", codes(denied))


def test_withdrawal_and_waivers_retract_the_denial(
    live_server, feed_server: FeedServer, tmp_path: Path
):
    ghsa, go = record("GHSA-69fq-xp46-6x23.json"), record("GO-2026-4919.json")
    feed_server.publish_zip("/Go/all.zip", [ghsa, go])
    server = live_server(extra=feed_config(feed_server.url), advisories=True)
    token = server.token("runner")
    add_release(server, "trivy", "0.69.3")
    add_release(server, "trivy", "0.70.0")
    runner = CliRunner()
    config = str(server.config.source_path)
    assert runner.invoke(app, ["advisories", "sync", "--config", config]).exit_code == 0
    server.service.refresh()
    # GO-2026-4919 has no fix: its broader reading denies 0.70.0 and says the records disagree
    later = decide(server, token, "trivy", "0.70.0")
    assert later["decision"] == "deny"
    assert "disagree" in later["reasons"][0]["detail"]
    waived = runner.invoke(
        app,
        ["advisories", "waive", "CVE-2026-33634", "--tool", "trivy", "--versions", ">=0.69.7",
         "--reason", "GO-2026-4919 has no fix event; vendor says 0.69.7+ are clean",
         "--expires", "30d", "--config", config],
    )  # fmt: skip
    assert waived.exit_code == 0, waived.stderr
    server.service.refresh()
    allowed = decide(server, token, "trivy", "0.70.0")
    assert allowed["decision"] == "allow"
    assert (
        allowed["reasons"][0]["code"] == "override" and "waived" in allowed["reasons"][0]["detail"]
    )
    # the advisory is withdrawn upstream: the next sync retracts it from decisions
    withdrawn = {**ghsa, "withdrawn": "2026-03-25T00:00:00Z", "modified": "2026-03-25T00:00:00Z"}
    go_withdrawn = {**go, "withdrawn": "2026-03-25T00:00:00Z", "modified": "2026-03-25T00:00:00Z"}
    feed_server.publish_zip("/Go/all.zip", [withdrawn, go_withdrawn])
    add_release(server, "trivy", "0.69.4")
    assert "advisory" in codes(decide(server, token, "trivy", "0.69.4"))
    assert runner.invoke(app, ["advisories", "sync", "--config", config]).exit_code == 0
    server.service.refresh()
    assert codes(decide(server, token, "trivy", "0.69.4")) == ["not-approved"]
    with Session(server.engine) as session:
        assert [i for i in list_incidents(session) if i.kind == "advisory"] == []


def test_feed_entries_naming_a_version_warn(live_server, feed_server: FeedServer):
    feed_server.publish_zip("/Go/all.zip", [])
    feed_server.files["/blog.xml"] = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Vendor security blog</title>
<item><title>Trivy 0.69.3 users: check your runners</title><link>https://blog.example/trivy</link>
<guid>https://blog.example/trivy</guid>
<description>Reports mention trivy 0.69.3.</description></item>
</channel></rss>"""
    server = live_server(
        extra=feed_config(feed_server.url, f"{feed_server.url}/blog.xml"), advisories=True
    )
    token = server.token("runner")
    add_release(server, "trivy", "0.69.3")
    wait_for(lambda: decide(server, token, "trivy", "0.69.3")["decision"] == "warn")
    (reason,) = decide(server, token, "trivy", "0.69.3")["reasons"]
    assert reason["code"] == "advisory" and "Trivy 0.69.3 users" in reason["found"]
    assert "toolgate block" in reason["detail"]


def test_a_feed_that_cannot_be_read_makes_readyz_degraded(live_server, feed_server: FeedServer):
    server = live_server(extra=feed_config(feed_server.url), advisories=True)  # nothing published
    with server.client() as client:
        wait_for(lambda: client.get("/readyz").json()["stale_feeds"] == ["osv-go"])
        ready = client.get("/readyz").json()
        assert (ready["status"], ready["failing_feeds"]) == ("degraded", ["osv-go"])
    with Session(server.engine) as session:
        assert sorted(i.kind for i in list_incidents(session)) == ["feed-failing", "feed-stale"]


def test_cli_import_match_and_show(tmp_path: Path, write_config):
    config = write_config()
    runner = CliRunner()
    directory = tmp_path / "osv"
    shutil.copytree(GO_FIXTURES, directory)
    shutil.copytree(TRIVY_2026, directory / "trivy-2026")
    imported = runner.invoke(
        app, ["advisories", "import", str(directory), "--config", str(config.source_path)]
    )
    assert imported.exit_code == 0, imported.stderr
    assert "skipped" in imported.stdout and " 0 skipped" in imported.stdout
    args = ["--config", str(config.source_path)]
    affected = runner.invoke(
        app,
        ["advisories", "match", "Go", "github.com/aquasecurity/trivy", "0.51.1", "--json", *args],
    )
    assert affected.exit_code == 1
    ids = {m["id"] for m in json.loads(affected.stdout)["matches"]}
    assert ids == {"GO-2024-2870"}
    clean = runner.invoke(
        app, ["advisories", "match", "Go", "github.com/aquasecurity/trivy", "0.51.2", *args]
    )
    assert clean.exit_code == 0
    invalid = runner.invoke(
        app, ["advisories", "match", "Go", "github.com/aquasecurity/trivy", "not a version", *args]
    )
    assert invalid.exit_code == 2
    shown = runner.invoke(app, ["advisories", "show", "CVE-2026-33634", *args])
    assert shown.exit_code == 0
    assert {r["id"] for r in json.loads(shown.stdout)} == {"GHSA-69fq-xp46-6x23", "GO-2026-4919"}
    assert runner.invoke(app, ["advisories", "show", "CVE-1999-0001", *args]).exit_code == 1


def unreadable_trivy_record() -> dict:
    """A real record for trivy whose fix is not a Go version: it covers trivy but cannot be
    evaluated."""
    ghsa = record("GHSA-69fq-xp46-6x23.json")
    affected = {**ghsa["affected"][0]}
    affected["ranges"] = [
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "next-release"}]}
    ]
    return {**ghsa, "id": "GHSA-unread-able0-0001", "aliases": [], "affected": [affected]}


@pytest.mark.parametrize(("action", "decision"), [("warn", "warn"), ("deny", "deny")])
def test_an_advisory_that_cannot_be_evaluated_is_never_a_clean_allow(
    live_server, feed_server: FeedServer, action: str, decision: str
):
    feed_server.publish_zip("/Go/all.zip", [unreadable_trivy_record()])
    extra = f'\n[advisories]\nunevaluated = "{action}"\n' + feed_config(feed_server.url)
    server = live_server(extra=extra, advisories=True)
    token = server.token("runner")
    add_release(server, "trivy", "0.69.3")
    wait_for(lambda: "advisory-unevaluated" in codes(decide(server, token, "trivy", "0.69.3")))
    answer = decide(server, token, "trivy", "0.69.3")
    assert answer["decision"] == decision
    (reason,) = [r for r in answer["reasons"] if r["code"] == "advisory-unevaluated"]
    assert "GHSA-unread-able0-0001" in reason["found"]
    assert "'next-release' is not a valid Go version" in reason["detail"]
    # ... and on the dashboard's advisories page, marked as not evaluated
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        assert login(browser, server.token("reader", Scope.READ)).status_code == 303
        page = browser.get("/ui/advisories").text
    assert "GHSA-unread-able0-0001" in page and "not evaluated" in page
    with Session(server.engine) as session:
        (incident,) = [i for i in list_incidents(session) if i.kind == "advisory"]
    assert incident.summary.startswith("GHSA-unread-able0-0001 could not be evaluated for trivy")


def test_cli_match_explains_and_fails_on_unevaluated_records(tmp_path: Path, write_config):
    config = write_config()
    directory = tmp_path / "osv"
    directory.mkdir()
    (directory / "bad.json").write_text(json.dumps(unreadable_trivy_record()))
    ubuntu = {
        "id": "UBUNTU-CVE-2024-0001",
        "modified": "2024-05-06T14:35:40Z",
        "affected": [
            {
                "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.15"}],
                    }
                ],
            }
        ],
    }
    (directory / "ubuntu.json").write_text(json.dumps(ubuntu))
    runner = CliRunner()
    args = ["--config", str(config.source_path)]
    imported = runner.invoke(app, ["advisories", "import", str(directory), *args])
    assert imported.exit_code == 0, imported.stderr  # kept, not skipped
    trivy = ["advisories", "match", "Go", "github.com/aquasecurity/trivy", "0.69.3", *args]
    unevaluated = runner.invoke(app, [*trivy, "--json"])
    assert unevaluated.exit_code == 1
    (item,) = json.loads(unevaluated.stdout)["unevaluated"]
    assert item["id"] == "GHSA-unread-able0-0001" and "next-release" in item["why"]
    ssl = ["advisories", "match", "Ubuntu:22.04:LTS", "openssl"]
    affected = runner.invoke(app, [*ssl, "3.0.2-0ubuntu1.14", "--json", *args])
    assert affected.exit_code == 1
    (match,) = json.loads(affected.stdout)["matches"]
    assert match["matched"].endswith("in ECOSYSTEM range introduced 0, fixed 3.0.2-0ubuntu1.15")
    assert runner.invoke(app, [*ssl, "3.0.2-0ubuntu1.15", *args]).exit_code == 0
    unknown = runner.invoke(app, ["advisories", "match", "Cobol", "x", "1.0", *args])
    assert unknown.exit_code == 2 and "unknown ecosystem 'Cobol'" in unknown.stderr
