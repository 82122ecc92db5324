"""How toolgate names and orders the versions of inventory tools.

Runners ask for "0.69.4" or "v0.69.4" interchangeably; both name the same release. Ordering uses
PEP 440 where a version parses (it covers SemVer-shaped release tags) and is undefined otherwise.
"""

from __future__ import annotations

from functools import lru_cache

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version


def canonical_version(version: str) -> str:
    """The key a version is stored under: a leading "v" before a digit is dropped."""
    if len(version) > 1 and version[0] in "vV" and version[1].isdigit():
        return version[1:]
    return version


@lru_cache(maxsize=65536)
def parse_version(version: str) -> Version | None:
    """The PEP 440 reading of a version, or None when it has none."""
    try:
        return Version(canonical_version(version))
    except InvalidVersion:
        return None


class ApprovedVersions:
    """The configured `versions` of a tool: exact versions and/or specifiers; empty means any."""

    def __init__(self, entries: list[str]) -> None:
        self.entries = tuple(entries)
        self._exact = frozenset(canonical_version(e) for e in entries if not is_specifier(e))
        self._specifiers = tuple(SpecifierSet(e) for e in entries if is_specifier(e))

    def __contains__(self, version: str) -> bool:
        if not self.entries or canonical_version(version) in self._exact:
            return True
        parsed = parse_version(version)
        return parsed is not None and any(spec.contains(parsed) for spec in self._specifiers)

    @property
    def exact(self) -> tuple[str, ...]:
        """The exact versions listed (not the specifiers), as written."""
        return tuple(entry for entry in self.entries if not is_specifier(entry))

    def describe(self) -> str:
        return ", ".join(self.entries) if self.entries else "any verified version"


def is_specifier(entry: str) -> bool:
    """Whether a `versions` entry is a specifier (`>=1.2`) rather than an exact version."""
    return any(ch in entry for ch in "<>=!~,*")
