"""The SemVer family: npm, crates.io, Hex, Go, GitHub Actions, Bitnami, SwiftURL, Pub, NuGet.

Read leniently, as OSV's own ordering does: an optional ``v``/``=`` prefix, any number of numeric
components (missing ones count as 0, so ``1.2`` == ``1.2.0`` and ``1.1.3.4.5`` is a version),
then SemVer 2.0.0 pre-release precedence. Build metadata is ignored, except by Pub, whose
``pub_semver`` orders it (``1.2.3 < 1.2.3+1 < 1.2.3+2``). NuGet compares pre-release labels
case-insensitively. Go pseudo-versions are pre-releases and ``+incompatible`` is build metadata,
so both order as the Go toolchain orders them.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Ordering, ordering

_VERSION = re.compile(
    r"^[v=]?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z.-]*))?$"
)
_PARTIAL_TAG = re.compile(r"^v?\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")

Identifiers = tuple[tuple[int, int | str], ...]
# A release sorts after every pre-release of the same version: flag 1 vs 0.
_RELEASE: tuple[int, Identifiers] = (1, ())


def _identifiers(text: str) -> Identifiers:
    # Numeric identifiers sort before alphanumeric ones; a shorter list sorts first on a tie.
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in text.split("."))


def _numbers(text: str) -> tuple[int, ...]:
    numbers = [int(n) for n in text.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()  # 1.2 == 1.2.0: with trailing zeros gone, tuples compare as padded lists
    return tuple(numbers)


def _parts(version: str, expected: str) -> re.Match[str]:
    m = _VERSION.match(version.strip())
    if m is None:
        raise ValueError(f"expected {expected}")
    return m


def _key(version: str, expected: str, *, fold: bool = False) -> tuple[Any, ...]:
    m = _parts(version, expected)
    pre = m[2].lower() if fold and m[2] else m[2]
    return (_numbers(m[1]), _RELEASE if pre is None else (0, _identifiers(pre)))


@ordering("SemVer")
def SEMVER(version: str) -> tuple[Any, ...]:
    return _key(version, "MAJOR.MINOR.PATCH[-PRE][+BUILD]")


@ordering("Go")
def GO(version: str) -> tuple[Any, ...]:
    return _key(version, "a module version like v1.2.3")


@ordering("GitHub Actions")
def GITHUB_ACTIONS(version: str) -> tuple[Any, ...]:
    return _key(version, "a version tag like v1, v1.2 or 1.2.3")


@ordering("NuGet")
def NUGET(version: str) -> tuple[Any, ...]:
    return _key(version, "a NuGet version like 1.2.3.4[-PRE][+BUILD]", fold=True)


@ordering("Pub")
def PUB(version: str) -> tuple[Any, ...]:
    m = _parts(version, "a Dart version like 1.2.3[-PRE][+BUILD]")
    pre = _RELEASE if m[2] is None else (0, _identifiers(m[2]))
    build = (0, ()) if not m[3] else (1, _identifiers(m[3]))
    return (_numbers(m[1]), pre, build)


def is_partial_tag(version: str) -> bool:
    """True for moving GitHub Actions tags such as ``v4`` or ``v4.1`` (fewer than 3 parts)."""
    return _PARTIAL_TAG.match(version.strip()) is not None


__all__ = ["GITHUB_ACTIONS", "GO", "NUGET", "PUB", "SEMVER", "Ordering", "is_partial_tag"]
