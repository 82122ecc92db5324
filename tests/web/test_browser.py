"""The dashboard in a real browser: Debian's chromium driven by Playwright, JavaScript off.

Playwright never downloads a browser here: it drives /usr/bin/chromium. A machine without it
fails these tests (`.ci/run` installs it); they are never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import Session, select

from tests.watcher.conftest import ACTION_REPO
from tests.web.conftest import Populated
from verifier.store.models import EventRow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """SQLite only: the browser exercises pages, the store backends are covered elsewhere."""
    return f"sqlite:///{tmp_path / 'store' / 'toolgate.db'}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser, viewport: dict[str, int] = LAPTOP) -> Page:
    """A fresh browser profile with JavaScript disabled: every page must work without it."""
    context = browser.new_context(viewport=viewport, java_script_enabled=False)  # type: ignore[arg-type]
    return context.new_page()


def log_in(page: Page, populated: Populated, token: str, path: str = "/ui/") -> None:
    page.goto(populated.url + path)
    expect(page.get_by_role("heading", name="Log in to the dashboard")).to_be_visible()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()


def test_unauthenticated_visits_get_the_login_page_and_no_data(populated, browser):
    page = new_page(browser)
    for path in ("/ui/", "/ui/tools/rfc8785", "/ui/incidents/1", "/ui/audit?tool=rfc8785"):
        page.goto(populated.url + path)
        assert "/ui/login?next=" in page.url, path
        expect(page.get_by_role("heading", name="Log in to the dashboard")).to_be_visible()
        body = page.content()
        assert "runner-7" not in body and "0.1.2" not in body and "tag-moved" not in body
    page.get_by_label("API token").fill("tg_not-a-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Unknown or revoked token")
    page.context.close()


def test_a_reader_opens_a_tool_follows_its_incident_and_sees_the_reasons(
    populated, browser, tmp_path
):
    page = new_page(browser)
    log_in(page, populated, populated.read_token, "/ui/tools/rfc8785")
    assert page.url.endswith("/ui/tools/rfc8785")  # back where the login started
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".card").filter(has_text="Open incidents")).to_contain_text("2")
    page.screenshot(path=tmp_path / "overview-laptop.png", full_page=True)

    page.get_by_role("link", name=ACTION_REPO, exact=True).click()
    expect(page.get_by_role("heading", name=ACTION_REPO)).to_be_visible()
    row = page.locator("tr#v-0\\.35\\.0")
    expect(row.locator(".badge")).to_have_text("deny")
    expect(row).to_contain_text("tag-moved")
    expect(row).to_contain_text("commit-not-on-branch")
    expect(page.locator("tr.moved")).to_contain_text("0.35.0")  # the tag pin, moved
    assert page.get_by_role("button", name="Block 0.35.0").count() == 0  # read scope: no forms
    page.screenshot(path=tmp_path / "tool-laptop.png", full_page=True)

    page.get_by_role("link", name="tag-moved").first.click()
    expect(page.get_by_role("heading", name="Incident")).to_be_visible()
    expect(page.locator("#now ul.reasons")).to_contain_text("tag-moved")  # told now
    expect(page.locator("dl.facts ul.reasons")).to_contain_text("tag-moved")  # what changed
    expect(page.locator("main")).to_contain_text("1 runner fetched it")
    expect(page.locator("main")).to_contain_text("runner-7")
    expect(page.locator("main")).to_contain_text("Rotate every credential")
    page.screenshot(path=tmp_path / "incident-laptop.png", full_page=True)

    page.get_by_role("link", name="Exposure").click()
    page.get_by_label("Tool").fill(ACTION_REPO)
    page.get_by_label("Version").fill("v0.35.0")  # either spelling of the release
    page.get_by_role("button", name="Who fetched it?").click()
    found = page.locator("article.exposure").first
    expect(found.locator(".badge")).to_have_text("deny")
    expect(found).to_contain_text("runner-7")
    expect(found).to_contain_text("https://ci.example/job/42")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=tmp_path / "exposure-dark.png", full_page=True)

    phone = new_page(browser, PHONE)
    log_in(phone, populated, populated.read_token)
    phone.screenshot(path=tmp_path / "overview-phone.png", full_page=True)
    phone.goto(populated.url + "/ui/tools/" + ACTION_REPO)
    expect(phone.locator("tr#v-0\\.35\\.0")).to_contain_text("tag-moved")
    width = phone.evaluate("document.documentElement.scrollWidth")  # runs in Playwright's world
    assert width <= PHONE["width"], "the page scrolls sideways on a phone: tables must scroll"
    phone.screenshot(path=tmp_path / "tool-phone.png", full_page=True)
    shots = ("overview-laptop", "tool-laptop", "incident-laptop", "exposure-dark", "overview-phone")
    for name in (*shots, "tool-phone"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
    page.context.close()
    phone.context.close()


def test_an_admin_blocks_and_approves_through_the_forms(populated, browser):
    page = new_page(browser)
    log_in(page, populated, populated.admin_token, "/ui/tools/rfc8785")
    row = page.locator("tr#v-v0\\.1\\.2")
    expect(row.locator(".badge")).to_have_text("allow")
    row.locator("summary", has_text="evidence").click()  # <details>: no script needed
    evidence = row.locator("dl.evidence").first
    expect(evidence).to_be_visible()
    expect(evidence).to_contain_text("release.yml@refs/tags/v0.1.2")  # the signer
    expect(evidence).to_contain_text("79605083")  # its Rekor entry
    expect(row).to_contain_text("SHA256SUMS line 1")
    row.locator("form.block").get_by_label("Reason").fill("pulled while we look at it")
    row.get_by_role("button", name="Block v0.1.2").click()
    expect(page.get_by_role("status")).to_contain_text("Block recorded")
    row = page.locator("tr#v-v0\\.1\\.2")
    expect(row.locator(".badge")).to_have_text("deny")
    expect(row).to_contain_text("manual-block")
    expect(page.locator("ol.timeline")).to_contain_text("pulled while we look at it")

    page.goto(populated.url + "/ui/tools/trivy")
    row = page.locator("tr#v-0\\.69\\.4")
    expect(row).to_contain_text("advisory")  # the approval does not beat the advisory
    row.locator("summary", has_text="approve").click()
    approve = row.locator("form.approve")
    approve.get_by_label("sha256 you verified").fill("d" * 64)
    approve.get_by_label("Reason").fill("rebuilt from source")
    row.get_by_role("button", name="Approve 0.69.4").click()
    expect(page.get_by_role("status")).to_contain_text("Approval recorded")

    with Session(populated.server.engine) as session:
        events = session.scalars(select(EventRow).where(EventRow.actor == "token:boss")).all()
    assert [(e.action, e.target) for e in events] == [
        ("block", "rfc8785 v0.1.2"),
        ("approve", "trivy 0.69.4"),
    ]
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to the dashboard")).to_be_visible()
    page.goto(populated.url + "/ui/")
    assert "/ui/login" in page.url
    page.context.close()
