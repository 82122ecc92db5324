"""Revision notifications on PostgreSQL: delivered when the bump commits, and a listener whose
connection is cut reconnects and catches up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from verifier.store.revision import RevisionListener, bump_revision

pytestmark = pytest.mark.parametrize(
    "store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class Wakes:
    """Counts the listener's calls."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, condition: Callable[[int], bool], timeout: float = 30.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: condition(self.count), timeout), self.count


def listening(engine: Engine) -> tuple[RevisionListener, Wakes]:
    wakes = Wakes()
    listener = RevisionListener(engine, wakes, max_backoff=0.5).start()
    assert listener.connected.wait(30)
    wakes.wait_for(lambda n: n == 1)  # once on connecting, for what it may have missed
    return listener, wakes


def test_a_bump_wakes_listeners_when_it_commits(engine, store_url):
    listener, wakes = listening(engine)
    try:
        with Session(engine) as session:
            bump_revision(session)
            time.sleep(0.3)
            assert wakes.count == 1  # not before the commit
            session.commit()
        wakes.wait_for(lambda n: n == 2)
        with Session(engine) as session:
            bump_revision(session)
            session.rollback()
        time.sleep(0.3)
        assert wakes.count == 2  # a rolled-back change is no news
    finally:
        listener.stop()


def test_a_listener_whose_connection_is_cut_reconnects_and_catches_up(engine, store_url):
    listener, wakes = listening(engine)
    try:
        with engine.connect() as connection:
            cut = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query = 'LISTEN toolgate_revision'"
                )
            ).scalars()
            assert list(cut) == [True]
        wakes.wait_for(lambda n: n == 2)  # reconnected, and woke for what it may have missed
        with Session(engine) as session:
            bump_revision(session)
            session.commit()
        wakes.wait_for(lambda n: n == 3)
    finally:
        listener.stop()
