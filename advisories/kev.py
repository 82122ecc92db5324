"""CISA's Known Exploited Vulnerabilities catalogue: parse it, and flag advisories it names."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from .aliases import AliasGroups
from .errors import ParseError, SkippedRecord
from .model import Advisory


@dataclass(frozen=True, slots=True)
class KevEntry:
    """One catalogue entry."""

    cve_id: str
    vendor_project: str
    product: str
    name: str
    date_added: date
    due_date: date | None
    ransomware: str
    cwes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KevCatalog:
    """The catalogue: version, entries, and the entries that could not be read."""

    version: str
    entries: tuple[KevEntry, ...]
    skipped: tuple[SkippedRecord, ...] = ()

    @property
    def cve_ids(self) -> frozenset[str]:
        """Every CVE id in the catalogue."""
        return frozenset(e.cve_id for e in self.entries)

    def rows(self) -> list[dict[str, Any]]:
        """Rows for the ``adv_kev`` table."""
        return [
            {
                "cve_id": e.cve_id,
                "vendor_project": e.vendor_project,
                "product": e.product,
                "name": e.name,
                "date_added": e.date_added,
                "due_date": e.due_date,
                "ransomware": e.ransomware,
                "catalog_version": self.version,
            }
            for e in self.entries
        ]


def parse_kev(raw: bytes, origin: str = "kev") -> KevCatalog:
    """Parse catalogue JSON; bad entries are skipped and reported, a bad document raises."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"malformed KEV JSON: {exc}", origin=origin) from None
    if not isinstance(data, dict) or not isinstance(data.get("vulnerabilities"), list):
        raise ParseError("not a KEV catalogue (no 'vulnerabilities' list)", origin=origin)
    entries: list[KevEntry] = []
    skipped: list[SkippedRecord] = []
    for item in data["vulnerabilities"]:
        try:
            entries.append(_entry(item, origin))
        except ParseError as exc:
            skipped.append(exc.skipped())
    return KevCatalog(str(data.get("catalogVersion") or ""), tuple(entries), tuple(skipped))


def _entry(item: Any, origin: str) -> KevEntry:
    cve = item.get("cveID") if isinstance(item, dict) else None
    if not isinstance(cve, str) or not cve.startswith("CVE-"):
        raise ParseError("entry without a 'cveID'", origin=origin)
    try:
        added = date.fromisoformat(item["dateAdded"])
        due = date.fromisoformat(item["dueDate"]) if item.get("dueDate") else None
    except (KeyError, TypeError, ValueError):
        raise ParseError(
            "missing or invalid dateAdded/dueDate", origin=origin, record_id=cve
        ) from None
    cwes = item.get("cwes") or []
    return KevEntry(
        cve_id=cve,
        vendor_project=str(item.get("vendorProject") or ""),
        product=str(item.get("product") or ""),
        name=str(item.get("vulnerabilityName") or ""),
        date_added=added,
        due_date=due,
        ransomware=str(item.get("knownRansomwareCampaignUse") or "Unknown"),
        cwes=tuple(c for c in cwes if isinstance(c, str)),
    )


def mark_known_exploited(
    advisories: Iterable[Advisory], cve_ids: Collection[str], groups: AliasGroups | None = None
) -> list[Advisory]:
    """Advisories whose alias group contains a catalogued CVE, marked ``known_exploited``
    (their effective severity becomes CRITICAL); the others unchanged."""
    advisories = list(advisories)
    groups = groups or AliasGroups(advisories)
    exploited = {groups.group_id(cve) for cve in cve_ids}
    return [
        dataclasses.replace(a, known_exploited=True)
        if not a.known_exploited and groups.group_id(a.id) in exploited
        else a
        for a in advisories
    ]
