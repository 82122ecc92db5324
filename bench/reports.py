"""Report benchmark: the inventory report of 1,000 tools x 20 versions in every format.

Reusable dataset (bench/dashboard.py imports it; keep the name and signature stable):

    populate(engine, directory, tools=1000, versions=20) -> Config

writes `directory/config.toml` (the inventory, on `engine`'s store), migrates the store, syncs
the tools and fills it: per tool `versions` releases (`v1.<n>.0`; every 7th rejected with
`signature-invalid`, the newest pending, the rest verified with two signed assets and their
first-seen pins, or one for `pypi:`/`url:` tools), a block on every 25th tool, an approval on
every 40th, OSV advisories for every 10th tool (versions below 1.5.0, one waived), and 20 fetches
per 10th tool in the audit trail. Every store write goes through bulk inserts or the public
functions (`sync_tools`, `add_override`, `advisories.import_paths`, `AuditBuffer`).

Times, in the same run: the baseline (what `toolgate tools --json` does for the same store:
snapshot, every version's decision, JSON), `build_snapshot` alone (what the daemon does on each
store revision change), the report's snapshot and the collection shared by every format, then
per format the report shaped and written from collected data, and
`verifier.reports.render("inventory", FORMAT, …)` end to end from the store (median of --runs).
Target: each format <= 200 ms, both columns marked. Exits 1 if a format written from collected
data misses it or the CycloneDX sample is invalid.

Then the command a user runs (issue 17), end to end as a process: `toolgate report inventory
--format json -o FILE` on the same store, median wall-clock and CPU of --runs (target <= 0.5 s),
beside `python -c "import typer"` (the least any toolgate command can cost).
Usage: .venv/bin/python bench/reports.py [--tools 1000] [--versions 20] [--runs 5] [--store URL]
       [--toolgate PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from sqlalchemy import Engine, insert, select

from advisories import import_paths
from advisories.gcpause import paused_gc
from verifier.audit import AuditBuffer, AuditRecord
from verifier.config import Config, load_config
from verifier.inventory import add_override, sync_tools
from verifier.inventory_view import tool_view
from verifier.reports import FORMATS, render
from verifier.reports.collect import collect_inventory, report_snapshot
from verifier.reports.formats import FORMATS as WRITERS
from verifier.reports.kinds import inventory_report
from verifier.reports.model import Inventory
from verifier.snapshot import Snapshot, build_snapshot
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.store.models import AssetPinRow, AssetRow, ReleaseRow

TARGET_MS = 200.0
CLI_TARGET_S = 0.5
ISSUER = "https://token.actions.githubusercontent.com"
FIRST_SEEN = datetime(2026, 1, 5, tzinfo=UTC)


def _source(index: int) -> str:
    if index % 10 == 3:
        return f"pypi:tool-{index:04d}"
    if index % 10 == 7:
        return f"url:https://downloads.example.org/tool-{index:04d}/{{version}}/tool.tar.gz"
    return f"github:example-org/tool-{index:04d}"


def _config_text(engine: Engine, tools: int) -> str:
    url = engine.url.render_as_string(hide_password=False)
    lines = [
        'state_dir = "state"',
        f'[store]\nurl = "{url}"',
        '[github]\npoll_interval = "0s"',
        '[policy]\ncooldown = "0s"',
    ]
    for index in range(tools):
        name = f"tool-{index:04d}"
        lines.append(
            f'[[tool]]\nname = "{name}"\nsource = "{_source(index)}"\nversions = [">=1.0"]\n'
            + (f'advisories = ["Go:example.org/{name}"]\n' if index % 10 == 0 else "")
        )
    return "\n".join(lines) + "\n"


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _releases(tools: int, versions: int) -> tuple[list[dict], list[tuple[str, str, list[str]]]]:
    """Release rows, and (tool, version, asset names) to attach assets to."""
    rows, assets = [], []
    for index in range(tools):
        name = f"tool-{index:04d}"
        files = ["tool_linux_amd64.tar.gz", "tool_linux_arm64.tar.gz"]
        files = files if _source(index).startswith("github:") else files[:1]
        for minor in range(versions):
            version = f"v1.{minor}.0"
            status = "pending" if minor == versions - 1 else "verified"
            status = "rejected" if minor % 7 == 6 and status == "verified" else status
            commit = _digest(name, version)[:40]
            signature = {
                "signer": f"https://github.com/example-org/{name}/.github/workflows/"
                f"release.yml@refs/tags/{version}",
                "issuer": ISSUER,
                "repository": f"example-org/{name}",
                "repository_id": str(1000 + index),
                "workflow": f"example-org/{name}/.github/workflows/release.yml",
                "ref": f"refs/tags/{version}",
                "source_commit": commit,
                "rekor_log_index": 100_000 * index + minor,
                "integrated_time": "2026-01-05T12:00:00Z",
            }
            evidence = {
                "assets": {
                    f: {"sha256": _digest(name, version, f), "size": 1 << 20,
                        "checksum_source": f"checksums.txt line {n + 1}"}
                    for n, f in enumerate(files)
                },
                "signatures": dict.fromkeys(files, signature),
                "source_commit": commit,
                "source_branch": "main",
            }  # fmt: skip
            reasons = (
                [{"code": "signature-invalid", "expected": "a valid signature", "found": "bad"}]
                if status == "rejected"
                else []
            )
            rows.append(
                {
                    "tool": name,
                    "version": version,
                    "status": status,
                    "first_seen_at": FIRST_SEEN + timedelta(days=minor),
                    "verified_at": FIRST_SEEN + timedelta(days=minor, minutes=5)
                    if status == "verified"
                    else None,
                    "commit": commit,
                    "reasons_json": json.dumps(reasons),
                    "evidence_json": orjson.dumps(evidence).decode(),
                }
            )
            if status == "verified":
                assets.append((name, version, files))
    return rows, assets


def _advisories(directory: Path, tools: int) -> Path:
    """One OSV record per 10th tool: versions below 1.5.0 affected."""
    osv = directory / "osv"
    osv.mkdir(exist_ok=True)
    for index in range(0, tools, 10):
        record = {
            "schema_version": "1.6.0",
            "id": f"GO-2026-{index:04d}",
            "aliases": [f"CVE-2026-{10000 + index}"],
            "modified": "2026-02-01T00:00:00Z",
            "published": "2026-02-01T00:00:00Z",
            "summary": f"Credential leak in tool-{index:04d}",
            "database_specific": {"severity": "HIGH" if index % 20 else "LOW"},
            "affected": [
                {
                    "package": {"ecosystem": "Go", "name": f"example.org/tool-{index:04d}"},
                    "ranges": [
                        {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.5.0"}]}
                    ],
                }
            ],
        }
        (osv / f"GO-2026-{index:04d}.json").write_text(json.dumps(record))
    return osv


def _fetches(engine: Engine, tools: int, now: datetime) -> None:
    buffer = AuditBuffer(engine, 1_000_000)
    for index in range(0, tools, 10):
        for n in range(20):
            buffer.append(
                AuditRecord(
                    at=now - timedelta(hours=n + 1),
                    token_name="ci",
                    runner=f"runner-{n % 5}",
                    job=f"https://ci.example.org/jobs/{index}-{n}",
                    tool=f"tool-{index:04d}",
                    version=f"1.{n % 3}.0",
                    sha256=None,
                    asset=None,
                    decision="allow",
                    would_deny=False,
                    reasons_json="[]",
                    revision=1,
                )
            )
    asyncio.run(buffer.flush())


def populate(engine: Engine, directory: Path, tools: int = 1000, versions: int = 20) -> Config:
    """Write `directory/config.toml` for `engine`'s store and fill the store (see the module
    docstring); returns the loaded configuration."""
    path = Path(directory) / "config.toml"
    path.write_text(_config_text(engine, tools), encoding="utf-8")
    config = load_config(path)
    upgrade(engine)
    sync_tools(engine, config)
    releases, verified = _releases(tools, versions)
    with engine.begin() as connection:
        connection.execute(insert(ReleaseRow), releases)
        ids = {
            (tool, version): release_id
            for release_id, tool, version in connection.execute(
                select(ReleaseRow.id, ReleaseRow.tool, ReleaseRow.version)
            )
        }
        assets, pins = [], []
        for tool, version, files in verified:
            for name in files:
                digest = _digest(tool, version, name)
                first = FIRST_SEEN + timedelta(days=int(version.split(".")[1]))
                assets.append(
                    {"release_id": ids[(tool, version)], "name": name, "sha256": digest,
                     "size": 1 << 20, "first_seen_at": first}
                )  # fmt: skip
                pins.append(
                    {"tool": tool, "version": version, "name": name, "size": 1 << 20,
                     "digest": f"sha256:{digest}", "first_seen_at": first}
                )  # fmt: skip
        connection.execute(insert(AssetRow), assets)
        connection.execute(insert(AssetPinRow), pins)
    for index in range(0, tools, 25):
        add_override(
            engine, kind="block", tool=f"tool-{index:04d}", actor="bench", reason="bench block",
            version=f"1.{index % versions}.0",
        )  # fmt: skip
    for index in range(0, tools, 40):
        add_override(
            engine, kind="approve", tool=f"tool-{index:04d}", actor="bench",
            reason="bench approval", version="2.0.0", sha256=_digest(index, "2.0.0"),
        )  # fmt: skip
    import_paths(engine, [_advisories(Path(directory), tools)])
    if tools:
        add_override(
            engine, kind="waive", tool="tool-0010", actor="bench", reason="not reachable",
            advisory="GO-2026-0010",
        )  # fmt: skip
    _fetches(engine, tools, datetime.now(UTC))
    return config


def _median_ms(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _snapshot(engine: Engine, config: Config, now: datetime) -> Snapshot:
    with paused_gc():
        return report_snapshot(engine, config, now)


def _collect(engine: Engine, snapshot: Snapshot) -> Inventory:
    with paused_gc():
        return collect_inventory(engine, snapshot)


def _write(fmt: str, inventory: Inventory) -> bytes:
    """Shape the inventory report from collected data and write it (as `render` does)."""
    with paused_gc():
        return WRITERS[fmt].render(inventory_report(inventory))


def _baseline(engine: Engine, config: Config) -> bytes:
    """What `toolgate tools --json` does: snapshot, each version's decision, JSON."""
    snapshot = build_snapshot(engine, config)
    return orjson.dumps([tool_view(snapshot, name, detail=True) for name in sorted(snapshot.tools)])


def _process_times(runs: int, argv: list[str]) -> tuple[float, float]:
    """Median wall-clock and CPU (user + system) seconds of `runs` runs of a process."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}):\n{done.stderr}")
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def _verdict(ms: float) -> str:
    return "ok" if ms <= TARGET_MS else "OVER"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--toolgate",
        default=str(Path(sys.executable).parent / "toolgate"),
        help="the toolgate command the CLI call times (default: this venv's)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(args.store or f"sqlite:///{Path(tmp) / 'toolgate.db'}")
        started = time.perf_counter()
        config = populate(engine, Path(tmp), args.tools, args.versions)
        filled = time.perf_counter() - started
        now = datetime.now(UTC)
        render("inventory", "json", engine, config, now)  # warm caches and imports
        base = _median_ms(args.runs, lambda: _baseline(engine, config))
        build_ms = _median_ms(args.runs, lambda: build_snapshot(engine, config))
        snapshot_ms = _median_ms(args.runs, lambda: _snapshot(engine, config, now))
        snapshot = report_snapshot(engine, config, now)
        collect_ms = _median_ms(args.runs, lambda: _collect(engine, snapshot))
        inventory = collect_inventory(engine, snapshot)
        figures = {
            fmt: (
                _median_ms(args.runs, lambda f=fmt: _write(f, inventory)),
                _median_ms(args.runs, lambda f=fmt: render("inventory", f, engine, config, now)),
                _write(fmt, inventory),
            )
            for fmt in FORMATS
        }
        engine.dispose()
        report_argv = [args.toolgate, "report", "inventory", "--format", "json"]
        report_argv += ["-o", f"{tmp}/inventory.json", "--config", str(config.source_path)]
        cli = _process_times(args.runs, report_argv)
        floor = _process_times(args.runs, [sys.executable, "-c", "import typer"])
    # jsonschema's IRI check parses each URL with an Earley parser: validating all 20,000
    # components takes many minutes, so the BOM of the first 15 tools stands in for it
    sample = _write("cyclonedx", replace(inventory, tools=inventory.tools[:15]))
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(sample.decode())
    print(
        f"store: {engine.url.get_backend_name()}, {args.tools} tools x {args.versions} versions "
        f"(filled in {filled:.1f}s), median of {args.runs} runs"
    )
    print(f"baseline `toolgate tools --json` work:   {base:7.1f} ms")
    print(f"build_snapshot (daemon rebuild):         {build_ms:7.1f} ms")
    print(f"report snapshot for `now` (+ advisories): {snapshot_ms:6.1f} ms")
    print(f"evidence and decisions (collect):        {collect_ms:7.1f} ms")
    print("inventory report per format: shape + write from collected data | end to end render()")
    for fmt, (ms, total, body) in figures.items():
        print(
            f"  {fmt:<10} {ms:7.1f} ms {_verdict(ms):<6}| {total:7.1f} ms {_verdict(total):<6}"
            f"({total / base:.2f}x baseline)  {len(body) / 1e6:6.2f} MB"
        )
    print(f"CycloneDX of the first 15 tools valid against the 1.6 schema: {errors is None}")
    print(
        f"CLI `toolgate report inventory --format json -o FILE`: {cli[0]:.2f} s wall "
        f"(target <= {CLI_TARGET_S} s: {'ok' if cli[0] <= CLI_TARGET_S else 'OVER'}), "
        f"CPU {cli[1]:.2f} s; `python -c 'import typer'`: {floor[0]:.2f} s wall, "
        f"CPU {floor[1]:.2f} s"
    )
    return 0 if errors is None and all(f[0] <= TARGET_MS for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
