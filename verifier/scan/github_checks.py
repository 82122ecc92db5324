"""What only GitHub can say, asked only when toolgate recorded nothing: which commit a tag
names, and whether a commit belongs to a repository's default branch (or is a fork's commit
served through it). Answers are cached for the run and on disk under the state directory (tag
listings revalidated with their ETag); when GitHub cannot be asked the check is reported as
unavailable, never as a clean answer."""

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
FRESH_SECONDS = 600.0  # within this, a cached answer is used without asking GitHub


class CheckUnavailable(Exception):
    """GitHub could not be asked (offline, no token, rate limit, error): say not-checked."""


class GitHubChecks:
    """Tag and commit checks against GitHub, through a per-run and an on-disk cache."""

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

    # ---- tags ---------------------------------------------------------------------------

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
        entry = self._disk["tags"].get(repo)
        if entry is not None and self._fresh(entry):
            tags = _tag_map(entry["body_json"])
        else:
            tags = self._ask_tags(repo, entry)
        self._tags[repo] = tags
        return tags

    def _ask_tags(self, repo: str, entry: dict[str, Any] | None) -> dict[str, str] | None:
        github = self._github()
        previous = (
            Cached(entry["etag"], entry["body_json"]) if entry and entry.get("etag") else None
        )
        try:
            listing = github.tags(repo, previous)
        except NotFound:
            return None
        except SourceError as exc:
            raise self._down(exc) from None
        body = listing.body_json if listing.changed else (previous.body_json if previous else "[]")
        if listing.etag:
            self._remember("tags", repo, {"etag": listing.etag, "body_json": body})
        return _tag_map(body)

    # ---- commits ------------------------------------------------------------------------

    def reachability(self, repo: str, commit: str) -> tuple[str, str | None]:
        """("on-branch" | "not-on-branch" | "unknown-commit", the branch that contains it).

        Asked against the repository's default branch; "on-branch" is kept for good, other
        answers for `FRESH_SECONDS` (a branch may still come to contain the commit).
        """
        key = f"{repo.lower()}@{commit.lower()}"
        entry = self._disk["commits"].get(key)
        if entry is not None and (entry["status"] == "on-branch" or self._fresh(entry)):
            return entry["status"], entry.get("branch")
        github = self._github()
        try:
            branch = github.default_branch(repo)
            answer = github.reachability(repo, commit, [branch])
        except NotFound:
            return "unknown-commit", None
        except SourceError as exc:
            raise self._down(exc) from None
        self._remember("commits", key, {"status": answer.status, "branch": answer.branch})
        return answer.status, answer.branch

    # ---- shared -------------------------------------------------------------------------

    def _github(self) -> GitHub:
        if self.unavailable is not None or self.github is None:
            raise CheckUnavailable(self.unavailable or "offline")
        return self.github

    def _down(self, exc: SourceError) -> CheckUnavailable:
        self.unavailable = str(exc)  # one failure (rate limit, network) stops further asks
        return CheckUnavailable(str(exc))

    def _fresh(self, entry: dict[str, Any]) -> bool:
        return self._now - float(entry.get("checked_at", 0)) < FRESH_SECONDS

    def _remember(self, table: str, key: str, entry: dict[str, Any]) -> None:
        self._disk[table][key] = {**entry, "checked_at": self._now}
        self._dirty = True

    def _load(self) -> dict[str, dict[str, dict[str, Any]]]:
        empty: dict[str, dict[str, dict[str, Any]]] = {"tags": {}, "commits": {}}
        if self.cache_path is None or not self.cache_path.exists():
            return empty
        try:
            raw = json.loads(self.cache_path.read_text(encoding="utf-8"))
            if raw.get("version") != CACHE_VERSION:
                return empty
            return {
                "tags": {k: dict(v) for k, v in raw["tags"].items() if "body_json" in v},
                "commits": {k: dict(v) for k, v in raw["commits"].items() if "status" in v},
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable scan cache %s: %s", self.cache_path, exc)
            return empty

    def save(self) -> None:
        """Write the on-disk cache (atomically) if anything new was learnt."""
        if not self._dirty or self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.cache_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"version": CACHE_VERSION, **self._disk}))
        os.replace(temporary, self.cache_path)
        self._dirty = False


def _tag_map(body_json: str) -> dict[str, str]:
    try:
        items = json.loads(body_json)
        return {str(item["name"]): str(item["commit"]).lower() for item in items}
    except (ValueError, KeyError, TypeError):
        return {}
