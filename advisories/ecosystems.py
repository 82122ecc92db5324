"""OSV ecosystem names and their package-name normalisation (orderings: :mod:`.ordering`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from packaging.utils import canonicalize_name

# Ecosystems defined by the OSV schema (1.6); a ":suffix" (e.g. "Debian:11") names a release.
KNOWN_ECOSYSTEMS = frozenset(
    {
        "AlmaLinux", "Alpaquita", "Alpine", "Android", "BellSoft Hardened Containers",
        "Bioconductor", "Bitnami", "Chainguard", "CRAN", "crates.io", "Debian", "Echo", "GHC",
        "GitHub Actions", "Go", "Hackage", "Hex", "Linux", "Mageia", "Maven", "MinimOS", "npm",
        "NuGet", "openEuler", "openSUSE", "OSS-Fuzz", "Packagist", "Photon OS", "Pub", "PyPI",
        "Red Hat", "Rocky Linux", "RubyGems", "SUSE", "SwiftURL", "Ubuntu", "Wolfi",
    }
)  # fmt: skip
_BY_LOWER = {name.lower(): name for name in KNOWN_ECOSYSTEMS}


def _lower(name: str) -> str:
    return name.lower()


def _crate(name: str) -> str:
    # crates.io treats '-' and '_' as the same name, case-insensitively.
    return name.lower().replace("_", "-")


def _maven(name: str) -> str:
    return re.sub(r"\s+", "", name)


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "PyPI": canonicalize_name,
    "npm": _lower,
    "GitHub Actions": _lower,
    "crates.io": _crate,
    "NuGet": _lower,
    "Packagist": _lower,
    "Pub": _lower,
    "Maven": _maven,
}


@lru_cache(maxsize=1024)
def canonical_ecosystem(ecosystem: str) -> str | None:
    """The OSV spelling of ``ecosystem`` (keeping a release suffix), or None if unknown."""
    base, sep, release = ecosystem.strip().partition(":")
    canonical = _BY_LOWER.get(base.strip().lower())
    if canonical is None:
        return None
    return f"{canonical}:{release.strip()}" if sep and release.strip() else canonical


def normalise_package(ecosystem: str, name: str) -> str:
    """Package name as the ecosystem compares it (PyPI canonical names, npm lowercase, Go as is)."""
    normalise = _NORMALISERS.get(ecosystem.partition(":")[0])
    return normalise(name.strip()) if normalise else name.strip()
