"""Moved to `verifier.demo.upstream` (the demo ships it); kept so existing imports work."""

from verifier.demo.upstream import FakeGitHub, FakeRepo, Injected, Recorded, sha256_hex

__all__ = ["FakeGitHub", "FakeRepo", "Injected", "Recorded", "sha256_hex"]
