"""RSS, Atom, RDF (through feedparser) and JSON Feed documents scanned for inventory tools.

Entries whose title, link or text match a tool's patterns become :class:`FeedHit` values with the
versions mentioned in the text as hints. Ill-formed documents are explicit: feedparser's
``bozo`` flag and reason are kept in the :class:`FeedScan`, and the entries it recovered are
still scanned; a document with nothing recoverable is reported as skipped. feedparser never
expands DTD entities (internal or external), so hostile documents cannot inflate or read files.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from .errors import PatternError, SkippedRecord

MAX_FEED_BYTES = 10 * 1024 * 1024
_TAG = re.compile(r"<[^>]+>")
_VERSION = re.compile(
    r"(?<![\w.-])v?(\d+\.\d+(?:\.\d+){0,2}(?:-(?:rc|alpha|beta|pre)[.\d]*)?)(?![\w-]|\.\d)"
)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry, whatever the feed format."""

    entry_id: str
    title: str
    link: str | None
    published: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class FeedHit:
    """An entry that mentions an inventory tool; version hints are what the text names."""

    feed: str
    entry_id: str
    link: str | None
    title: str
    published: datetime | None
    tool: str
    pattern: str
    version_hints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedScan:
    """What one document gave: its format, whether it was ill-formed (and why), its hits."""

    feed: str
    format: str
    entries: int
    hits: tuple[FeedHit, ...]
    bozo: bool = False
    bozo_reason: str | None = None
    skipped: tuple[SkippedRecord, ...] = ()


class ToolPatterns:
    """Compiled ``{tool: [patterns]}``: plain words match as whole words, ``re:…`` as regexps;
    both case-insensitively."""

    def __init__(self, tools: Mapping[str, Sequence[str]]) -> None:
        self._compiled: list[tuple[str, str, re.Pattern[str]]] = []
        for tool, patterns in tools.items():
            for pattern in patterns:
                self._compiled.append((tool, pattern, self._compile(tool, pattern)))

    @staticmethod
    def _compile(tool: str, pattern: str) -> re.Pattern[str]:
        try:
            if pattern.startswith("re:"):
                return re.compile(pattern[3:], re.IGNORECASE)
            return re.compile(rf"(?<![\w-]){re.escape(pattern)}(?![\w-])", re.IGNORECASE)
        except re.error as exc:
            raise PatternError(f"tool {tool!r}: invalid pattern {pattern!r}: {exc}") from None

    def matches(self, text: str) -> Iterable[tuple[str, str]]:
        """(tool, pattern) for each tool whose first matching pattern occurs in ``text``."""
        seen: set[str] = set()
        for tool, pattern, regex in self._compiled:
            if tool not in seen and regex.search(text):
                seen.add(tool)
                yield tool, pattern


def version_hints(text: str) -> tuple[str, ...]:
    """Version-like strings mentioned in ``text`` (``0.69.4``, ``v0.35.0``), in order, unique."""
    return tuple(dict.fromkeys(m[1] for m in _VERSION.finditer(text)))


def _plain(value: Any) -> str:
    return _TAG.sub(" ", value or "") if isinstance(value, str) else ""


def _entry_id(entry_id: Any, link: str | None, title: str, text: str) -> str:
    if isinstance(entry_id, str) and entry_id:
        return entry_id
    if link:
        return link
    return "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:32]


def _struct_time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None


def _xml_entries(parsed: Any) -> list[FeedEntry]:
    entries = []
    for e in parsed.entries:
        title = _plain(e.get("title"))
        parts = [_plain(e.get("summary"))]
        parts += [_plain(c.get("value")) for c in e.get("content") or []]
        text = " ".join(p for p in parts if p)
        link = e.get("link") or None
        published = _struct_time(e.get("published_parsed") or e.get("updated_parsed"))
        entries.append(
            FeedEntry(_entry_id(e.get("id"), link, title, text), title, link, published, text)
        )
    return entries


def _json_entries(data: dict[str, Any]) -> list[FeedEntry]:
    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        title = _plain(item.get("title"))
        text = " ".join(_plain(item.get(k)) for k in ("summary", "content_text", "content_html"))
        link = item.get("url") if isinstance(item.get("url"), str) else None
        try:
            published = datetime.fromisoformat(item["date_published"]).astimezone(UTC)
        except (KeyError, TypeError, ValueError):
            published = None
        entry_id = item.get("id") if isinstance(item.get("id"), str) else None
        entries.append(
            FeedEntry(_entry_id(entry_id, link, title, text), title, link, published, text.strip())
        )
    return entries


def read_feed(raw: bytes, origin: str) -> tuple[str, list[FeedEntry], str | None]:
    """(format, entries, ill-formedness reason or None) of an XML or JSON Feed document."""
    stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return "unknown", [], "empty document"
    if stripped.startswith(b"{"):  # JSON Feed; feedparser 6.0 reads only XML
        try:
            data = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            return "json", [], f"malformed JSON Feed: {exc}"
        if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
            return "json", [], "JSON document is not a JSON Feed"
        return "json", _json_entries(data), None
    import feedparser  # ~0.1 s to import: only a feed scan needs it, not its values' readers

    parsed = feedparser.parse(raw)  # bytes: feedparser never fetches anything itself
    reason = None
    if parsed.bozo:
        reason = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    if _ENTITY_DECLARATION.search(raw):
        reason = f"{reason + '; ' if reason else ''}declares DTD entities (not expanded)"
    return parsed.get("version") or "unknown", _xml_entries(parsed), reason


def scan_feed(
    raw: bytes,
    *,
    feed: str,
    tools: Mapping[str, Sequence[str]] | ToolPatterns,
    origin: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
) -> FeedScan:
    """Scan one feed document for entries mentioning the tools."""
    origin = origin or feed
    if len(raw) > max_bytes:
        reason = f"document is {len(raw)} bytes, over the {max_bytes}-byte limit"
        return FeedScan(
            feed, "unknown", 0, (), True, reason, (SkippedRecord(origin, None, reason),)
        )
    patterns = tools if isinstance(tools, ToolPatterns) else ToolPatterns(tools)
    kind, entries, reason = read_feed(raw, origin)
    skipped = ()
    if reason is not None and not entries:
        skipped = (SkippedRecord(origin, None, f"nothing recoverable: {reason}"),)
    hits = []
    for entry in entries:
        haystack = f"{entry.title}\n{entry.link or ''}\n{entry.text}"
        for tool, pattern in patterns.matches(haystack):
            hints = version_hints(haystack)
            hits.append(
                FeedHit(
                    feed,
                    entry.entry_id,
                    entry.link,
                    entry.title,
                    entry.published,
                    tool,
                    pattern,
                    hints,
                )
            )
    return FeedScan(feed, kind, len(entries), tuple(hits), reason is not None, reason, skipped)
