"""Inventory-wide summaries (the overview's counts, the advisories matched to the inventory),
computed once per snapshot and off the request path."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from verifier.snapshot import Snapshot

OUTCOMES = ("allow", "warn", "deny")

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Summary(Generic[T]):
    """A value computed from one snapshot; `fresh` when that snapshot is the current one."""

    value: T
    revision: int
    fresh: bool


class PerSnapshot(Generic[T]):
    """`compute(snapshot)`, kept for the newest snapshot summarised (stale-while-revalidate).

    Inventory-wide summaries cost every version's decision (`Snapshot.verdicts`: a few hundred
    ms at 20,000 versions), so they are computed by one background thread: `prepare` starts the
    first (the login page calls it, so the summary is ready when the user is in); a request that
    finds the snapshot changed gets the previous summary at once (marked stale, with its
    revision) while the new one is computed. Only a request with no summary at all waits for it.
    """

    def __init__(self, compute: Callable[[Snapshot], T]) -> None:
        self._compute = compute
        self._slot: tuple[Snapshot, T] | None = None
        self._running = False
        self._done = threading.Condition()

    def _start(self, snapshot: Snapshot) -> None:
        """Summarise `snapshot` in the background unless a summary is being computed (locked)."""
        if not self._running:
            self._running = True
            thread = threading.Thread(
                target=self._refresh, args=(snapshot,), name="dashboard-summary", daemon=True
            )
            thread.start()

    def prepare(self, snapshot: Snapshot) -> None:
        """Start the first summary in the background (nothing to do once there is one)."""
        with self._done:
            if self._slot is None:
                self._start(snapshot)

    def __call__(self, snapshot: Snapshot) -> Summary[T]:
        with self._done:
            if self._slot is None:
                self._start(snapshot)
                self._done.wait_for(lambda: not self._running)
            slot = self._slot
            if slot is None:  # the computation failed (logged): try once more, in this request
                slot = self._slot = (snapshot, self._compute(snapshot))
            elif slot[0] is not snapshot:
                self._start(snapshot)
            return Summary(slot[1], slot[0].revision, slot[0] is snapshot)

    def _refresh(self, snapshot: Snapshot) -> None:
        value: tuple[Snapshot, T] | None = None
        try:
            value = (snapshot, self._compute(snapshot))
        except Exception:  # pages keep the previous summary; say why in the log
            log.exception("dashboard summary of revision %d failed", snapshot.revision)
        with self._done:
            if value is not None:
                self._slot = value
            self._running = False
            self._done.notify_all()


@dataclass(frozen=True, slots=True)
class ToolRow:
    """One line of the overview: a tool and how many of its versions each outcome has."""

    name: str
    mode: str
    newest_allowed: str | None
    counts: dict[str, int]
    blocks: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Inventory:
    tools: tuple[ToolRow, ...]
    totals: dict[str, int]


def inventory_counts(snapshot: Snapshot) -> Inventory:
    """Every tool with the decision counts of its known versions (the snapshot's verdicts)."""
    rows, totals = [], Counter({outcome: 0 for outcome in OUTCOMES})
    for name in sorted(snapshot.tools):
        facts = snapshot.tools[name]
        counts = Counter({outcome: 0 for outcome in OUTCOMES})
        counts.update(verdict.decision.outcome for verdict in snapshot.verdicts(name))
        totals.update(counts)
        blocks = sum(1 for block in facts.blocks if block.active(snapshot.now))
        rows.append(ToolRow(name, facts.mode, snapshot.newest.get(name), dict(counts), blocks))
    return Inventory(tuple(rows), dict(totals))


@dataclass
class AdvisoryView:
    """An advisory that affects inventory versions, with how the policy weighs it."""

    advisory_id: str
    aliases: tuple[str, ...]
    severity: str | None
    action: str
    summary: str
    detail: str
    unevaluated: bool = False  # covers the tool, could not be compared with its versions
    affected: list[tuple[str, str, str | None]] = field(default_factory=list)  # tool, ver, waiver


def matched_advisories(snapshot: Snapshot) -> list[AdvisoryView]:
    """Every advisory affecting a version the inventory knows, most severe action first."""
    found: dict[str, AdvisoryView] = {}
    for name in sorted(snapshot.tools):
        for verdict in snapshot.verdicts(name):
            for hit in verdict.hits:
                view = found.get(hit.advisory_id)
                if view is None:
                    view = found[hit.advisory_id] = AdvisoryView(
                        hit.advisory_id,
                        hit.aliases,
                        hit.severity,
                        hit.action,
                        hit.summary,
                        hit.detail,
                        hit.unevaluated,
                    )
                view.affected.append((name, verdict.version, hit.waiver))
    return sorted(found.values(), key=lambda v: (v.action != "deny", v.advisory_id))
