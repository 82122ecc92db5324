"""Version orderings: tables of real version strings and hypothesis properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisories import VersionError
from advisories.ecosystems import canonical_ecosystem, normalise_package
from advisories.ordering import (
    DEBIAN,
    GITHUB_ACTIONS,
    GO,
    MAVEN,
    PEP440,
    SEMVER,
    Ordering,
    is_partial_tag,
    ordering_for,
)

# A loaded CI machine can stall one example past the default 200 ms deadline.
NO_DEADLINE = settings(deadline=None)

# Each list is in strictly increasing order.
ASCENDING = {
    PEP440: [
        "0.0.1rc1", "0.0.1", "0.31", "1.0.dev0", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1",
        "1.11.0", "2.11.2", "2.11.3", "3.0.2", "3.0.3", "2023.9.4", "2023.9.18",
    ],
    SEMVER: [
        "0.0.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.3", "5.7.1", "5.7.2",
        "6.3.1", "7.0.0-rc.1", "7.0.0", "7.5.2", "10.0.0",
    ],
    GO: [
        "v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", "0.51.1", "v0.51.2", "v0.69.3",
        "v0.69.4", "v0.93", "0.107.51", "v1.21.0-0", "v1.21.0-rc.2", "1.21.0", "v1.21.4",
        "v2.0.0+incompatible", "v2.2.1",
    ],
    GITHUB_ACTIONS: [
        "0.0.1", "v0.33.1", "0.34.0", "v0.34.2", "0.35.0", "v1.2.3-beta", "v1.2.3", "v2",
        "v2.1", "4.4.1",
    ],
    MAVEN: [
        "1.0-alpha1", "1.0-alpha2", "1.0-beta1", "1.0-M1", "1.0-RC1", "1.0-SNAPSHOT", "1.0",
        "1.0-sp1", "1.1", "1.61", "1.77", "1.78", "2.0-beta9", "2.3", "2.3.1", "2.4", "2.12.2",
        "2.13.0", "2.15.0", "2.17.1",
    ],
}  # fmt: skip

EQUAL = [
    (PEP440, "1.0", "1.0.0"),
    (PEP440, "1.0RC1", "1.0rc1"),
    (SEMVER, "1.0.0+build.5", "1.0.0"),
    (SEMVER, "v1.2.3", "1.2.3"),
    (GO, "v2.0.0+incompatible", "2.0.0"),
    (GO, "v0.93", "0.93.0"),
    (GITHUB_ACTIONS, "v4", "4.0.0"),
    (MAVEN, "1.0", "1"),
    (MAVEN, "1.0.0-ga", "1"),
    (MAVEN, "1-final", "1.0"),
    (MAVEN, "1.0-cr1", "1.0-rc1"),
]

INVALID = [
    (PEP440, ""),
    (PEP440, "1.0 beta"),
    (SEMVER, ">= 3.21.0"),
    (SEMVER, "1.2.x"),
    (GO, "latest"),
    (GITHUB_ACTIONS, "main"),
    (GITHUB_ACTIONS, "4f8b1a1c0a8a7d0a3c9d2e7d4f3c2b1a0e9d8c7b"),
    (MAVEN, ""),
    (MAVEN, "1.0 final"),
]


@pytest.mark.parametrize("ordering", list(ASCENDING), ids=lambda o: o.name)
def test_real_versions_sort_in_published_order(ordering: Ordering) -> None:
    versions = ASCENDING[ordering]
    shuffled = list(reversed(versions))
    assert sorted(shuffled, key=ordering.key) == versions
    for lower, higher in itertools.pairwise(versions):
        assert ordering.compare(lower, higher) == -1, (lower, higher)


@pytest.mark.parametrize(("ordering", "left", "right"), EQUAL)
def test_equal_spellings(ordering: Ordering, left: str, right: str) -> None:
    assert ordering.compare(left, right) == 0


@pytest.mark.parametrize(("ordering", "version"), INVALID)
def test_invalid_versions_raise_a_typed_error(ordering: Ordering, version: str) -> None:
    with pytest.raises(VersionError, match="not a valid"):
        ordering.key(version)
    assert not ordering.is_valid(version)


def test_moving_action_tags_are_flagged() -> None:
    assert is_partial_tag("v4") and is_partial_tag("v4.1")
    assert not is_partial_tag("v4.1.0") and not is_partial_tag("main")


@pytest.mark.parametrize(
    ("ecosystem", "name", "expected"),
    [
        ("PyPI", "Werkzeug", "werkzeug"),
        ("PyPI", "zope.interface", "zope-interface"),
        ("npm", "@JMondi/URL-to-png", "@jmondi/url-to-png"),
        ("Go", "github.com/AdguardTeam/AdGuardHome", "github.com/AdguardTeam/AdGuardHome"),
        ("GitHub Actions", "Aquasecurity/Trivy-Action", "aquasecurity/trivy-action"),
        ("crates.io", "Serde_JSON", "serde-json"),
        ("Maven", "org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j:log4j-core"),
    ],
)
def test_package_names_normalise_per_ecosystem(ecosystem: str, name: str, expected: str) -> None:
    assert normalise_package(ecosystem, name) == expected


def test_ecosystem_names() -> None:
    assert canonical_ecosystem("pypi") == "PyPI"
    assert canonical_ecosystem("Debian:11") == "Debian:11"
    assert canonical_ecosystem("NotAnEcosystem") is None
    assert ordering_for("Debian:11") is DEBIAN
    assert ordering_for("Android") is None
    assert ordering_for("crates.io") is SEMVER


# --- properties -------------------------------------------------------------------------------

_num = st.integers(min_value=0, max_value=30)
_ident = st.one_of(
    st.integers(min_value=0, max_value=20).map(str),
    st.sampled_from(["alpha", "beta", "rc", "x-1", "0a"]),
)
semver_strings = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{'.'.join(pre)}" if pre else ""),
    _num,
    _num,
    _num,
    st.lists(_ident, max_size=3),
)
pep440_strings = st.builds(
    lambda rel, pre, post, dev: ".".join(map(str, rel)) + pre + post + dev,
    st.lists(_num, min_size=1, max_size=4),
    st.sampled_from(["", "a1", "b2", "rc1", "rc10"]),
    st.sampled_from(["", ".post1", ".post2"]),
    st.sampled_from(["", ".dev0", ".dev3"]),
)
maven_strings = st.builds(
    lambda rel, qualifier: ".".join(map(str, rel)) + qualifier,
    st.lists(_num, min_size=1, max_size=4),
    st.sampled_from(
        ["", "-alpha1", "-beta-2", "-M3", "-RC1", "-SNAPSHOT", "-sp1", "-jre", ".Final"]
    ),
)
go_strings = st.builds(lambda v, s: f"v{s}" if v else s, st.booleans(), semver_strings) | st.builds(
    lambda a, b: f"v{a}.{b}", _num, _num
)

CASES = [
    (SEMVER, semver_strings),
    (PEP440, pep440_strings),
    (MAVEN, maven_strings),
    (GO, go_strings),
]


@pytest.mark.parametrize(("ordering", "strategy"), CASES, ids=lambda c: getattr(c, "name", ""))
def test_ordering_is_a_total_order(ordering: Ordering, strategy: st.SearchStrategy[str]) -> None:
    @NO_DEADLINE
    @given(strategy, strategy, strategy)
    def check(a: str, b: str, c: str) -> None:
        ab, ba = ordering.compare(a, b), ordering.compare(b, a)
        assert ab == -ba  # antisymmetric, and comparable at all (total)
        if ab <= 0 and ordering.compare(b, c) <= 0:
            assert ordering.compare(a, c) <= 0  # transitive
        assert ordering.compare(a, a) == 0

    check()


@NO_DEADLINE
@given(semver_strings)
def test_a_release_follows_all_its_prereleases(version: str) -> None:
    release = version.split("-", 1)[0]
    assert SEMVER.compare(version, release) == (0 if version == release else -1)
