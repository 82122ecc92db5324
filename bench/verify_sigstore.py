"""Benchmark: toolgate's Sigstore verification vs a bare `sigstore` call on the same bundle.

Both sides parse the bundle JSON, verify offline with the same embedded production trust
root and check the same signer; toolgate also hashes the artifact, classifies and collects
evidence. Runs are interleaved so machine noise hits both alike. Target: p50 overhead <= 20 %.
Run: .venv/bin/python bench/verify_sigstore.py [--runs 300]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sigstore.models import Bundle
from sigstore.verify import policy

from verifier.verify import (
    AcceptedIdentity,
    IdentityPolicy,
    Instance,
    Verified,
    instance_verifier,
    verify_signature,
)

OVERHEAD_TARGET = 0.20
CASE = Path(__file__).resolve().parents[1] / "tests/fixtures/sigstore/spy-prod-github-actions-wheel"
ARTIFACT = CASE / "bundle_v3_github.whl"
BUNDLE = CASE / "bundle_v3_github.whl.sigstore"
SAN = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
ISSUER = "https://token.actions.githubusercontent.com"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    runs = parser.add_argument("--runs", type=int, default=300) and parser.parse_args().runs
    data, raw = ARTIFACT.read_bytes(), BUNDLE.read_bytes()
    verifier = instance_verifier(Instance.PRODUCTION)
    ours_policy = IdentityPolicy((AcceptedIdentity(ISSUER, san=SAN),))
    bare_policy = policy.Identity(identity=SAN, issuer=ISSUER)

    def bare() -> None:
        verifier.verify_artifact(data, Bundle.from_json(raw), bare_policy)

    def ours() -> None:
        result = verify_signature(hashlib.sha256(data).hexdigest(), raw, ours_policy, verifier)
        assert isinstance(result, Verified), result

    timings: dict[str, list[float]] = {"bare": [], "toolgate": []}
    for _ in range(10):  # warm-up
        bare()
        ours()
    for _ in range(runs):
        for name, call in (("bare", bare), ("toolgate", ours)):
            timings[name].append(_time(call))
    p50 = {name: statistics.median(t) for name, t in timings.items()}
    overhead = p50["toolgate"] / p50["bare"] - 1
    print(f"bundle: {BUNDLE.name} ({runs} interleaved runs, offline production trust root)")
    for name, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:9} p50 {p50[name] * 1e3:6.2f} ms   p90 {p90 * 1e3:6.2f} ms")
    print(f"overhead p50: {overhead:+.1%} (target <= {OVERHEAD_TARGET:.0%})")
    if overhead > OVERHEAD_TARGET:
        print("MISSED: overhead")
        return 1
    print("target met")
    return 0


def _time(call: Callable[[], None]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
