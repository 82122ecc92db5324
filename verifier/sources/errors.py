"""Errors of upstream sources: each says which request failed and why."""

from __future__ import annotations

from verifier.errors import ToolgateError


class SourceError(ToolgateError):
    """An upstream could not answer usefully; nothing was recorded from it."""


class UpstreamError(SourceError):
    """A request failed (network, 5xx after retries, unexpected body)."""


class NotFound(SourceError):
    """The upstream answered 404: the repository, commit or object does not exist there."""


class RateLimited(SourceError):
    """The upstream's rate limit is exhausted for longer than toolgate is willing to wait."""
