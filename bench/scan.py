"""Benchmark: `toolgate scan` over a generated monorepo of realistic workflows.

Copies the test corpus's pipeline files N times into a temporary tree and times the whole scan
(walk, parse with positions, extract, assess against an inventory and policy snapshot, offline)
against the baseline of only parsing the same files with PyYAML's C loader (`yaml.load` with
CSafeLoader), measured in the same run. Target: a 1,000-file tree scanned in under 10 s.
Run: .venv/bin/python bench/scan.py [--copies 100]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import Engine

from verifier.config import load_config
from verifier.inventory import sync_tools
from verifier.scan.assess import Assessor
from verifier.scan.github_checks import GitHubChecks
from verifier.scan.pins import load_pins
from verifier.scan.scan import scan
from verifier.scan.walk import walk
from verifier.snapshot import build_snapshot
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "scan" / "corpus"
CASES = ("go-release", "trivy-scan", "composite", "gitlab")
TARGET_SECONDS = 10.0
CONFIG = """\
state_dir = "state"
[store]
url = "sqlite:///{db}"
[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
versions = [">=0.60,<0.69.4"]
[[tool]]
name = "actions/checkout"
source = "github:actions/checkout"
kind = "action"
"""


def build_tree(root: Path, copies: int) -> None:
    for index in range(copies):
        for case in CASES:
            shutil.copytree(CORPUS / case, root / f"service-{index:04d}" / case)


def store(home: Path) -> tuple[Engine, object]:
    path = home / "config.toml"
    path.write_text(CONFIG.format(db=home / "toolgate.db"))
    config = load_config(path)
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    sync_tools(engine, config)
    return engine, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as raw:
        home = Path(raw)
        tree = home / "tree"
        build_tree(tree, args.copies)
        engine, config = store(home)
        files = list(walk(tree))
        size = sum(len(c.text or "") for c in files)

        started = time.perf_counter()
        for candidate in files:
            if candidate.text is not None:
                yaml.load(candidate.text, Loader=yaml.CSafeLoader)
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        snapshot = build_snapshot(engine, config)  # type: ignore[arg-type]
        checks = GitHubChecks(None, None, unavailable="offline (benchmark)")
        assessor = Assessor(config, snapshot, load_pins(engine), checks)  # type: ignore[arg-type]
        result, _texts = scan([tree], assessor.assess)
        elapsed = time.perf_counter() - started
        engine.dispose()

    print(f"tree: {len(files)} pipeline files, {size / 1e6:.2f} MB")
    print(
        f"scan: {elapsed:.2f} s, {len(files) / elapsed:.0f} files/s, "
        f"{len(result.references) / elapsed:.0f} references/s, "
        f"{len(result.references)} references, {len(result.findings)} findings"
    )
    print(f"baseline (CSafeLoader parse only): {baseline:.2f} s")
    print(f"ratio scan / baseline: {elapsed / baseline:.1f}x")
    per_thousand = elapsed / len(files) * 1000
    verdict = "ok" if per_thousand <= TARGET_SECONDS else "MISSED"
    print(f"1,000 files would take {per_thousand:.1f} s (target {TARGET_SECONDS:.0f} s): {verdict}")


if __name__ == "__main__":
    main()
