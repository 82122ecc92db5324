"""GitHub REST API: releases, tags, commit reachability and artifact attestations.

Listings are conditional: the caller passes the ETag and normalised body it stored last time;
an unchanged listing costs one request answered 304 (retries and rate limits: `ApiClient`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
import orjson

from verifier.sources.api import ApiClient, json_body
from verifier.sources.errors import NotFound, UpstreamError

log = logging.getLogger(__name__)

T = TypeVar("T")
PER_PAGE = 100
_LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


@dataclass(frozen=True, slots=True)
class UpstreamAsset:
    """A release file as the API lists it; `digest` is GitHub's "sha256:<hex>" when published."""

    name: str
    id: int
    size: int
    digest: str | None
    url: str


@dataclass(frozen=True, slots=True)
class UpstreamRelease:
    """A published release (drafts are skipped)."""

    tag: str
    id: int
    prerelease: bool
    created_at: str
    assets: tuple[UpstreamAsset, ...]

    def asset(self, name: str) -> UpstreamAsset | None:
        return next((asset for asset in self.assets if asset.name == name), None)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> UpstreamRelease:
        """Read back a release stored with `dataclasses.asdict`."""
        assets = tuple(UpstreamAsset(**a) for a in raw["assets"])
        return cls(**{**raw, "assets": assets})


@dataclass(frozen=True, slots=True)
class UpstreamTag:
    """A tag and the commit it resolves to (annotated tags peeled)."""

    name: str
    object_sha: str  # the tag object for annotated tags, the commit for lightweight ones
    object_type: str  # "tag" | "commit"
    commit: str


@dataclass(frozen=True, slots=True)
class Cached:
    """What a previous poll stored for a listing URL."""

    etag: str
    body_json: str


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A listing and whether it changed since `Cached`; `etag`/`body_json` are what to store."""

    url: str
    changed: bool
    items: tuple[T, ...]
    etag: str | None
    body_json: str


@dataclass(frozen=True, slots=True)
class Reachability:
    """Whether a commit belongs to a protected branch of the repository."""

    status: Literal["on-branch", "not-on-branch", "unknown-commit"]
    branch: str | None  # the branch containing the commit, when on-branch


class GitHub(ApiClient):
    """A GitHub (or GitHub Enterprise) API client over the shared httpx client."""

    def __init__(
        self, client: httpx.Client, api_url: str, *, max_pages: int = 10, **options: Any
    ) -> None:
        super().__init__(client, api_url, **options)
        self.max_pages = max_pages
        self._default_branches: dict[str, str] = {}
        self._branches: set[tuple[str, str]] = set()  # (repo, branch) known to exist

    # ---- listings -------------------------------------------------------------------------

    def releases_url(self, repo: str) -> str:
        return f"{self.base_url}/repos/{repo}/releases?per_page={PER_PAGE}"

    def tags_url(self, repo: str) -> str:
        return f"{self.base_url}/repos/{repo}/git/matching-refs/tags?per_page={PER_PAGE}"

    def releases(self, repo: str, previous: Cached | None) -> Listing[UpstreamRelease]:
        """Published releases, newest first (`GET /repos/{repo}/releases`)."""
        url = self.releases_url(repo)
        listing = self._listing(url, previous)
        if not listing.changed and previous is not None:
            return _with_items(listing, [UpstreamRelease.from_dict(r) for r in _loads(previous)])
        releases = [_release(raw) for raw in listing.items if not raw.get("draft")]
        body = orjson.dumps([asdict(r) for r in releases]).decode()
        return Listing(url, True, tuple(releases), listing.etag, body)

    def tags(self, repo: str, previous: Cached | None) -> Listing[UpstreamTag]:
        """Tags and their commits (`GET /repos/{repo}/git/matching-refs/tags`)."""
        url = self.tags_url(repo)
        listing = self._listing(url, previous)
        known = {t.object_sha: t.commit for t in _stored_tags(previous)}
        if not listing.changed and previous is not None:
            return _with_items(listing, list(_stored_tags(previous)))
        tags = [self._tag(repo, raw, known) for raw in listing.items]
        body = orjson.dumps([asdict(t) for t in tags]).decode()
        return Listing(url, True, tuple(tags), listing.etag, body)

    def _tag(self, repo: str, raw: dict[str, Any], known: dict[str, str]) -> UpstreamTag:
        name = str(raw["ref"]).removeprefix("refs/tags/")
        obj = raw["object"]
        sha, kind = str(obj["sha"]), str(obj["type"])
        if kind == "commit":
            return UpstreamTag(name, sha, kind, sha)
        # Annotated tag objects are content-addressed: a sha peeled once never changes.
        commit = known.get(sha) or self._peel(repo, sha)
        return UpstreamTag(name, sha, kind, commit)

    def _peel(self, repo: str, tag_sha: str) -> str:
        sha, kind = tag_sha, "tag"
        for _ in range(5):  # a tag of a tag of … a commit
            if kind == "commit":
                return sha
            if kind != "tag":
                raise UpstreamError(f"tag object {tag_sha} in {repo} points at a {kind}")
            obj = self._json(f"{self.base_url}/repos/{repo}/git/tags/{sha}")["object"]
            sha, kind = str(obj["sha"]), str(obj["type"])
        if kind == "commit":
            return sha
        raise UpstreamError(f"tag object {tag_sha} in {repo} is nested too deeply")

    def _listing(self, url: str, previous: Cached | None) -> Listing[dict[str, Any]]:
        headers = {"If-None-Match": previous.etag} if previous else {}
        response = self._get(url, headers)
        if response.status_code == 304:
            return Listing(url, False, (), previous.etag if previous else None, "")
        etag = response.headers.get("etag")
        items: list[dict[str, Any]] = list(_list_body(response))
        next_url = _next_link(response)
        pages = 1
        while next_url and pages < self.max_pages:
            response = self._get(next_url, {})
            items.extend(_list_body(response))
            next_url = _next_link(response)
            pages += 1
        if next_url:
            log.warning("%s: more than %d pages; older entries are not watched", url, pages)
        return Listing(url, True, tuple(items), etag, "")

    # ---- provenance -----------------------------------------------------------------------

    def default_branch(self, repo: str) -> str:
        """The repository's default branch (asked once per process)."""
        if repo not in self._default_branches:
            body = self._json(f"{self.base_url}/repos/{repo}")
            self._default_branches[repo] = str(body["default_branch"])
        return self._default_branches[repo]

    def reachability(self, repo: str, commit: str, branches: list[str]) -> Reachability:
        """Is `commit` an ancestor of (or equal to) the head of one of `branches`?

        `GET /repos/{repo}/compare/{branch}...{commit}`: "behind" or "identical" means the
        branch contains the commit; a 404 means the repository does not know it at all (once
        the branch is known to exist: a misnamed branch must not make every commit an impostor).
        """
        unknown = 0
        for branch in branches:
            url = f"{self.base_url}/repos/{repo}/compare/{branch}...{commit}?per_page=1"
            try:
                body = self._json(url)
            except NotFound:
                self._require_branch(repo, branch)
                unknown += 1
                continue
            if body.get("status") in ("behind", "identical"):
                return Reachability("on-branch", branch)
        if branches and unknown == len(branches):
            return Reachability("unknown-commit", None)
        return Reachability("not-on-branch", None)

    def _require_branch(self, repo: str, branch: str) -> None:
        if (repo, branch) in self._branches:
            return
        try:
            self._json(f"{self.base_url}/repos/{repo}/branches/{branch}")
        except NotFound:
            raise UpstreamError(
                f"{repo} has no branch {branch!r}: check the tool's signature.branches"
            ) from None
        self._branches.add((repo, branch))

    def attestations(self, repo: str, sha256: str) -> list[bytes]:
        """Sigstore bundles GitHub stores for the artifact (`GET …/attestations/sha256:…`)."""
        url = f"{self.base_url}/repos/{repo}/attestations/sha256:{sha256}"
        try:
            body = self._json(url)
        except NotFound:
            return []
        return [
            _serialized(item["bundle"])
            for item in body.get("attestations") or []
            if isinstance(item, dict) and isinstance(item.get("bundle"), dict)
        ]


# Stands in for a bundle nested too deeply to serialize again (orjson stops at 255 levels): as
# deep itself, it is refused by the verifier as "nested too deeply" (verifier.verify.nesting).
_TOO_DEEP = b"[" * 256 + b"]" * 256


def _serialized(bundle: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(bundle)
    except orjson.JSONEncodeError:
        return _TOO_DEEP


def _list_body(response: httpx.Response) -> Iterator[dict[str, Any]]:
    body = json_body(response)
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise UpstreamError(
            f"GET {response.url} answered {type(body).__name__}: expected a JSON list of objects"
        )
    yield from body


def _next_link(response: httpx.Response) -> str | None:
    match = _LINK_NEXT.search(response.headers.get("link", ""))
    return match[1] if match else None


def _release(raw: dict[str, Any]) -> UpstreamRelease:
    try:
        return UpstreamRelease(
            tag=str(raw["tag_name"]),
            id=int(raw["id"]),
            prerelease=bool(raw.get("prerelease")),
            created_at=str(raw.get("created_at") or ""),
            assets=tuple(
                UpstreamAsset(
                    name=str(a["name"]),
                    id=int(a["id"]),
                    size=int(a["size"]),
                    digest=a.get("digest"),
                    url=str(a["browser_download_url"]),
                )
                for a in raw.get("assets") or []
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError(f"a release in the listing lacks {exc}: not a GitHub release") from exc


def _loads(previous: Cached) -> list[dict[str, Any]]:
    body = orjson.loads(previous.body_json)
    return body if isinstance(body, list) else []


def _stored_tags(previous: Cached | None) -> Iterator[UpstreamTag]:
    if previous is not None:
        yield from (UpstreamTag(**raw) for raw in _loads(previous))


def _with_items(listing: Listing[Any], items: list[T]) -> Listing[T]:
    return Listing(listing.url, False, tuple(items), listing.etag, "")
