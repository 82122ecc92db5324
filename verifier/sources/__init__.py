"""Upstream sources of releases: GitHub (releases, tags, compare, attestations) and PyPI.

Everything reaches the network through the one client `http.make_client` builds; errors are
`SourceError`s with a message that says what failed and what to do next.
"""

from verifier.sources.errors import NotFound, RateLimited, SourceError, UpstreamError
from verifier.sources.github import (
    GitHub,
    Listing,
    Reachability,
    UpstreamAsset,
    UpstreamRelease,
    UpstreamTag,
)
from verifier.sources.http import make_client
from verifier.sources.pypi import PyPI

__all__ = [
    "GitHub",
    "Listing",
    "NotFound",
    "PyPI",
    "RateLimited",
    "Reachability",
    "SourceError",
    "UpstreamAsset",
    "UpstreamError",
    "UpstreamRelease",
    "UpstreamTag",
    "make_client",
]
