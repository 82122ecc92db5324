"""Benchmark: `toolgate demo`'s replay end to end (issue 10). Target: well under 2 minutes.

Runs the demo's replay (fake GitHub, feeds, mail sink, `toolgate serve` as a child process) at
the default speed and prints the wall time, its parts (daemon start, the paced timeline, the
daemon's reactions) and, per malicious event, the time to the first denial and until the
verdict named the cause. Baseline, measured in the same run: the pacing alone, i.e. the
simulated timeline divided by the speed, which no replay can beat.
Run: .venv/bin/python bench/demo_replay.py [--speed 36000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from verifier.cli.demo_cmd import DEFAULT_SPEED
from verifier.demo.replay import run_demo
from verifier.demo.scenario import TRIVY_2026

TARGET_SECONDS = 120.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED)
    args = parser.parse_args()
    steps = TRIVY_2026.steps
    pacing = (steps[-1].at - steps[0].at).total_seconds() / args.speed
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as directory:
        started = time.perf_counter()
        result = run_demo(Path(directory), speed=args.speed)
        elapsed = time.perf_counter() - started
    first_step = result.entries[0].played_at
    timeline = (result.entries[-1].played_at - first_step).total_seconds()
    print(f"speed {args.speed:g}x, {len(steps)} steps, {len(result.malicious)} malicious events")
    print(f"wall time: {elapsed:.1f} s (target < {TARGET_SECONDS:.0f} s)")
    print(f"  timeline from first to last step: {timeline:.1f} s; setup, start, settle and "
          f"reports: {elapsed - timeline:.1f} s")  # fmt: skip
    for entry in result.malicious:
        denied = "-" if entry.denied_after is None else f"{entry.denied_after:.2f} s"
        detected = "-" if entry.detected_after is None else f"{entry.detected_after:.2f} s"
        print(f"  {entry.step.label:<28} denied after {denied:>8}   detected after {detected:>8}")
    print(f"baseline (pacing alone: simulated span / speed): {pacing:.1f} s; "
          f"timeline / baseline: {timeline / pacing:.2f}x")  # fmt: skip
    ok = result.ok and elapsed < TARGET_SECONDS
    print("PASS" if ok else f"FAIL {result.problems}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
