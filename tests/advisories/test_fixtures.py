"""Every shared OSV fixture ingests, and matching is right inside, at and outside each range."""

from __future__ import annotations

import pytest

from advisories import Advisory, AdvisoryIndex
from advisories.ecosystems import normalise_package

# Affected entries per record, as counted in the fixture files.
AFFECTED_COUNTS = {
    "GHSA-23qq-p4gq-gc2g": 1, "GHSA-2g68-c3qc-8985": 1, "GHSA-3965-hpx2-q597": 2,
    "GHSA-3hjh-jh2h-vrg6": 1, "GHSA-4h8f-2wvx-gg5w": 5, "GHSA-665w-mwrr-77q3": 1,
    "GHSA-6q4m-7476-932w": 1, "GHSA-7jp9-vgmq-c8r5": 1, "GHSA-c2qf-rxjj-qqgw": 3,
    "GHSA-jfh8-c2jp-5v3q": 3, "GHSA-w596-4wvx-j9j6": 1,
    "GO-2022-0326": 1, "GO-2022-0617": 1, "GO-2023-2181": 2, "GO-2023-2185": 2,
    "GO-2024-2482": 1, "GO-2024-2730": 1, "GO-2024-2842": 1, "GO-2024-2860": 1,
    "GO-2024-2870": 1, "GO-2025-4160": 1, "GO-2025-4192": 2, "GO-2026-4309": 3,
    "GO-2026-4354": 1, "GO-2026-6225": 1,
    "PYSEC-2019-172": 1, "PYSEC-2020-221": 1, "PYSEC-2021-335": 1, "PYSEC-2021-66": 1,
    "PYSEC-2021-852": 1, "PYSEC-2022-42969": 1, "PYSEC-2022-43059": 1, "PYSEC-2023-1": 1,
    "PYSEC-2023-174": 1, "PYSEC-2023-212": 1, "PYSEC-2023-246": 1, "PYSEC-2023-74": 1,
    "PYSEC-2024-5": 1,
}  # fmt: skip

# (ecosystem, package as a user writes it, version, record ids that must match — () for none).
# Each range is probed inside, at introduced, at fixed / last_affected, and outside.
EDGES = [
    # GHSA-23qq: "fixed": ">= 3.21.0" is read as fixed 3.21.0
    ("PyPI", "WordOps", "3.20.0", ("GHSA-23qq-p4gq-gc2g",)),
    ("PyPI", "wordops", "3.21.0", ()),
    ("PyPI", "Werkzeug", "0.1", ("GHSA-2g68-c3qc-8985",)),
    ("PyPI", "werkzeug", "3.0.2", ("GHSA-2g68-c3qc-8985",)),
    ("PyPI", "werkzeug", "3.0.3", ()),
    ("npm", "pug-code-gen", "2.0.3", ("GHSA-3965-hpx2-q597",)),  # last_affected, inclusive
    ("npm", "pug-code-gen", "2.0.4", ()),
    ("npm", "pug", "3.0.2", ("GHSA-3965-hpx2-q597",)),
    ("npm", "pug", "3.0.3", ()),
    ("PyPI", "langchain_community", "0.0.1", ("GHSA-3hjh-jh2h-vrg6",)),  # at introduced
    ("PyPI", "langchain-community", "0.0.1rc1", ()),  # before introduced
    ("PyPI", "langchain-community", "0.3.0", ("GHSA-3hjh-jh2h-vrg6",)),  # open-ended
    ("Maven", "org.bouncycastle:bcprov-jdk18on", "1.60", ()),
    ("Maven", "org.bouncycastle:bcprov-jdk18on", "1.61", ("GHSA-4h8f-2wvx-gg5w",)),
    ("Maven", "org.bouncycastle:bcprov-jdk12", "1.77", ("GHSA-4h8f-2wvx-gg5w",)),
    ("Maven", "org.bouncycastle:bcprov-jdk14", "1.70", ("GHSA-4h8f-2wvx-gg5w",)),
    ("Maven", "org.bouncycastle:bcprov-jdk14", "1.78", ()),
    ("npm", "@jmondi/url-to-png", "2.0.2", ("GHSA-665w-mwrr-77q3",)),
    ("npm", "@jmondi/url-to-png", "2.0.3", ()),
    ("GitHub Actions", "rlespinasse/github-slug-action", "3.9.9", ()),
    ("GitHub Actions", "rlespinasse/github-slug-action", "4.0.0", ("GHSA-6q4m-7476-932w",)),
    ("GitHub Actions", "rlespinasse/github-slug-action", "v4.4.0", ("GHSA-6q4m-7476-932w",)),
    ("GitHub Actions", "rlespinasse/github-slug-action", "4.4.1", ()),
    ("Go", "github.com/AdguardTeam/AdGuardHome", "v0.92.9", ()),
    ("Go", "github.com/AdguardTeam/AdGuardHome", "v0.93", ("GHSA-7jp9-vgmq-c8r5",)),
    ("Go", "github.com/AdguardTeam/AdGuardHome", "v0.107.51", ("GHSA-7jp9-vgmq-c8r5",)),
    ("Go", "github.com/AdguardTeam/AdGuardHome", "v0.107.52", ()),
    ("npm", "semver", "5.7.1", ("GHSA-c2qf-rxjj-qqgw",)),
    ("npm", "semver", "5.7.2", ()),
    ("npm", "semver", "6.0.0", ("GHSA-c2qf-rxjj-qqgw",)),
    ("npm", "semver", "6.3.1", ()),
    ("npm", "semver", "7.0.0-rc.1", ()),  # pre-release between two ranges
    ("npm", "semver", "7.5.1", ("GHSA-c2qf-rxjj-qqgw",)),
    ("npm", "semver", "7.5.2", ()),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.0-beta9", ("GHSA-jfh8-c2jp-5v3q",)),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.3.1", ()),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.4", ("GHSA-jfh8-c2jp-5v3q",)),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.12.2", ()),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.13.0", ("GHSA-jfh8-c2jp-5v3q",)),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", ("GHSA-jfh8-c2jp-5v3q",)),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.15.0", ()),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.17.1", ()),
    ("PyPI", "py", "1.11.0", ("GHSA-w596-4wvx-j9j6", "PYSEC-2022-42969")),
    ("PyPI", "py", "1.11.1", ()),
    (
        "Go",
        "github.com/sigstore/cosign",
        "v1.5.1",
        ("GO-2022-0326", "GO-2023-2181", "GO-2026-4309"),
    ),
    ("Go", "github.com/sigstore/cosign", "v1.5.2", ("GO-2023-2181", "GO-2026-4309")),
    ("Go", "github.com/sigstore/cosign/v2", "v2.2.0", ("GO-2023-2181", "GO-2026-4309")),
    ("Go", "github.com/sigstore/cosign/v2", "v2.2.1", ("GO-2026-4309",)),
    ("Go", "github.com/sigstore/cosign/v2", "v2.6.2", ()),
    ("Go", "github.com/sigstore/cosign/v3", "v3.0.3", ("GO-2026-4309",)),
    ("Go", "github.com/sigstore/cosign/v3", "v3.0.4", ()),
    ("Go", "k8s.io/kubernetes", "v1.30.0", ()),  # GO-2022-0617 is withdrawn
    ("Go", "stdlib", "1.20.10", ("GO-2023-2185",)),
    ("Go", "stdlib", "1.20.11", ("GO-2023-2185",)),  # fixed in one entry, introduced in the next
    ("Go", "stdlib", "1.20.12", ()),
    ("Go", "stdlib", "1.21.0-0", ("GO-2023-2185",)),
    ("Go", "stdlib", "1.21.4", ("GO-2023-2185",)),
    ("Go", "stdlib", "1.21.5", ()),
    ("Go", "github.com/goreleaser/goreleaser", "v1.22.9", ()),
    ("Go", "github.com/goreleaser/goreleaser", "v1.23.0", ("GO-2024-2482",)),
    ("Go", "github.com/goreleaser/goreleaser", "v1.24.0", ()),
    ("Go", "github.com/goreleaser/goreleaser", "v1.26.0", ("GO-2024-2860",)),
    ("Go", "github.com/goreleaser/goreleaser", "v1.26.1", ()),
    ("Go", "github.com/gorilla/sessions", "v1.2.2", ()),  # GO-2024-2730 is withdrawn
    ("Go", "github.com/containers/image/v5", "v5.29.2", ("GO-2024-2842",)),
    ("Go", "github.com/containers/image/v5", "v5.29.3", ()),
    ("Go", "github.com/containers/image/v5", "v5.30.0", ("GO-2024-2842",)),
    ("Go", "github.com/containers/image/v5", "v5.30.1", ()),
    ("Go", "github.com/aquasecurity/trivy", "v0.51.1", ("GO-2024-2870",)),
    ("Go", "github.com/aquasecurity/trivy", "0.51.2", ()),
    ("Go", "github.com/aquasecurity/trivy", "v0.69.3", ()),
    ("Go", "github.com/anchore/grype", "v0.67.9", ()),
    ("Go", "github.com/anchore/grype", "v0.68.0", ("GO-2025-4160",)),
    ("Go", "github.com/anchore/grype", "v0.104.1", ()),
    ("Go", "github.com/sigstore/timestamp-authority", "v1.2.9", ("GO-2025-4192",)),
    ("Go", "github.com/sigstore/timestamp-authority/v2", "v2.0.2", ("GO-2025-4192",)),
    ("Go", "github.com/sigstore/timestamp-authority/v2", "v2.0.3", ()),
    ("Go", "github.com/sigstore/rekor", "v1.4.3", ("GO-2026-4354",)),
    ("Go", "github.com/sigstore/rekor", "v1.5.0", ()),
    ("Go", "github.com/chrismellard/docker-credential-acr-env", "v0.7.0", ("GO-2026-6225",)),
    ("PyPI", "apache-superset", "0.30", ("PYSEC-2019-172",)),
    ("PyPI", "apache-superset", "0.31.0", ()),  # == 0.31 under PEP 440
    ("PyPI", "ansible", "2.9.0", ()),  # PYSEC-2020-221 is withdrawn
    ("PyPI", "AccessControl", "3.9", ()),
    ("PyPI", "accesscontrol", "4.0", ("PYSEC-2021-335",)),
    ("PyPI", "accesscontrol", "4.3", ()),
    ("PyPI", "accesscontrol", "5.1", ("PYSEC-2021-335",)),
    ("PyPI", "accesscontrol", "5.2", ()),
    ("PyPI", "Jinja2", "2.11.2", ("PYSEC-2021-66",)),
    ("PyPI", "jinja2", "2.11.3", ()),
    ("PyPI", "lxml", "4.6.4", ("PYSEC-2021-852",)),
    ("PyPI", "lxml", "4.6.5", ()),
    ("PyPI", "aiohttp", "3.8.5", ("PYSEC-2023-246",)),  # PYSEC-2022-43059 is withdrawn
    ("PyPI", "aiohttp", "3.8.6", ()),
    ("PyPI", "adyen", "2.1.9", ()),
    ("PyPI", "adyen", "2.2.0", ("PYSEC-2023-1",)),
    ("PyPI", "adyen", "7.1.0", ()),
    ("PyPI", "imagecodecs", "2023.9.4", ("PYSEC-2023-174",)),
    ("PyPI", "imagecodecs", "2023.9.18", ()),
    ("PyPI", "urllib3", "1.26.17", ("PYSEC-2023-212",)),
    ("PyPI", "urllib3", "1.26.18", ()),
    ("PyPI", "urllib3", "2.0.0", ("PYSEC-2023-212",)),
    ("PyPI", "urllib3", "2.0.7", ()),
    ("PyPI", "requests", "2.2.1", ()),
    ("PyPI", "requests", "2.3.0", ("PYSEC-2023-74",)),
    ("PyPI", "requests", "2.31.0", ()),
    ("PyPI", "case-utils", "0.15.0", ("PYSEC-2024-5",)),  # introduced 0, no fix
]


@pytest.fixture(scope="module")
def index(fixture_advisories: list[Advisory]) -> AdvisoryIndex:
    return AdvisoryIndex(fixture_advisories)


def test_every_fixture_ingests_with_its_affected_entries(
    fixture_advisories: list[Advisory],
) -> None:
    assert {a.id: len(a.affected) for a in fixture_advisories} == AFFECTED_COUNTS


@pytest.mark.parametrize(("ecosystem", "package", "version", "expected"), EDGES)
def test_match_at_range_edges(
    index: AdvisoryIndex, ecosystem: str, package: str, version: str, expected: tuple[str, ...]
) -> None:
    matched = {rid for m in index.match(ecosystem, package, version) for rid in m.matched_by}
    assert matched == set(expected)


def test_every_live_fixture_package_is_probed(fixture_advisories: list[Advisory]) -> None:
    probed = {(eco, normalise_package(eco, pkg)) for eco, pkg, _, hits in EDGES if hits}
    live = {
        (a.ecosystem, a.package) for r in fixture_advisories if not r.withdrawn for a in r.affected
    }
    # Two of the five identical bouncycastle entries are left out on purpose.
    unprobed = {("Maven", f"org.bouncycastle:bcprov-jdk{v}") for v in ("13", "15to18")}
    assert live - probed == unprobed


def test_fixture_details(fixture_advisories: list[Advisory]) -> None:
    by_id = {a.id: a for a in fixture_advisories}
    wordops = by_id["GHSA-23qq-p4gq-gc2g"]
    assert wordops.notes == ("fixed event '>= 3.21.0' read as '3.21.0'",)
    assert wordops.severity == () and wordops.severity_label == "MODERATE"
    adguard = by_id["GHSA-7jp9-vgmq-c8r5"]
    assert [(s.type, s.score) for s in adguard.severity] == [("CVSS_V3", 8.8), ("CVSS_V4", None)]
    assert {a.id for a in fixture_advisories if a.withdrawn} == {
        "GO-2022-0617", "GO-2024-2730", "PYSEC-2020-221", "PYSEC-2022-43059",
    }  # fmt: skip
    assert by_id["GO-2024-2870"].modified.year == 1  # the Go database's unpublished form
    assert by_id["PYSEC-2021-335"].affected[0].ranges[0].repo == (
        "https://github.com/zopefoundation/AccessControl"
    )
