"""Debian, Ubuntu and Echo: Debian policy 5.6.12 (``[epoch:]upstream[-revision]``), as dpkg.

Through python-debian (Debian's own Python implementation of dpkg's comparison): epochs first,
then upstream and revision compared by alternating non-digit runs (``~`` before everything, even
the end; letters before other characters) and numbers.
"""

from __future__ import annotations

from debian.debian_support import Version

from .base import ordering


@ordering("Debian")
def DEBIAN(version: str) -> Version:
    return Version(version.strip())
