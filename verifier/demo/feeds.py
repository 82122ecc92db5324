"""Advisory feeds on 127.0.0.1: an OSV `all.zip`, GitHub's global advisories REST API
(`GET /advisories`) and RSS documents, with ETags and 304s, and an outage switch.

The demo publishes the Trivy advisory here when its timeline says so; the end-to-end tests
publish their own records and feed entries.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from verifier.demo.loopback import LoopbackServer, QuietHandler

OSV_ZIP = "/osv/all.zip"
GHSA_LIST = "/advisories"
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed member times: the same records give the same bytes


def osv_zip(records: list[dict[str, Any]]) -> bytes:
    """An OSV archive of `records`, one `ID.json` member each, as osv.dev publishes them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            member = zipfile.ZipInfo(f"{record['id']}.json", date_time=_ZIP_TIME)
            archive.writestr(member, json.dumps(record, indent=1))
    return buffer.getvalue()


class FeedServer(LoopbackServer):
    """Start with `start()`; `url` is the base of every feed it serves."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {OSV_ZIP: osv_zip([])}
        self.ghsa: list[dict[str, Any]] = []
        self.down = False  # an outage: every request is answered 503 while it is True
        super().__init__()

    def publish_osv(self, records: list[dict[str, Any]]) -> None:
        """Replace the OSV archive's records."""
        self.files[OSV_ZIP] = osv_zip(records)

    def publish_ghsa(self, advisories: list[dict[str, Any]]) -> None:
        """Replace what `GET /advisories` lists (GitHub's REST shape)."""
        self.ghsa = list(advisories)

    def put(self, path: str, data: bytes) -> str:
        """Serve `data` at `path` (an RSS document, a JSON file); returns its URL."""
        self.files[path] = data
        return f"{self.url}{path}"

    def _body(self, path: str) -> bytes | None:
        if path == GHSA_LIST:
            return json.dumps(self.ghsa).encode()
        return self.files.get(path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feeds = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                body = None if feeds.down else feeds._body(path)
                headers: dict[str, str] = {}
                if feeds.down:
                    status, body = 503, b"feed unavailable"
                elif body is None:
                    status, body = 404, b"not found"
                else:
                    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
                    headers["ETag"] = etag
                    status = 304 if self.headers.get("If-None-Match") == etag else 200
                    if status == 304:
                        body = b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
