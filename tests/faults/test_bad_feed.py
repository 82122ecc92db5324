"""One malformed feed among ten is that feed's failure: the other nine keep syncing on
schedule, and the bad one is named in the log, in /readyz, in `toolgate doctor` and in a
`feed-failing` incident.

Before: the bad document's RecursionError escaped the feed's sync and ended the feeds loop,
silently: no feed was synced again and /readyz said `ready`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from sqlmodel import Session

from advisories import feed_states
from tests.conftest import LiveServer, wait_until
from tests.faults.conftest import rewrite
from tests.faults.documents import good_record, nested_yaml
from verifier.config import Config
from verifier.demo.feeds import FeedServer
from verifier.doctor import Status, check_feeds, check_serving
from verifier.incidents import list_incidents
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade

GOOD = [f"good-{n}" for n in range(9)]
BAD = "bad-3"  # in the middle: feeds before and after it must both keep syncing


def _feeds(server: FeedServer) -> str:
    tables = []
    for name in [*GOOD[:3], BAD, *GOOD[3:]]:
        if name == BAD:
            url = server.put(f"/{name}.yaml", nested_yaml())
        else:
            url = server.put(f"/{name}.json", good_record())
        tables.append(f'[[feed]]\nname = "{name}"\ntype = "osv"\nurl = "{url}"\ninterval = "1s"\n')
    return "\n".join(tables)


def test_a_malformed_feed_fails_alone_and_is_named_everywhere(
    store_url: str, write_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    feeds = FeedServer().start()
    config = write_config(store_url, extra=_feeds(feeds))
    # Feeds are looked at every half lease: every second.
    config = rewrite(
        config, 'snapshot_interval = "1s"\n', 'snapshot_interval = "1s"\nlease = "2s"\n'
    )
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    server = LiveServer(config, engine).start()
    try:

        def successes() -> dict[str, object]:
            return {s.feed: s.last_success_at for s in feed_states(engine)}

        wait_until(lambda: all(successes().get(name) for name in GOOD), "every good feed synced")
        first = successes()
        # On schedule: each good feed syncs again, twice (the loop outlives the bad one).
        wait_until(
            lambda: all(successes()[name] > first[name] for name in GOOD), "good feeds resynced"
        )
        second = successes()
        wait_until(lambda: all(successes()[name] > second[name] for name in GOOD), "and again")
        assert successes()[BAD] is None

        ready = httpx.get(f"{server.url}/readyz", timeout=30).json()
        assert ready["status"] == "degraded"
        assert ready["failing_feeds"] == [BAD] and ready["failing"] == {}
        (state,) = [s for s in feed_states(engine) if s.feed == BAD]
        assert state.last_error and "nested deeper than" in state.last_error

        logged = [r.getMessage() for r in caplog.records if BAD in r.getMessage()]
        assert any("nested deeper than" in message for message in logged), logged
        with Session(engine) as session:
            failing = [i for i in list_incidents(session) if i.kind == "feed-failing"]
        assert [i.dedupe_key.split(":")[1] for i in failing] == [BAD]
        assert BAD in failing[0].summary

        doctor = check_feeds(config)
        assert doctor.status == Status.FAIL and f"{BAD} failing" in doctor.detail
        assert all(name not in doctor.detail for name in GOOD)
        serving = check_serving(config)
        assert serving.status == Status.FAIL and f"failing feeds {BAD}" in serving.detail
    finally:
        server.stop()
        engine.dispose()
        feeds.stop()
