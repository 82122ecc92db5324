"""A fake GitHub on 127.0.0.1 (the demo's upstream, and the tests'): a real HTTP server with the
REST API's shapes and habits.

It serves releases (assets with `digest`, `browser_download_url`), git refs and annotated tag
objects, repositories, the compare API, artifact attestations and release files, with weak
ETags and 304s, `Link` pagination, `X-RateLimit-*` headers, and injectable failures (5xx,
rate limits, HTML bodies) and latency. Every request is recorded for assertions.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from verifier.demo.loopback import LoopbackServer, QuietHandler

_IDS = itertools.count(100_000_000)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Recorded:
    """One request the fake answered."""

    method: str
    path: str
    conditional: bool
    status: int


@dataclass
class Injected:
    """A canned answer for the next requests whose path contains `match`."""

    status: int
    headers: dict[str, str]
    body: bytes
    match: str


@dataclass
class FakeRepo:
    """One repository: releases (newest first), files, refs, commits and attestations."""

    full_name: str
    id: int = field(default_factory=lambda: next(_IDS))
    default_branch: str = "main"
    releases: list[dict[str, Any]] = field(default_factory=list)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # tag -> (sha, type)
    tag_objects: dict[str, str] = field(default_factory=dict)  # tag object sha -> commit
    branches: dict[str, set[str]] = field(default_factory=dict)  # branch -> its commits
    commits: set[str] = field(default_factory=set)  # every commit the repository knows
    attestations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class FakeGitHub(LoopbackServer):
    """Start with `start()`; `url` is both the API base and the download host."""

    def __init__(self, *, latency: float = 0.0, per_page_cap: int = 100) -> None:
        self.latency = latency
        self.per_page_cap = per_page_cap
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[Recorded] = []
        self.rate_remaining = 5000
        self.static: dict[str, bytes] = {}  # plain files by path, served with ETags
        self.down = False  # an outage: every request is answered 503 while it is True
        self._injected: deque[Injected] = deque()
        self._lock = threading.Lock()
        super().__init__()

    # ---- scenario building -----------------------------------------------------------------

    def repo(self, full_name: str) -> FakeRepo:
        return self.repos.setdefault(full_name, FakeRepo(full_name))

    def add_commit(self, repo: str, commit: str, *, branch: str | None = "main") -> str:
        """A commit of the repository, on `branch` (None: on no branch of it)."""
        fake = self.repo(repo)
        fake.commits.add(commit)
        if branch is not None:
            fake.branches.setdefault(branch, set()).add(commit)
        return commit

    def add_release(
        self, repo: str, tag: str, files: dict[str, bytes], *, digests: bool = True
    ) -> dict[str, Any]:
        """Publish a release with `files` (newest first, as GitHub lists them)."""
        fake = self.repo(repo)
        release = {
            "url": f"{self.url}/repos/{repo}/releases/{next(_IDS)}",
            "id": next(_IDS),
            "tag_name": tag,
            "target_commitish": fake.default_branch,
            "name": tag,
            "draft": False,
            "immutable": False,
            "prerelease": False,
            "created_at": "2026-03-19T18:22:00Z",
            "published_at": "2026-03-19T18:22:00Z",
            "assets": [],
            "body": "",
        }
        fake.releases.insert(0, release)
        for name, data in files.items():
            self.put_asset(repo, tag, name, data, digests=digests)
        return release

    def put_asset(
        self, repo: str, tag: str, name: str, data: bytes, *, digests: bool = True
    ) -> None:
        """Upload (or re-upload: a new asset id, size and digest) a release file."""
        fake = self.repo(repo)
        release = next(r for r in fake.releases if r["tag_name"] == tag)
        release["assets"] = [a for a in release["assets"] if a["name"] != name]
        release["assets"].append(
            {
                "url": f"{self.url}/repos/{repo}/releases/assets/{next(_IDS)}",
                "id": next(_IDS),
                "name": name,
                "label": None,
                "content_type": "application/octet-stream",
                "state": "uploaded",
                "size": len(data),
                "digest": f"sha256:{sha256_hex(data)}" if digests else None,
                "download_count": 0,
                "browser_download_url": f"{self.url}/{repo}/releases/download/{tag}/{name}",
            }
        )
        fake.files[(tag, name)] = data

    def delete_release(self, repo: str, tag: str) -> None:
        """Take a release down (its files go with it; the tag stays, as on GitHub)."""
        fake = self.repo(repo)
        fake.releases = [r for r in fake.releases if r["tag_name"] != tag]
        fake.files = {key: data for key, data in fake.files.items() if key[0] != tag}

    def set_tag(self, repo: str, tag: str, commit: str, *, annotated: bool = False) -> None:
        """Create or force-move a tag (annotated tags get a fresh tag object)."""
        fake = self.repo(repo)
        if annotated:
            obj = sha256_hex(f"{tag}:{commit}:{time.monotonic_ns()}".encode())[:40]
            fake.tag_objects[obj] = commit
            fake.refs[tag] = (obj, "tag")
        else:
            fake.refs[tag] = (commit, "commit")

    def put_file(self, path: str, data: bytes) -> str:
        """Serve `data` at `path` (a plain download site); returns its URL."""
        self.static[path] = data
        return f"{self.url}{path}"

    def add_attestation(self, repo: str, sha256: str, bundle: dict[str, Any]) -> None:
        self.repo(repo).attestations.setdefault(sha256, []).append(bundle)

    def inject(
        self,
        status: int,
        *,
        count: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes = b'{"message": "injected"}',
        match: str = "",
    ) -> None:
        """Answer the next `count` requests whose path contains `match` with this."""
        for _ in range(count):
            self._injected.append(Injected(status, headers or {}, body, match))

    def rate_limit(self, *, seconds: int = 1, count: int = 1, match: str = "") -> None:
        """The next requests are refused as GitHub does when the primary limit is exhausted."""
        reset = str(int(time.time()) + seconds)
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
        body = b'{"message": "API rate limit exceeded"}'
        self.inject(403, count=count, headers=headers, body=body, match=match)

    def api_requests(self, needle: str = "") -> list[Recorded]:
        return [r for r in self.requests if "/repos/" in r.path and needle in r.path]

    # ---- serving ---------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if fake.latency:
                    time.sleep(fake.latency)
                status, headers, body = fake._answer(self.path, self.headers)
                with fake._lock:
                    fake.requests.append(
                        Recorded("GET", self.path, "If-None-Match" in self.headers, status)
                    )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def _next_injected(self, path: str) -> Injected | None:
        with self._lock:
            for item in self._injected:
                if item.match in path:
                    self._injected.remove(item)
                    return item
        return None

    def _answer(self, raw_path: str, request_headers: Any) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query)
        if self.down:
            return 503, {"Content-Type": "text/html"}, b"<html>Unicorn! 503</html>"
        if (injected := self._next_injected(path)) is not None:
            headers = {"Content-Type": "application/json; charset=utf-8", **injected.headers}
            return injected.status, headers, injected.body
        if "/releases/download/" in path and not path.startswith("/repos/"):
            return self._download(path)
        if (data := self.static.get(path)) is not None:
            etag = f'"{sha256_hex(data)[:32]}"'
            if request_headers.get("If-None-Match") == etag:
                return 304, {"ETag": etag}, b""
            return 200, {"Content-Type": "application/octet-stream", "ETag": etag}, data
        with self._lock:
            self.rate_remaining -= 1
            remaining = self.rate_remaining
        rate = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(max(remaining, 1)),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
        }
        found = self._route(path, query)
        if found is None:
            body = b'{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}'
            return 404, {"Content-Type": "application/json; charset=utf-8", **rate}, body
        document, link = found
        body = json.dumps(document).encode()
        etag = f'W/"{sha256_hex(body)}"'
        headers = {"Content-Type": "application/json; charset=utf-8", "ETag": etag, **rate}
        if link:
            headers["Link"] = link
        if request_headers.get("If-None-Match") == etag:
            return 304, {"ETag": etag, **rate}, b""
        return 200, headers, body

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[Any, str] | None:
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "repos":
            return None
        repo = self.repos.get(f"{parts[1]}/{parts[2]}")
        if repo is None:
            return None
        rest = parts[3:]
        if not rest:
            return {
                "id": repo.id,
                "full_name": repo.full_name,
                "default_branch": repo.default_branch,
            }, ""
        if rest == ["releases"]:
            return self._page(path, query, repo.releases)
        if rest[:3] == ["git", "matching-refs", "tags"]:
            refs = [
                {
                    "ref": f"refs/tags/{tag}",
                    "node_id": f"REF_{tag}",
                    "url": f"{self.url}/repos/{repo.full_name}/git/refs/tags/{tag}",
                    "object": {"sha": sha, "type": kind, "url": ""},
                }
                for tag, (sha, kind) in sorted(repo.refs.items())
            ]
            return self._page(path, query, refs)
        if rest[:2] == ["git", "tags"] and len(rest) == 3 and rest[2] in repo.tag_objects:
            commit = repo.tag_objects[rest[2]]
            return {"sha": rest[2], "tag": "", "object": {"sha": commit, "type": "commit"}}, ""
        if rest[0] == "branches" and len(rest) == 2 and rest[1] in repo.branches:
            return {"name": rest[1], "protected": True}, ""
        if rest[0] == "compare" and len(rest) == 2 and "..." in rest[1]:
            base, head = rest[1].split("...", 1)
            if head not in repo.commits or base not in repo.branches:
                return None
            status = "behind" if head in repo.branches[base] else "diverged"
            return {"status": status, "ahead_by": 0, "behind_by": 1, "commits": []}, ""
        if rest[0] == "attestations" and len(rest) == 2:
            bundles = repo.attestations.get(rest[1].removeprefix("sha256:"))
            if not bundles:
                return None
            return {
                "attestations": [
                    {"bundle": b, "repository_id": repo.id, "bundle_url": None} for b in bundles
                ]
            }, ""
        return None

    def _page(
        self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], str]:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.per_page_cap)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        if page < last:
            links.append(f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{self.url}{path}?per_page={per_page}&page={last}>; rel="last"')
        return chunk, ", ".join(links)

    def _download(self, path: str) -> tuple[int, dict[str, str], bytes]:
        # /{owner}/{repo}/releases/download/{tag}/{name}
        parts = path.strip("/").split("/")
        repo = self.repos.get(f"{parts[0]}/{parts[1]}")
        data = repo.files.get((parts[4], parts[5])) if repo and len(parts) == 6 else None
        if data is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        return 200, {"Content-Type": "application/octet-stream"}, data
