"""The demo's pacing: the scenario's simulated gaps at the chosen speed, quiet days shortened."""

from __future__ import annotations

import itertools

from verifier.demo.replay import MAX_PAUSE, pauses
from verifier.demo.scenario import TRIVY_2026


def test_pauses_follow_the_timeline_and_shorten_quiet_stretches():
    steps = TRIVY_2026.steps
    fast = pauses(TRIVY_2026, 36_000)
    assert len(fast) == len(steps) and fast[0] == 0.0
    gaps = [(b.at - a.at).total_seconds() / 36_000 for a, b in itertools.pairwise(steps)]
    assert fast[1:] == [min(gap, MAX_PAUSE) for gap in gaps]
    assert max(gaps) > MAX_PAUSE  # the days between take-down and Docker Hub images
    assert sum(pauses(TRIVY_2026, 10**9)) < 0.01
