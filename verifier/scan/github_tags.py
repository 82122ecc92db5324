"""Tag -> commit from GitHub when toolgate recorded no pin: asked once per repository per run,
kept on disk under the state directory (ETag revalidation, so a repeat costs a 304), and
reported as unavailable (never as a clean answer) when GitHub cannot be asked."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from verifier.sources.errors import NotFound, SourceError
from verifier.sources.github import Cached, GitHub
from verifier.versioning import canonical_version

log = logging.getLogger(__name__)
CACHE_VERSION = 1
FRESH_SECONDS = 600.0  # within this, a cached listing is used without asking GitHub


class CheckUnavailable(Exception):
    """GitHub could not be asked (offline, no token, rate limit, error): say not-checked."""


class TagResolver:
    """Resolve tags of public repositories to commits, through a per-run and an on-disk cache."""

    def __init__(
        self,
        github: GitHub | None,
        cache_path: Path | None,
        *,
        unavailable: str | None = None,
        now: float | None = None,
    ) -> None:
        self.github = github
        self.cache_path = cache_path
        self.unavailable = unavailable if github is not None else (unavailable or "offline")
        self._now = now if now is not None else time.time()
        self._tags: dict[str, dict[str, str] | None] = {}  # repo -> tag -> commit (None: 404)
        self._disk = self._load()
        self._dirty = False

    def commit_of(self, repo: str, tag: str) -> str | None:
        """The commit `tag` points at in `repo` now, None if there is no such tag."""
        tags = self._repo_tags(repo.lower())
        if tags is None:
            return None
        if tag in tags:
            return tags[tag]
        wanted = canonical_version(tag)
        return next((c for name, c in tags.items() if canonical_version(name) == wanted), None)

    def _repo_tags(self, repo: str) -> dict[str, str] | None:
        if repo in self._tags:
            return self._tags[repo]
        entry = self._disk.get(repo)
        if entry is not None and self._now - float(entry.get("checked_at", 0)) < FRESH_SECONDS:
            tags = _tag_map(entry["body_json"])
        else:
            tags = self._ask(repo, entry)
        self._tags[repo] = tags
        return tags

    def _ask(self, repo: str, entry: dict[str, Any] | None) -> dict[str, str] | None:
        if self.unavailable is not None or self.github is None:
            raise CheckUnavailable(self.unavailable or "offline")
        previous = (
            Cached(entry["etag"], entry["body_json"]) if entry and entry.get("etag") else None
        )
        try:
            listing = self.github.tags(repo, previous)
        except NotFound:
            return None
        except SourceError as exc:
            self.unavailable = str(exc)  # one failure (rate limit, network) stops further asks
            raise CheckUnavailable(str(exc)) from None
        body = listing.body_json if listing.changed else (previous.body_json if previous else "[]")
        if listing.etag:
            self._disk[repo] = {"etag": listing.etag, "body_json": body, "checked_at": self._now}
            self._dirty = True
        return _tag_map(body)

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.cache_path is None or not self.cache_path.exists():
            return {}
        try:
            raw = json.loads(self.cache_path.read_text(encoding="utf-8"))
            tags = raw["tags"] if raw.get("version") == CACHE_VERSION else {}
            return {repo: dict(entry) for repo, entry in tags.items() if "body_json" in entry}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable scan cache %s: %s", self.cache_path, exc)
            return {}

    def save(self) -> None:
        """Write the on-disk cache (atomically) if anything new was learnt."""
        if not self._dirty or self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.cache_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"version": CACHE_VERSION, "tags": self._disk}))
        os.replace(temporary, self.cache_path)
        self._dirty = False


def _tag_map(body_json: str) -> dict[str, str]:
    try:
        items = json.loads(body_json)
        return {str(item["name"]): str(item["commit"]).lower() for item in items}
    except (ValueError, KeyError, TypeError):
        return {}
