"""Ingest benchmark: OSV records into SQLite versus plain ``json.loads`` of the same files.

Builds a corpus of >= 100,000 OSV JSON files from the shapes of the shared fixtures (GitHub,
Go and PyPA records, renamed and re-numbered), then times, in the same run:

- baseline: read every file and ``json.loads`` it;
- ingest: ``advisories.import_paths`` into a fresh SQLite database (WAL), i.e. read, validate,
  normalise, hash and store records, aliases and package rows.

The two alternate over chunks of 10,000 files so both see the same load from other processes;
wall-clock figures decide, CPU time of this process and the load average are printed beside them.
A second import of the whole corpus must then report every record unchanged (timed, no target).
Targets: >= 10,000 records/s and ingest <= 5x the baseline. Exits 1 when one is missed.

With ``--cli`` (issue 17) it times what a user runs instead, end to end: the process
``toolgate advisories import CORPUS`` (start-up, reading, storing, matching the inventory) into
a fresh, migrated SQLite store, against a ``python -c`` process that reads and ``json.loads``
the same files; ``--rounds`` alternations (default 5), the median of the per-round ratios and
of the rates count. Same targets.
Usage: .venv/bin/python bench/advisories_ingest.py [--records N]
       [--cli [--rounds R] [--toolgate PATH]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
import yaml

from advisories import ImportReport, create_tables, import_paths

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "osv"
TARGET_RATE = 10_000
TARGET_RATIO = 5.0
CHUNK_FOLDERS = 10  # 10,000 files per alternation


def fixture_records() -> list[dict[str, Any]]:
    records = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix == ".json":
            records.append(json.loads(path.read_text()))
        elif path.suffix == ".yaml":
            records.append(yaml.safe_load(path.read_text()))
    return records


def build_corpus(directory: Path, count: int) -> list[Path]:
    """Write ``count`` records, 1,000 per directory, as the advisory repositories do."""
    shapes = [orjson.dumps(r, default=str) for r in fixture_records()]
    paths = []
    for n in range(count):
        record = orjson.loads(shapes[n % len(shapes)])
        record["id"] = f"{record['id']}-{n}"
        record["aliases"] = [f"{a}-{n}" for a in record.get("aliases", [])]
        for affected in record.get("affected", []):
            affected["package"]["name"] += f"-{n % 20_000}"
        folder = directory / f"{n // 1000:04d}"
        if n % 1000 == 0:
            folder.mkdir()
        path = folder / f"{record['id']}.json"
        path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        paths.append(path)
    return paths


#: The baseline process of ``--cli``: read and decode every file under argv[1], in name order.
JSON_LOADS_SCRIPT = """
import json, os, sys
for folder, subfolders, files in os.walk(sys.argv[1]):
    subfolders.sort()
    for name in sorted(files):
        with open(os.path.join(folder, name), "rb") as handle:
            json.loads(handle.read())
"""


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one process run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}):\n{done.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def cli_rounds(corpus: Path, records: int, tmp: Path, rounds: int, toolgate: str) -> int:
    """``toolgate advisories import`` end to end against a json.loads process, alternated."""
    from verifier.store.engine import create_store_engine
    from verifier.store.migrate import upgrade

    store = tmp / "state" / "toolgate.db"
    config = tmp / "config.toml"
    config.write_text(
        f'state_dir = "state"\n[store]\nurl = "sqlite:///{store}"\n[github]\npoll_interval = "0s"\n'
    )
    engine = create_store_engine(f"sqlite:///{store}")
    upgrade(engine)  # a user imports into an existing store: the migrations are not timed
    engine.dispose()
    template = tmp / "migrated.db"
    shutil.copyfile(store, template)
    baseline_argv = [sys.executable, "-c", JSON_LOADS_SCRIPT, str(corpus)]
    cli_argv = [toolgate, "advisories", "import", str(corpus), "--config", str(config)]
    ratios, rates, cpu_ratios = [], [], []
    for n in range(rounds):
        for suffix in ("-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, store)
        baseline, baseline_cpu = _timed(baseline_argv)
        cli, cli_cpu = _timed(cli_argv)
        ratios.append(cli / baseline)
        rates.append(records / cli)
        cpu_ratios.append(cli_cpu / baseline_cpu)
        print(f"round {n + 1}: json.loads process {baseline:.2f} s (CPU {baseline_cpu:.2f} s), "
              f"toolgate advisories import {cli:.2f} s (CPU {cli_cpu:.2f} s): "
              f"{records / cli:,.0f} records/s, {cli / baseline:.2f}x")  # fmt: skip
    ratio, rate = statistics.median(ratios), statistics.median(rates)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"median of {rounds}: {rate:,.0f} records/s (target >= {TARGET_RATE:,}), "
          f"{ratio:.2f}x the json.loads process (target <= {TARGET_RATIO}x); "
          f"CPU {statistics.median(cpu_ratios):.2f}x")  # fmt: skip
    return 0 if rate >= TARGET_RATE and ratio <= TARGET_RATIO else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, help="corpus size (default 100,000; --cli 50,000)")
    parser.add_argument("--cli", action="store_true", help="time the CLI process end to end")
    parser.add_argument("--rounds", type=int, default=5, help="--cli alternations (default 5)")
    parser.add_argument(
        "--toolgate",
        default=str(Path(sys.executable).parent / "toolgate"),
        help="--cli: the toolgate command to time (default: this venv's)",
    )
    args = parser.parse_args()
    args.records = args.records or (50_000 if args.cli else 100_000)
    # The corpus (the input of both measurements) goes to RAM when there is a tmpfs, to keep
    # writing 100,000 files out of the benchmark's time; the database stays on disk.
    ram = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with (
        tempfile.TemporaryDirectory(prefix="advisories-bench-", dir=ram) as inputs,
        tempfile.TemporaryDirectory(prefix="advisories-bench-") as tmp,
    ):
        corpus = Path(inputs) / "corpus"
        corpus.mkdir()
        started = time.perf_counter()
        paths = build_corpus(corpus, args.records)
        size = sum(p.stat().st_size for p in paths)
        print(f"corpus: {len(paths)} files, {size / 1e6:.1f} MB, built in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        if args.cli:
            return cli_rounds(corpus, args.records, Path(tmp), args.rounds, args.toolgate)

        engine = sa.create_engine(f"sqlite:///{tmp}/advisories.db")
        create_tables(engine)
        # Baseline and ingest alternate over chunks of the corpus, so both see the same load
        # from whatever else runs on the machine; each ingest chunk is a full import_paths().
        baseline = ingest = baseline_cpu = ingest_cpu = 0.0
        report = ImportReport()
        folders = sorted(corpus.iterdir())
        for start in range(0, len(folders), CHUNK_FOLDERS):
            chunk = folders[start : start + CHUNK_FOLDERS]
            started, started_cpu = time.perf_counter(), time.process_time()
            for folder in chunk:
                for path in sorted(folder.iterdir()):
                    json.loads(path.read_bytes())
            baseline += time.perf_counter() - started
            baseline_cpu += time.process_time() - started_cpu
            started, started_cpu = time.perf_counter(), time.process_time()
            report += import_paths(engine, chunk, source="bench")
            ingest += time.perf_counter() - started
            ingest_cpu += time.process_time() - started_cpu
        # Idempotency at full size: a second import of everything must change nothing.
        started, started_cpu = time.perf_counter(), time.process_time()
        again = import_paths(engine, folders, source="bench")
        reingest, reingest_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        engine.dispose()

    if report.skipped or report.new != args.records:
        print(f"FAIL: {report.new} new, {len(report.skipped)} skipped: {report.skipped[:3]}")
        return 1
    if again.unchanged != args.records or again.total != args.records:
        print(f"FAIL: re-import was not a no-op: {again.new} new, {again.updated} updated")
        return 1
    rate = args.records / ingest
    ratio = ingest / baseline
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"baseline json.loads: {baseline:.2f} s ({args.records / baseline:,.0f} records/s), "
          f"CPU {baseline_cpu:.2f} s")  # fmt: skip
    print(f"ingest into SQLite:  {ingest:.2f} s ({rate:,.0f} records/s), "
          f"CPU {ingest_cpu:.2f} s ({args.records / ingest_cpu:,.0f} records/CPU-s)")  # fmt: skip
    print(f"re-import, unchanged: {reingest:.2f} s ({args.records / reingest:,.0f} records/s), "
          f"CPU {reingest_cpu:.2f} s (not a target)")  # fmt: skip
    print(f"ratio ingest/baseline: {ratio:.2f}x (target <= {TARGET_RATIO}x)")
    print(f"rate target: >= {TARGET_RATE:,} records/s")
    missed = [
        name
        for name, ok in (("rate", rate >= TARGET_RATE), ("ratio", ratio <= TARGET_RATIO))
        if not ok
    ]
    if missed:
        print(f"FAIL: missed {', '.join(missed)}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
