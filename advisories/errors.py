"""One exception hierarchy for the advisories library, and the skipped-record report value.

AdvisoryError
├── VersionError    a version string is invalid in its ecosystem
├── ParseError      a record or document cannot be read (names file and record id)
├── CvssError       a CVSS vector is malformed
├── PatternError    a configured feed pattern is not a valid regexp
├── FeedSpecError   a feed specification is incomplete or contradictory
├── FetchError      an online source failed (HTTP status when there is one)
└── SyncFailed      a feed's sync failed unexpectedly (names the feed and the error)
"""

from __future__ import annotations

from dataclasses import dataclass


class AdvisoryError(Exception):
    """Base class of every error raised by :mod:`advisories`."""


class VersionError(AdvisoryError, ValueError):
    """A version string is not valid in the ordering of its ecosystem."""

    def __init__(self, ecosystem: str, version: str, why: str = "") -> None:
        self.ecosystem = ecosystem
        self.version = version
        detail = f": {why}" if why else ""
        super().__init__(f"{version!r} is not a valid {ecosystem} version{detail}")


class ParseError(AdvisoryError):
    """A record or document could not be read; names the file (origin) and record id."""

    def __init__(self, reason: str, *, origin: str = "", record_id: str | None = None) -> None:
        self.reason = reason
        self.origin = origin
        self.record_id = record_id
        where = ", ".join(p for p in (origin, f"record {record_id}" if record_id else "") if p)
        super().__init__(f"{where}: {reason}" if where else reason)

    def skipped(self, *, unreadable: bool = False) -> SkippedRecord:
        """This error as a report value (`unreadable`: the whole document, not one record)."""
        return SkippedRecord(self.origin, self.record_id, self.reason, unreadable)


class CvssError(AdvisoryError, ValueError):
    """A CVSS vector string is malformed."""


class PatternError(AdvisoryError):
    """A configured tool pattern is not a valid regular expression."""


class FeedSpecError(AdvisoryError):
    """A feed specification is incomplete or contradictory."""


class FetchError(AdvisoryError):
    """An online source answered with an error (``status``) or could not be reached (None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class SyncFailed(AdvisoryError):
    """A feed's sync failed with an error no reader anticipated (a bug, or a library's)."""

    def __init__(self, feed: str, cause: BaseException) -> None:
        self.feed = feed
        super().__init__(f"feed {feed!r}: unexpected {type(cause).__name__}: {cause}")


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record that was not ingested: where it came from, its id if known, and why.

    ``unreadable``: a whole document (file, archive or archive member) could not be read, so
    every record in it is missing; otherwise one record was refused."""

    origin: str
    record_id: str | None
    reason: str
    unreadable: bool = False

    def __str__(self) -> str:
        rid = self.record_id or "?"
        return f"{self.origin} [{rid}]: {self.reason}"
