"""CISA KEV catalogue parsing and severity raising through alias groups."""

from __future__ import annotations

import json
from datetime import date

import pytest

from advisories import AdvisoryIndex, ParseError
from advisories.kev import mark_known_exploited, parse_kev

from .conftest import FEED_FIXTURES
from .test_match import GHSA_RECORD, GO_RECORD, TRIVY, record

KEV_SLICE = FEED_FIXTURES / "cisa-kev" / "known_exploited_vulnerabilities.slice.json"


def test_catalogue_slice() -> None:
    raw = KEV_SLICE.read_bytes()
    catalog = parse_kev(raw, origin=str(KEV_SLICE))
    assert catalog.version == "2025.08.25" and catalog.skipped == ()
    assert len(catalog.entries) == json.loads(raw)["count"] == 28
    by_cve = {e.cve_id: e for e in catalog.entries}
    tj = by_cve["CVE-2025-30066"]
    assert (tj.vendor_project, tj.product) == ("tj-actions", "changed-files GitHub Action")
    assert tj.cwes == ("CWE-506",)
    assert tj.date_added == date(2025, 3, 18)
    assert "CVE-2025-30154" in catalog.cve_ids
    assert any(e.ransomware == "Known" for e in catalog.entries)
    assert any(e.cwes == () for e in catalog.entries)
    assert {r["cve_id"] for r in catalog.rows()} == catalog.cve_ids


def test_bad_entries_are_skipped_and_bad_documents_raise() -> None:
    doc = {
        "catalogVersion": "x",
        "vulnerabilities": [
            {"cveID": "CVE-2025-1", "dateAdded": "2025-01-01"},
            {"cveID": "CVE-2025-2", "dateAdded": "yesterday"},
            {"vendorProject": "no id"},
        ],
    }
    catalog = parse_kev(json.dumps(doc).encode(), origin="kev.json")
    assert [e.cve_id for e in catalog.entries] == ["CVE-2025-1"]
    assert [(s.origin, s.record_id) for s in catalog.skipped] == [
        ("kev.json", "CVE-2025-2"),
        ("kev.json", None),
    ]
    for raw in (b"{", b"[]", b'{"vulnerabilities": 3}'):
        with pytest.raises(ParseError, match=r"^kev\.json: "):
            parse_kev(raw, origin="kev.json")


def test_kev_raises_the_whole_alias_group() -> None:
    other = record("GHSA-zzzz", "npm", "left-pad", {"introduced": "0"})
    marked = mark_known_exploited([GO_RECORD, GHSA_RECORD, other], {"CVE-2026-33634"})
    assert [a.known_exploited for a in marked] == [True, True, False]
    # GO-2026-4919 carries no severity label of its own; KEV makes it CRITICAL.
    assert GO_RECORD.effective_severity is None and marked[0].effective_severity == "CRITICAL"
    (match,) = AdvisoryIndex(marked).match("Go", TRIVY, "v0.69.6")
    assert match.known_exploited and match.severity == "CRITICAL"
