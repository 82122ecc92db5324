"""RSS/Atom/RDF/JSON Feed scanning over feedparser's own test documents and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from advisories import PatternError
from advisories.feeds import ToolPatterns, scan_feed, version_hints

from .conftest import FEED_FIXTURES

FEEDPARSER = FEED_FIXTURES / "feedparser"

# file → (format, entries recovered, ill-formed?)
EXPECTED = {
    "illformed/encoding__bozo_linenoise.xml": ("rss20", 1, True),
    "illformed/illformed__rss_incomplete_cdata.xml": ("rss20", 1, True),
    "illformed/illformed__rss_item_link_corrupted_ampersands.xml": ("rss20", 1, True),
    "illformed/illformed__undeclared_namespace.xml": ("rss20", 0, True),
    "wellformed/encoding__utf-8-bom.xml": ("rss", 0, False),
    "wellformed/json__example.json": ("json", 2, False),
    "wellformed/wellformed__atom10__entry_id_map_guid.xml": ("atom10", 1, False),
    "wellformed/wellformed__atom10__entry_link_multiple.xml": ("atom10", 1, False),
    "wellformed/wellformed__atom10__entry_link_rel_enclosure.xml": ("atom10", 1, False),
    "wellformed/wellformed__atom10__feed_contributor_multiple.xml": ("atom10", 0, False),
    "wellformed/wellformed__rdf__rdf_item_description.xml": ("rss10", 1, False),
    "wellformed/wellformed__rss__channel_pubDate_map_updated_parsed.xml": ("rss20", 0, False),
    "wellformed/wellformed__rss__item_description_escaped_markup.xml": ("rss20", 1, False),
    "wellformed/wellformed__rss__item_enclosure_multiple.xml": ("rss20", 1, False),
    "wellformed/wellformed__rss__item_guid_isPermaLink_map_link.xml": ("rss20", 1, False),
}
TOOLS = {"example": ["example"], "link": ["re:link/get\\?a=1&b=2"]}


def test_every_feedparser_fixture_is_listed() -> None:
    on_disk = {str(p.relative_to(FEEDPARSER)) for p in FEEDPARSER.rglob("*") if p.is_file()}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_feedparser_fixtures(name: str) -> None:
    scan = scan_feed((FEEDPARSER / name).read_bytes(), feed=name, tools=TOOLS)
    assert (scan.format, scan.entries, scan.bozo) == EXPECTED[name]
    assert (scan.bozo_reason is not None) == scan.bozo
    # Ill-formed documents with recovered entries are still scanned; with none, reported.
    assert bool(scan.skipped) == (scan.bozo and scan.entries == 0)


def test_recovered_entries_of_illformed_documents_are_used() -> None:
    name = "illformed/illformed__rss_item_link_corrupted_ampersands.xml"
    scan = scan_feed((FEEDPARSER / name).read_bytes(), feed="f", tools=TOOLS)
    (hit,) = scan.hits
    assert (hit.tool, hit.link) == ("link", "http://link/get?a=1&b=2")
    assert scan.bozo and "SAXParseException" in scan.bozo_reason


def test_json_feed_entries() -> None:
    raw = (FEEDPARSER / "wellformed/json__example.json").read_bytes()
    scan = scan_feed(raw, feed="json", tools={"site": ["example.org/initial-post"]})
    (hit,) = scan.hits
    assert (hit.entry_id, hit.link) == ("1", "https://example.org/initial-post")


TRIVY_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Security blog</title>
<item><guid>post-1</guid><title>Trivy v0.69.4 release artifacts compromised</title>
<link>https://example.com/blog/trivy-incident</link><pubDate>Fri, 20 Mar 2026 08:00:00 GMT</pubDate>
<description>&lt;p&gt;Upgrade to 0.69.3 or stay on 0.69.2;
trivy-action 0.35.0 is safe.&lt;/p&gt;</description></item>
<item><guid>post-2</guid><title>Grype 0.104.1 released</title>
<description>Bug fixes.</description></item>
<item><guid>post-3</guid><title>Unrelated: a trivyal matter</title>
<description>nothing</description></item>
</channel></rss>"""


def test_entries_are_matched_to_tools_with_version_hints() -> None:
    tools = {"trivy": ["trivy"], "trivy-action": ["re:trivy-action"], "grype": ["Grype"]}
    scan = scan_feed(TRIVY_FEED, feed="blog", tools=tools)
    assert not scan.bozo and scan.entries == 3
    got = {(h.entry_id, h.tool): h for h in scan.hits}
    assert set(got) == {("post-1", "trivy"), ("post-1", "trivy-action"), ("post-2", "grype")}
    hit = got[("post-1", "trivy")]
    assert hit.version_hints == ("0.69.4", "0.69.3", "0.69.2", "0.35.0")
    assert hit.published == datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    assert hit.link == "https://example.com/blog/trivy-incident"


@pytest.mark.parametrize(
    ("text", "hints"),
    [
        ("trivy v0.69.4 and v0.69.5", ("0.69.4", "0.69.5")),
        ("setup-trivy v0.2.6 is safe", ("0.2.6",)),
        ("released 1.2.3-rc.1 today", ("1.2.3-rc.1",)),
        ("go1.21.4 and Python 3.12", ("3.12",)),
        ("at 12:30 on 2026-03-20", ()),
        ("CVE-2026-33634 has CVSS 10.0", ("10.0",)),
    ],
)
def test_version_hints(text: str, hints: tuple[str, ...]) -> None:
    assert version_hints(text) == hints


HOSTILE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title>
<item><title>trivy 0.69.4 &h;</title><description>&xxe;</description></item>
</channel></rss>"""


def test_hostile_xml_is_not_expanded() -> None:
    scan = scan_feed(HOSTILE, feed="hostile", tools={"trivy": ["trivy"]})
    assert scan.bozo and "declares DTD entities (not expanded)" in scan.bozo_reason
    (hit,) = scan.hits
    assert len(hit.title) < 100  # a billion laughs would be 10**8 characters
    assert "root:" not in hit.title and hit.version_hints == ("0.69.4",)


def test_oversize_and_garbage_documents_are_reported() -> None:
    scan = scan_feed(b"<rss>" + b" " * 2000, feed="big", tools=TOOLS, max_bytes=1000)
    assert scan.skipped and "over the 1000-byte limit" in scan.skipped[0].reason
    for raw in (b"\xff\xfe\x00garbage", b"{not json", b'{"version": "1"}', b""):
        scan = scan_feed(raw, feed="junk", tools=TOOLS)
        assert scan.bozo and scan.entries == 0 and scan.skipped, raw


def test_invalid_patterns_are_configuration_errors() -> None:
    with pytest.raises(PatternError, match="tool 'x': invalid pattern 're:\\('"):
        ToolPatterns({"x": ["re:("]})
