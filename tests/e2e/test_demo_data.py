"""The demo's shipped advisory records agree with the tests' copy and with each other."""

from __future__ import annotations

import json
from pathlib import Path

from advisories.ghsa import parse_advisory
from advisories.osv import parse_record
from verifier.demo.scenario import ADVISORY
from verifier.demo.world import advisory_record

TESTS_COPY = Path(__file__).resolve().parents[1] / "data" / "osv-trivy-2026" / f"{ADVISORY}.json"


def test_the_osv_record_is_the_one_the_other_tests_use():
    assert advisory_record(ADVISORY, "osv") == json.loads(TESTS_COPY.read_text())


def test_the_github_rest_record_says_what_the_osv_record_says():
    rest = parse_advisory(advisory_record(ADVISORY, "rest"), source="ghsa").advisory
    osv = parse_record(advisory_record(ADVISORY, "osv"), source="osv")
    assert (rest.id, set(rest.aliases)) == (osv.id, set(osv.aliases))
    packages = {(a.ecosystem, a.package) for a in osv.affected}
    assert {(a.ecosystem, a.package) for a in rest.affected} == packages
    assert len(packages) == 3 and "CVE-2026-33634" in rest.aliases
