"""The error a channel raises when a delivery did not go through (it will be retried)."""

from __future__ import annotations

from verifier.errors import ToolgateError


class DeliveryError(ToolgateError):
    """A message was not accepted; the text says by whom and why, never with a secret in it."""
