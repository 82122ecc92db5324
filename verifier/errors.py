"""toolgate's exception hierarchy; every message tells the operator what to do next."""

from __future__ import annotations


class ToolgateError(Exception):
    """Base of every error toolgate raises on purpose."""


class ConfigError(ToolgateError):
    """The configuration is unreadable or invalid; the message names file, line and key."""


class StoreError(ToolgateError):
    """The store could not be reached or holds something unexpected."""


class NotFoundError(ToolgateError):
    """A tool, token or record named by the operator does not exist."""
