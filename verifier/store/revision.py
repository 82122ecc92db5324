"""The store revision: one counter bumped in the same transaction as every change of facts.

Replicas compare it with their snapshot's revision to know when to rebuild. On PostgreSQL a bump
also sends `NOTIFY toolgate_revision` (delivered when the transaction commits), so replicas
listening with `RevisionListener` rebuild at once instead of at their next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, select, text, update
from sqlmodel import Session

from verifier.store.models import StoreStateRow

log = logging.getLogger(__name__)

_REVISION = StoreStateRow.__table__.c  # type: ignore[attr-defined]
CHANNEL = "toolgate_revision"


def bump_revision(session: Session, *, advisories: bool = False) -> None:
    """Mark the facts as changed (and, with `advisories`, the advisory data); commit with them."""
    keys = ["revision", "advisories"] if advisories else ["revision"]
    session.execute(
        update(StoreStateRow).where(_REVISION.key.in_(keys)).values(value=_REVISION.value + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


def read_revision(connection: Connection | Session, key: str = "revision") -> int:
    """The current store revision (or the counter named `key`: "advisories")."""
    value = connection.execute(select(_REVISION.value).where(_REVISION.key == key)).scalar()
    return int(value or 0)


class RevisionListener:
    """A thread that LISTENs for revision bumps on its own PostgreSQL connection and calls
    `on_change` for each (and after every (re)connection, for bumps it may have missed).

    A lost connection is retried with backoff (0.5 s doubling to `max_backoff`); meanwhile the
    caller's polling keeps snapshots current, only slower.
    """

    def __init__(
        self, engine: Engine, on_change: Callable[[], None], *, max_backoff: float = 30.0
    ) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._on_change = on_change
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revision-listener", daemon=True)
        self.connected = threading.Event()

    def start(self) -> RevisionListener:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Whether the listening thread runs (it outlives any error, but say so if not)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop listening (within a second; the thread is a daemon and never holds up exit)."""
        self._stopping.set()

    def _run(self) -> None:
        import psycopg  # only a PostgreSQL daemon listens: other commands skip the driver's import

        backoff = 0.5
        while not self._stopping.is_set():
            try:
                self._listen()
                backoff = 0.5
            except Exception as exc:  # a lost connection, or a bug: the thread must go on
                self.connected.clear()
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning(
                    "revision listener: %s; polling until it reconnects",
                    message,
                    exc_info=None if isinstance(exc, psycopg.Error) else exc,
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        ) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.connected.set()
            self._on_change()
            while not self._stopping.is_set():
                # The generator ends after a second without news, to look at the stop flag.
                for _ in connection.notifies(timeout=1.0):
                    if self._stopping.is_set():  # the caller may be gone (a closed event loop)
                        return
                    self._on_change()
