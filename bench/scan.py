"""Benchmark: `toolgate scan` over a generated monorepo of realistic workflows.

Copies the test corpus's pipeline files N times into a temporary tree (7 files a copy: GitHub
workflows, composite actions, GitLab CI) and

1. in this process, times the whole scan (walk, parse with positions, extract, assess against
   an inventory and policy snapshot, offline) against the baseline of only parsing the same
   files with PyYAML's C loader (`yaml.load` with CSafeLoader), measured in the same run.
   Target: a 1,000-file tree scanned in under 10 s.
2. as a user runs it, `toolgate scan --offline --format json` (a fresh process, on a store the
   inventory was synced into) against zizmor (`pip install zizmor`, not a toolgate dependency)
   with `--offline` on the same tree, interleaved `--rounds` times; prints the median of the
   per-round wall-time ratios. Target: 1.5x. Skipped, saying so, when zizmor is not installed.
Run: .venv/bin/python bench/scan.py [--copies 44] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
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
ZIZMOR_RATIO_TARGET = 1.5
BIN = Path(sys.executable).parent
ZIZMOR_OK = {0, 10, 11, 12, 13, 14}  # no findings, or findings of the highest severity 10-14
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
    parser.add_argument("--copies", type=int, default=44)
    parser.add_argument("--rounds", type=int, default=5)
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
        versus_zizmor = compare_with_zizmor(tree, home / "config.toml", args.rounds)

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
    if versus_zizmor is None:
        print(f"CLI against zizmor: skipped, {BIN / 'zizmor'} not found (pip install zizmor)")
        return
    ours, theirs, ratio = versus_zizmor
    verdict = "ok" if ratio <= ZIZMOR_RATIO_TARGET else "MISSED"
    print(
        f"CLI, median of {args.rounds} interleaved rounds: toolgate scan --offline {ours:.2f} s, "
        f"zizmor --offline {theirs:.2f} s, ratio {ratio:.2f} "
        f"(target {ZIZMOR_RATIO_TARGET}): {verdict}"
    )


def _wall(command: list[str], ok: set[int]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{command[0]} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def compare_with_zizmor(tree: Path, config: Path, rounds: int) -> tuple[float, float, float] | None:
    """Median walls of both CLIs on `tree` and the median per-round ratio (None: no zizmor)."""
    zizmor = BIN / "zizmor"
    if not zizmor.exists():
        return None
    ours_command = [str(BIN / "toolgate"), "scan", "--offline", "-f", "json", "-c", str(config)]
    theirs_command = [str(zizmor), "--offline", "--no-progress", str(tree)]
    ours_command.append(str(tree))
    _wall(ours_command, {0, 1, 3}), _wall(theirs_command, ZIZMOR_OK)  # warm caches
    pairs = [
        (_wall(ours_command, {0, 1, 3}), _wall(theirs_command, ZIZMOR_OK)) for _ in range(rounds)
    ]
    ours, theirs = (statistics.median(side) for side in zip(*pairs, strict=True))
    return ours, theirs, statistics.median(a / b for a, b in pairs)


if __name__ == "__main__":
    main()
