"""The normalised advisory: frozen value objects and their canonical JSON form."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
#: GitHub's severity labels in increasing order; CVSS "MEDIUM" is read as MODERATE.
SEVERITIES = ("NONE", "LOW", "MODERATE", "HIGH", "CRITICAL")
_MALWARE_CWE = "CWE-506"
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dataclass fields by name); :func:`advisory_from_dict` reverses it."""
        return orjson.loads(self.canonical_json())

    def canonical_json(self) -> bytes:
        """Deterministic JSON bytes: equal advisories give equal bytes (orjson serialises the
        dataclasses in field order and sorts the keys of free-form dicts)."""
        return orjson.dumps(self, option=_CANONICAL)

    def content_hash(self) -> str:
        """SHA-256 hex digest of :meth:`canonical_json`."""
        return digest(self.canonical_json())


def digest(canonical: bytes) -> str:
    """SHA-256 hex digest of canonical JSON bytes."""
    return hashlib.sha256(canonical).hexdigest()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _range(data: dict[str, Any]) -> Range:
    events = tuple(Event(e["kind"], e["value"]) for e in data["events"])
    return Range(data["type"], events, data["repo"])


def _affected(data: dict[str, Any]) -> Affected:
    return Affected(
        ecosystem=data["ecosystem"],
        package=data["package"],
        name=data["name"],
        ranges=tuple(_range(r) for r in data["ranges"]),
        versions=tuple(data["versions"]),
        purl=data["purl"],
        database_specific=data["database_specific"],
        ecosystem_specific=data["ecosystem_specific"],
    )


def advisory_from_dict(data: dict[str, Any]) -> Advisory:
    """Rebuild an :class:`Advisory` from :meth:`Advisory.to_dict` output (trusted input)."""
    return Advisory(
        id=data["id"],
        modified=datetime.fromisoformat(data["modified"]),
        source=data["source"],
        aliases=tuple(data["aliases"]),
        related=tuple(data["related"]),
        summary=data["summary"],
        details=data["details"],
        severity=tuple(Severity(s["type"], s["vector"], s["score"]) for s in data["severity"]),
        severity_label=data["severity_label"],
        published=_dt(data["published"]),
        withdrawn=_dt(data["withdrawn"]),
        affected=tuple(_affected(a) for a in data["affected"]),
        references=tuple(Reference(r["type"], r["url"]) for r in data["references"]),
        cwe_ids=tuple(data["cwe_ids"]),
        malicious=data["malicious"],
        known_exploited=data["known_exploited"],
        database_specific=data["database_specific"],
        notes=tuple(data["notes"]),
    )


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
