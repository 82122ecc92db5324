"""`toolgate advisories sync` syncs now, but never a feed a replica is syncing at that moment."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.replicas.conftest import replica_config
from verifier.cli import app
from verifier.leases import claim_due, release

RECORD = Path(__file__).parents[1] / "data" / "osv-trivy-2026" / "GHSA-69fq-xp46-6x23.json"


def test_a_feed_a_replica_is_syncing_is_not_synced_again_by_the_cli(engine, store_url, tmp_path):
    shutil.copy(RECORD, tmp_path / "osv.json")
    config = tmp_path / "config.toml"
    feed = '[[feed]]\nname = "osv"\ntype = "osv"\npath = "osv.json"\n'
    config.write_text(replica_config(store_url, extra=feed))
    now, hour = datetime.now(UTC), timedelta(hours=1)
    assert claim_due(engine, "feed:osv", "replica-a", hour, hour, now)
    sync = ["advisories", "sync", "--config", str(config)]
    busy = CliRunner().invoke(app, sync)
    assert busy.exit_code == 1, busy.output
    assert "osv: failed another replica is syncing it right now" in " ".join(busy.output.split())
    release(engine, "replica-a", now)
    done = CliRunner().invoke(app, sync)
    assert done.exit_code == 0, done.output
    assert "osv: 1 new" in done.output
