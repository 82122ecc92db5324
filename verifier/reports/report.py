"""A report as every format sees it: a title, key figures, tables, a JSON document, the inventory.

`verifier.reports.kinds` builds one per kind; each module of `verifier.reports.formats` turns it
into bytes. Tables hold display strings (times as ISO 8601 UTC with a Z, absent values empty);
the document holds the structured values (frozen dataclasses, serialised by the JSON format).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from verifier.reports.model import AuditTrail, ExposureEntry, Inventory

SCHEMA = "toolgate.report/v1"


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of display strings under named columns."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Report:
    """One report, ready for any format; `tables[0]` is the one CSV carries."""

    kind: str
    title: str
    generated_at: datetime
    policy_revision: int
    summary: tuple[tuple[str, str], ...]
    make_tables: Callable[[], tuple[Table, ...]]
    document: Mapping[str, Any]
    inventory: Inventory
    exposure: tuple[ExposureEntry, ...] = ()
    audit: AuditTrail | None = None

    @cached_property
    def tables(self) -> tuple[Table, ...]:
        """The tables, built on first use (JSON and CycloneDX never need them)."""
        return self.make_tables()


def iso(moment: datetime | None) -> str:
    """`2026-03-19T18:22:00Z`, or "" for no time."""
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def cell(value: object) -> str:
    """A value as a table cell: "" for None, ISO for times, `yes`/`no` for booleans."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
