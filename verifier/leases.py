"""Leases: background work that replicas sharing a store do once between them, not once each.

A lease names one unit of work (`watch:trivy`, `feed:osv-go`) in the `leases` table. A replica
takes it with one conditional upsert (INSERT … ON CONFLICT DO UPDATE … WHERE, atomic on SQLite
and on PostgreSQL, where the conflicting row is locked and the condition re-checked on its newest
version) when the work is due and nobody holds it, or when its holder stopped renewing it (a
crashed replica) and the lease ran out. Taking it moves the due time one interval on, so the
work is done at most once per interval across replicas. `finish` gives back done work; `release`
gives back undone work, due again at once for whoever comes next.

Holders compare their own clocks with times other hosts wrote: keep the replicas' clocks in
sync (NTP), as for every lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from verifier.store.models import LeaseRow

log = logging.getLogger(__name__)

_LEASE = LeaseRow.__table__  # type: ignore[attr-defined]
_C = _LEASE.c


def new_holder() -> str:
    """A holder id unique to this process and call: host, pid and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _claimable(now: datetime, *, force: bool) -> ColumnElement[bool]:
    """Nobody holds it and it is due (or `force`), or its holder's lease ran out."""
    free = _C.holder.is_(None)
    if not force:
        free = and_(free, or_(_C.next_due_at.is_(None), _C.next_due_at <= now))
    return or_(free, and_(_C.holder.is_not(None), _C.expires_at <= now))


def claim_due(
    engine: Engine,
    name: str,
    holder: str,
    interval: timedelta,
    lease: timedelta,
    now: datetime,
    *,
    force: bool = False,
) -> bool:
    """Take the work `name` for `lease` if it is due (`force`: due or not) and not held by a
    live holder; on success it is next due `interval` after `now`. Exactly one of several
    concurrent claimants wins."""
    condition = _claimable(now, force=force)
    # Look first, in a read-only transaction: the usual answer is "not due", and that must not
    # take SQLite's write lock (nor start a write in a transaction that has read already).
    with engine.connect() as connection:
        looked = connection.execute(select(condition).where(_C.name == name)).first()
    if looked is not None and not looked[0]:
        return False
    values = {"holder": holder, "expires_at": now + lease, "next_due_at": now + interval}
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_LEASE)
        .values(name=name, **values)
        .on_conflict_do_update(index_elements=[_C.name], set_=values, where=condition)
        .returning(_C.name)
    )
    with engine.begin() as connection:
        return connection.execute(statement).first() is not None


def _update(engine: Engine, holder: str, name: str | None, values: dict[str, object]) -> int:
    mine = _C.holder == holder if name is None else and_(_C.holder == holder, _C.name == name)
    with engine.begin() as connection:
        return int(connection.execute(update(_LEASE).where(mine).values(values)).rowcount)


def renew(
    engine: Engine, holder: str, lease: timedelta, now: datetime, name: str | None = None
) -> int:
    """Extend what `holder` holds (or just `name`) to `now + lease`; returns how many leases
    it still held (0: another replica took the work over)."""
    return _update(engine, holder, name, {"expires_at": now + lease})


def finish(engine: Engine, name: str, holder: str, now: datetime) -> bool:
    """Give back done work (next due as set when claimed); False if `holder` had lost it."""
    return (
        _update(engine, holder, name, {"holder": None, "expires_at": None, "last_done_at": now})
        == 1
    )


def release(engine: Engine, holder: str, now: datetime, name: str | None = None) -> int:
    """Give back undone work `holder` holds (or just `name`), due again at once; returns how
    many leases were given back."""
    return _update(engine, holder, name, {"holder": None, "expires_at": None, "next_due_at": now})


class Leaser:
    """One process's claims: a holder id, a lease length, and renewal while work runs."""

    def __init__(self, engine: Engine, lease: timedelta, holder: str | None = None) -> None:
        self.engine = engine
        self.lease = lease
        self.holder = holder or new_holder()

    @contextmanager
    def hold(self, name: str, interval: timedelta, *, force: bool = False) -> Iterator[bool]:
        """Claim `name` (see `claim_due`) and yield whether it is ours; while the block runs the
        lease is renewed every third of its length; after it, the work is finished (or, if the
        block raised, released for another replica)."""
        if not claim_due(
            self.engine, name, self.holder, interval, self.lease, datetime.now(UTC), force=force
        ):
            yield False
            return
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._renew_until, args=(name, stop), name=f"lease {name}", daemon=True
        )
        renewer.start()
        done = False
        try:
            yield True
            done = True
        finally:
            stop.set()
            renewer.join()
            self._give_back(name, done)

    def _renew_until(self, name: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 3):
            try:
                if not renew(self.engine, self.holder, self.lease, datetime.now(UTC), name):
                    log.warning("lease %s is no longer ours (given back, or taken over)", name)
                    return
            except SQLAlchemyError as exc:  # keep trying: the lease may outlive a short outage
                log.warning("cannot renew lease %s: %s", name, str(exc).splitlines()[0])

    def _give_back(self, name: str, done: bool) -> None:
        now = datetime.now(UTC)
        try:
            if done:
                finish(self.engine, name, self.holder, now)
            else:
                release(self.engine, self.holder, now, name)
        except SQLAlchemyError as exc:  # it runs out by itself
            log.warning("cannot give back lease %s: %s", name, str(exc).splitlines()[0])

    def release_all(self) -> int:
        """Give back every lease this process holds (on shutdown), so others need not wait
        for them to run out; returns how many."""
        return release(self.engine, self.holder, datetime.now(UTC))
