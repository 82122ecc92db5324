"""What toolgate recorded: tag->commit pins (first seen and current), release states and
commit reachability checks, read once from the store for a whole scan."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlmodel import Session

from verifier.store.models import CommitCheckRow, ReleaseRow, TagPinRow
from verifier.versioning import canonical_version


@dataclass(frozen=True, slots=True)
class TagPin:
    """A tag as the watcher recorded it: the commit first seen, and where it points now."""

    tag: str
    commit: str
    current_commit: str

    @property
    def moved(self) -> bool:
        return self.commit != self.current_commit


@dataclass(frozen=True)
class RecordedPins:
    """The store's pins, keyed by (tool, canonical tag/version) and (repository, commit)."""

    tags: dict[tuple[str, str], TagPin] = field(default_factory=dict)
    releases: dict[tuple[str, str], str] = field(default_factory=dict)  # -> status
    commit_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # -> status
    verified_commits: frozenset[tuple[str, str]] = frozenset()  # (tool, first-seen commit)

    def tag(self, tool: str, tag: str) -> TagPin | None:
        return self.tags.get((tool, canonical_version(tag)))

    def verified(self, tool: str, version: str) -> bool:
        return self.releases.get((tool, canonical_version(version))) == "verified"

    def vouches(self, tool: str, commit: str) -> bool:
        """Whether `commit` is the first-seen commit of a tag of `tool` toolgate verified."""
        return (tool, commit.lower()) in self.verified_commits

    def commit_status(self, repo: str, commit: str) -> str | None:
        return self.commit_checks.get((repo.lower(), commit.lower()))


def load_pins(engine: Engine) -> RecordedPins:
    """Read every recorded pin in one transaction."""
    with Session(engine) as session:
        tags = {
            (row.tool, canonical_version(row.tag)): TagPin(row.tag, row.commit, row.current_commit)
            for row in session.scalars(select(TagPinRow))
        }
        releases = {
            (row.tool, canonical_version(row.version)): row.status
            for row in session.scalars(select(ReleaseRow))
        }
        checks = {
            (row.repository.lower(), row.commit.lower()): row.status
            for row in session.scalars(select(CommitCheckRow))
        }
    verified = frozenset(
        (tool, pin.commit.lower())
        for (tool, key), pin in tags.items()
        if releases.get((tool, key)) == "verified"
    )
    return RecordedPins(tags, releases, checks, verified)
