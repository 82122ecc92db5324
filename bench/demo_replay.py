"""Benchmark: `toolgate demo` end to end (issues 10 and 17). Target: at most 15 s wall.

1. Runs `toolgate demo` as a user does (a fresh process: imports, the fake upstream, feeds and
   mail sink, `toolgate serve` as a child process, the paced timeline, the reports) `--runs`
   times and prints each wall time and their median, against the target.
2. Runs the replay once in this process and prints its parts: the paced timeline, and setup,
   daemon start, settling and reports; per malicious event, the time to the first denial and
   until the verdict named the cause. Baseline, measured in the same run: the pacing alone (the
   simulated gaps divided by the speed, each at most `MAX_PAUSE`), which no replay can beat.
Run: .venv/bin/python bench/demo_replay.py [--runs 5] [--speed 36000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from verifier.cli.demo_cmd import DEFAULT_SPEED
from verifier.demo.replay import MAX_PAUSE, pauses, run_demo
from verifier.demo.scenario import TRIVY_2026

TARGET_SECONDS = 15.0


def cli_runs(runs: int, speed: float) -> list[float]:
    """Wall seconds of `toolgate demo --speed SPEED`, each in a fresh process."""
    toolgate = Path(sys.executable).parent / "toolgate"
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [str(toolgate), "demo", "--speed", f"{speed:g}"], capture_output=True, check=False
        )
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"toolgate demo exited {done.returncode}:\n{done.stdout.decode()}")
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED)
    args = parser.parse_args()
    walls = cli_runs(args.runs, args.speed)
    median = statistics.median(walls)
    print(f"toolgate demo, {args.runs} runs: " + ", ".join(f"{w:.1f}" for w in walls) + " s")
    print(f"median wall: {median:.1f} s (target <= {TARGET_SECONDS:.0f} s), load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip

    steps = TRIVY_2026.steps
    pacing = sum(pauses(TRIVY_2026, args.speed))
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as directory:
        started = time.perf_counter()
        result = run_demo(Path(directory), speed=args.speed)
        elapsed = time.perf_counter() - started
    first_step = result.entries[0].played_at
    timeline = (result.entries[-1].played_at - first_step).total_seconds()
    print(f"in process: speed {args.speed:g}x, {len(steps)} steps, "
          f"{len(result.malicious)} malicious events, {elapsed:.1f} s")  # fmt: skip
    print(f"  timeline from first to last step: {timeline:.1f} s; setup, start, settle and "
          f"reports: {elapsed - timeline:.1f} s")  # fmt: skip
    for entry in result.malicious:
        denied = "-" if entry.denied_after is None else f"{entry.denied_after:.2f} s"
        detected = "-" if entry.detected_after is None else f"{entry.detected_after:.2f} s"
        print(f"  {entry.step.label:<28} denied after {denied:>8}   detected after {detected:>8}")
    print(f"baseline (pacing alone: simulated gaps / speed, each at most {MAX_PAUSE:g} s): "
          f"{pacing:.1f} s; timeline / baseline: {timeline / pacing:.2f}x")  # fmt: skip
    ok = result.ok and median <= TARGET_SECONDS
    print("PASS" if ok else f"FAIL {result.problems or 'median over the target'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
