"""The one exception hierarchy of `verifier.verify`.

Exceptions are for inputs the caller must fix (a bad policy, an unreadable trust root, a
download that failed). A verification that runs and says "no" is a `Rejected` value instead.
"""

from __future__ import annotations


class VerifyError(Exception):
    """Base class of every error raised by `verifier.verify`."""


class PolicyError(VerifyError):
    """An identity or provenance policy is invalid (e.g. an unanchored regexp)."""


class TrustRootError(VerifyError):
    """The Sigstore root of trust cannot be loaded."""


class ChecksumError(VerifyError):
    """A checksums file cannot be used for the asset."""


class ChecksumFormatError(ChecksumError):
    """A checksums file is in no known format; the message names the offending line."""


class AssetNotListed(ChecksumError):
    """The checksums file has no entry for the asset."""


class DownloadError(VerifyError):
    """A download failed; no file was left behind."""


class Truncated(DownloadError):
    """The server sent fewer bytes than it announced."""


class TooLarge(DownloadError):
    """The body exceeds the configured size cap."""


class RedirectNotAllowed(DownloadError):
    """A redirect pointed at a host outside the allow-list (or downgraded to plain HTTP)."""


class HTTPStatus(DownloadError):
    """The server answered with a non-success status."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class Timeout(DownloadError):
    """The server was too slow (connect, read, or the whole download's deadline)."""
