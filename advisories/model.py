"""The normalised advisory: frozen value objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
#: GitHub's severity labels in increasing order; CVSS "MEDIUM" is read as MODERATE.
SEVERITIES = ("NONE", "LOW", "MODERATE", "HIGH", "CRITICAL")
_MALWARE_CWE = "CWE-506"


@dataclass(frozen=True, slots=True)
class Event:
    """One OSV range event, e.g. ``introduced: 0``."""

    kind: EventKind
    value: str


@dataclass(frozen=True, slots=True)
class Range:
    """An OSV range: ``ECOSYSTEM``, ``SEMVER`` or ``GIT`` (events are then commits of ``repo``)."""

    type: str
    events: tuple[Event, ...]
    repo: str | None = None

    def describe(self) -> str:
        """The events in words, as published: ``introduced 0, fixed 1.2.3``."""
        return ", ".join(f"{e.kind} {e.value}" for e in self.events)


@dataclass(frozen=True, slots=True)
class Affected:
    """One affected package: ecosystem, normalised and published name, ranges, versions."""

    ecosystem: str
    package: str
    name: str
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()
    purl: str | None = None
    database_specific: dict[str, Any] | None = None
    ecosystem_specific: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Severity:
    """A severity entry: vector (``CVSS:3.1/…``) and the base score when it can be computed."""

    type: str
    vector: str
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A typed link (ADVISORY, FIX, WEB, …)."""

    type: str
    url: str


@dataclass(frozen=True, slots=True)
class Advisory:
    """A normalised advisory record from one source feed.

    ``notes`` lists repairs made while reading (e.g. an operator stripped from an event value);
    ``malicious`` is set for ``MAL-`` records, CWE-506 and "malicious" database_specific data.
    """

    id: str
    modified: datetime
    source: str
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    severity: tuple[Severity, ...] = ()
    severity_label: str | None = None
    published: datetime | None = None
    withdrawn: datetime | None = None
    affected: tuple[Affected, ...] = ()
    references: tuple[Reference, ...] = ()
    cwe_ids: tuple[str, ...] = ()
    malicious: bool = False
    known_exploited: bool = False
    database_specific: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """This record's id followed by its aliases."""
        return (self.id, *self.aliases)

    @property
    def cvss_score(self) -> float | None:
        """The highest computed CVSS score, if any."""
        scores = [s.score for s in self.severity if s.score is not None]
        return max(scores) if scores else None

    @property
    def effective_severity(self) -> str | None:
        """CRITICAL when known exploited or malicious, else the label (None if unknown)."""
        if self.known_exploited or self.malicious:
            return "CRITICAL"
        return self.severity_label


def is_malicious(advisory_id: str, cwe_ids: tuple[str, ...], database_specific: Any) -> bool:
    """Malicious-package records: ``MAL-`` ids, CWE-506, or "malicious" in a database_specific
    key or top-level value (OSV's MAL records: ``malicious-packages-origins``)."""
    if advisory_id.startswith("MAL-") or _MALWARE_CWE in cwe_ids:
        return True
    if not isinstance(database_specific, dict):
        return False
    return any(
        "malicious" in key.lower() or (isinstance(value, str) and "malicious" in value.lower())
        for key, value in database_specific.items()
    )


def severity_rank(label: str | None) -> int:
    """Position of a label in :data:`SEVERITIES`; -1 for None or an unknown label."""
    try:
        return SEVERITIES.index(label) if label else -1
    except ValueError:
        return -1
