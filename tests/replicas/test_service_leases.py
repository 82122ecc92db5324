"""The daemon's feed sync runs under a lease, and stopping the service (SIGTERM) gives it back
at once: another replica need not wait for it to run out."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.advisories.loopback import Request, Response, serve
from tests.replicas.conftest import replica_config
from verifier.config import load_config
from verifier.leases import claim_due
from verifier.service import Service
from verifier.store.models import LeaseRow

RECORD = Path(__file__).parents[1] / "data" / "osv-trivy-2026" / "GHSA-69fq-xp46-6x23.json"


def test_stopping_mid_sync_gives_the_feed_lease_back(engine, store_url, tmp_path: Path):
    record, started, held = RECORD.read_bytes(), threading.Event(), threading.Event()

    def feed(_request: Request) -> Response:
        started.set()
        held.wait(20)
        return Response(200, record, {"Content-Type": "application/json"})

    with serve(feed) as server:
        path = tmp_path / "config.toml"
        path.write_text(
            replica_config(
                store_url,
                server='lease = "1h"',
                extra=f'[[feed]]\nname = "osv"\ntype = "osv"\nurl = "{server.url}/osv.json"\n',
            )
        )
        service = Service(load_config(path), engine)

        def lease() -> LeaseRow:
            with engine.connect() as connection:
                found = connection.execute(select(LeaseRow).where(LeaseRow.name == "feed:osv"))
                return LeaseRow.model_validate(found.one()._mapping)

        async def scenario() -> None:
            await service.start_background()
            try:
                assert await asyncio.to_thread(started.wait, 10), "the sync never started"
                assert lease().holder == service.leaser.holder
                await service.stop()
                released = lease()
                assert released.holder is None and released.last_done_at is None
                hour = timedelta(hours=1)  # as long as the lease: only a give-back frees it now
                assert claim_due(engine, "feed:osv", "replica-b", hour, hour, datetime.now(UTC))
            finally:
                held.set()

        asyncio.run(scenario())
