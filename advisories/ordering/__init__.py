"""Version orderings, one module per ecosystem family, behind one registry of OSV names.

:data:`ORDERINGS` maps every OSV ecosystem whose ``ECOSYSTEM`` ranges can be evaluated to its
ordering; :func:`ordering_for` also accepts a release suffix (``Ubuntu:22.04``, ``Debian:12``).
Ecosystems left out have no version order a range could use: ``Android`` (platform letters and
security patch levels), ``Linux`` and ``OSS-Fuzz`` (their records use ``GIT`` ranges); a record
in one of them is reported as unevaluated, never silently dropped.
"""

from __future__ import annotations

from .apk import APK
from .base import Ordering
from .debian import DEBIAN
from .maven import MAVEN
from .numeric import CRAN, HACKAGE
from .packagist import PACKAGIST
from .pypi import PEP440
from .rpm import RPM
from .rubygems import RUBYGEMS
from .semver import GITHUB_ACTIONS, GO, NUGET, PUB, SEMVER, is_partial_tag

ORDERINGS: dict[str, Ordering] = {
    "PyPI": PEP440,
    "Go": GO,
    "GitHub Actions": GITHUB_ACTIONS,
    "npm": SEMVER,
    "crates.io": SEMVER,
    "Hex": SEMVER,
    "Bitnami": SEMVER,
    "SwiftURL": SEMVER,
    "Pub": PUB,
    "NuGet": NUGET,
    "Maven": MAVEN,
    "RubyGems": RUBYGEMS,
    "Packagist": PACKAGIST,
    "CRAN": CRAN,
    "Bioconductor": CRAN,
    "Hackage": HACKAGE,
    "GHC": HACKAGE,
    "Debian": DEBIAN,
    "Ubuntu": DEBIAN,
    "Echo": DEBIAN,
    "Alpine": APK,
    "Alpaquita": APK,
    "BellSoft Hardened Containers": APK,
    "Chainguard": APK,
    "MinimOS": APK,
    "Wolfi": APK,
    "Red Hat": RPM,
    "AlmaLinux": RPM,
    "Rocky Linux": RPM,
    "openSUSE": RPM,
    "SUSE": RPM,
    "Mageia": RPM,
    "openEuler": RPM,
    "Photon OS": RPM,
}


def ordering_for(ecosystem: str) -> Ordering | None:
    """The version ordering of a canonical ecosystem (release suffix allowed), or None."""
    return ORDERINGS.get(ecosystem.partition(":")[0])


__all__ = [
    "APK",
    "CRAN",
    "DEBIAN",
    "GITHUB_ACTIONS",
    "GO",
    "HACKAGE",
    "MAVEN",
    "NUGET",
    "ORDERINGS",
    "PACKAGIST",
    "PEP440",
    "PUB",
    "RPM",
    "RUBYGEMS",
    "SEMVER",
    "Ordering",
    "is_partial_tag",
    "ordering_for",
]
