"""Every OSV ordering against osv-scalibr's hand-written tables, through the matcher, and as a
total order under hypothesis."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisories import AdvisoryIndex, VersionError, parse_record
from advisories.ecosystems import KNOWN_ECOSYSTEMS
from advisories.ordering import (
    APK,
    CRAN,
    DEBIAN,
    GITHUB_ACTIONS,
    GO,
    HACKAGE,
    MAVEN,
    NUGET,
    ORDERINGS,
    PACKAGIST,
    PEP440,
    PUB,
    RPM,
    RUBYGEMS,
    SEMVER,
    Ordering,
)
from tests.conftest import FIXTURES

from .test_osv_reading import osv

TABLES = FIXTURES / "osv-versions"
TABLE_ORDERINGS = {
    "alpine": APK,
    "cran": CRAN,
    "debian": DEBIAN,
    "hackage": HACKAGE,
    "maven": MAVEN,
    "nuget": NUGET,
    "packagist": PACKAGIST,
    "pub": PUB,
    "pypi": PEP440,
    "redhat": RPM,
    "rubygems": RUBYGEMS,
    "semver": SEMVER,
}
# Strings outside apk-tools' documented format (apk-package(5)): refused with a named error
# rather than guessed at. Every other string of every table must parse.
REFUSED = {
    APK: {
        "1-r-0", "1-r-1", "0.r1", "0..1..0", "0..1..1", "0...1...0", "0...1...1", "0...1...0.r1",
        "0...1...0.r2", "0...1...0r1", "0...1...0r2", "0..8", "0...8", "0.8.21.r2", "0.8.21.r1",
        "10.2.24.r0", "10.2.22.r0", "1.2.0A", "1.2.0D", "1-ruff", "1-r0-1", "1-r-2", "1-r0-2",
        "1-ruff2", "1-ruff1", "1--ruff1", "1-r0-ruff2", "1-r0-ruff1", "1.2_blah", "1.2_csv2",
        ".1", ".2", "a", "b", "c", "23_foo", "1.0bc",
    },
}  # fmt: skip
_LINE = re.compile(r"^(.+?) ([<=>]) (.+)$")


def table_lines(path: Path) -> list[tuple[str, str, str]]:
    """``(a, op, b)`` for every comparison line (``#`` and ``//`` lines are comments)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "//")):
            continue
        m = _LINE.match(line)
        assert m is not None, f"{path.name}: unreadable line {line!r}"
        lines.append((m[1], m[2], m[3]))
    return lines


def test_every_table_has_an_ordering() -> None:
    assert {p.name.removesuffix("-versions.txt") for p in TABLES.glob("*.txt")} == set(
        TABLE_ORDERINGS
    )


@pytest.mark.parametrize("name", sorted(TABLE_ORDERINGS))
def test_table_agrees_in_both_directions(name: str) -> None:
    ordering = TABLE_ORDERINGS[name]
    refused = REFUSED.get(ordering, set())
    wrong, errors, checked = [], [], 0
    for a, op, b in table_lines(TABLES / f"{name}-versions.txt"):
        if a in refused or b in refused:
            with pytest.raises(VersionError, match="not a valid"):
                ordering.key(a if a in refused else b)
            continue
        try:
            forward, backward = ordering.compare(a, b), ordering.compare(b, a)
        except VersionError as exc:
            errors.append(str(exc))
            continue
        checked += 1
        if "<=>"[forward + 1] != op or backward != -forward:
            wrong.append(f"{a} {op} {b}: got {'<=>'[forward + 1]} / {'<=>'[backward + 1]}")
    assert wrong == [] and errors == []
    assert checked > 0


def test_issue_examples() -> None:
    assert MAVEN.compare("2.0-1", "2.0.1") == -1
    assert MAVEN.compare("27.0-jre", "27.0.1-android") == -1
    assert MAVEN.compare("5.1.0-20190624", "5.1.2") == -1
    assert MAVEN.compare("0.15.0", "0.15.0a") == -1
    assert MAVEN.is_valid("r136") and MAVEN.is_valid("v3.1.0-alpha-1")
    assert PUB.compare("1.2.3+1", "1.2.3+2") == -1
    assert PEP440.compare("0.1-bulbasaur", "0.1-charmander") == -1
    assert PEP440.compare("2.0.1rc2-git", "1.0") == -1  # legacy versions sort before PEP 440
    assert SEMVER.is_valid("1.1.3.4.5")


# --- every ecosystem through the matcher -------------------------------------------------------

FAMILY_TABLE = {ordering: name for name, ordering in TABLE_ORDERINGS.items()}
FAMILY_TABLE.update({GO: "semver", GITHUB_ACTIONS: "semver"})
MATCHABLE = sorted([*ORDERINGS, "Ubuntu:22.04", "Debian:12", "Alpine:v3.20", "Red Hat:9"])


def sample_ranges(ordering: Ordering, count: int = 6) -> list[tuple[str, str]]:
    """``A < B`` lines of the ordering's table that it reads, spread over the file."""
    refused = REFUSED.get(ordering, set())
    table = table_lines(TABLES / f"{FAMILY_TABLE[ordering]}-versions.txt")
    pairs = [(a, b) if op == "<" else (b, a) for a, op, b in table if op != "="]
    pairs = [(a, b) for a, b in pairs if not {a, b} & refused and a != "0"]
    step = max(1, len(pairs) // count)
    return pairs[::step][:count]


@pytest.mark.parametrize("ecosystem", MATCHABLE)
def test_introduced_a_fixed_b_affects_a_not_b(ecosystem: str) -> None:
    ordering = ORDERINGS[ecosystem.partition(":")[0]]
    samples = sample_ranges(ordering)
    assert samples
    for n, (a, b) in enumerate(samples):
        rng = {"type": "ECOSYSTEM", "events": [{"introduced": a}, {"fixed": b}]}
        affected = [{"package": {"ecosystem": ecosystem, "name": "pkg"}, "ranges": [rng]}]
        index = AdvisoryIndex([parse_record(osv(f"OSV-{n}", affected=affected), source="t")])
        (match,) = index.match(ecosystem, "pkg", a)
        assert f"ECOSYSTEM range introduced {a}, fixed {b}" in match.reason
        result = index.explain(ecosystem, "pkg", b)
        assert result.matches == () and result.unevaluated == (), (a, b)


def test_every_osv_ecosystem_is_ordered_or_named_as_unordered() -> None:
    assert KNOWN_ECOSYSTEMS - set(ORDERINGS) == {"Android", "Linux", "OSS-Fuzz"}


# --- total order properties --------------------------------------------------------------------

_n = st.integers(min_value=0, max_value=12).map(str)
_word = st.sampled_from(
    ["a", "b", "m", "alpha", "beta", "rc", "pre", "dev", "sp", "ga", "x", "jre"]
)


def _joined(parts: st.SearchStrategy[str], seps: str, max_size: int = 5) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(st.sampled_from(list(seps)), parts), max_size=max_size).map(
        lambda items: "".join(sep + part for sep, part in items)
    )


_dotted = st.lists(_n, min_size=1, max_size=4).map(".".join)
_pre = st.lists(st.one_of(_n, _word), min_size=1, max_size=3).map(".".join)
_semver = st.builds(
    lambda v, core, pre, build: (
        v + core + (f"-{pre}" if pre else "") + (f"+{build}" if build else "")
    ),
    st.sampled_from(["", "v"]),
    _dotted,
    st.one_of(st.just(""), _pre),
    st.one_of(st.just(""), _pre),
)
_free = st.builds(lambda head, tail: head + tail, _n, _joined(st.one_of(_n, _word), ".-_~+^:"))

STRATEGIES: dict[Ordering, st.SearchStrategy[str]] = {
    SEMVER: _semver,
    GO: _semver,
    GITHUB_ACTIONS: _semver,
    PUB: _semver,
    NUGET: _semver.map(lambda s: s.lstrip("v").upper()) | _semver,
    PEP440: _free | _dotted,
    MAVEN: _free,
    RUBYGEMS: st.builds(lambda head, tail: head + tail, _n, _joined(st.one_of(_n, _word), ".-")),
    PACKAGIST: st.builds(lambda head, tail: head + tail, _n, _joined(st.one_of(_n, _word), ".-_")),
    CRAN: st.builds(lambda head, tail: head + tail, _n, _joined(_n, ".-")),
    HACKAGE: _dotted,
    DEBIAN: st.builds(
        lambda epoch, upstream, revision: epoch + upstream + revision,
        st.sampled_from(["", "1:", "2:"]),
        st.builds(lambda head, tail: head + tail, _n, _joined(st.one_of(_n, _word), ".+~")),
        st.one_of(st.just(""), _joined(st.one_of(_n, _word), ".~").map(lambda r: "-0" + r)),
    ),
    APK: st.builds(
        lambda core, letter, suffix, revision: core + letter + suffix + revision,
        _dotted,
        st.sampled_from(["", "a", "z"]),
        _joined(st.sampled_from(["alpha", "beta", "rc", "p", "git", "p2", "rc1"]), "_", 2),
        st.sampled_from(["", "-r0", "-r1", "-r10"]),
    ),
    RPM: _free,
}


def test_every_ordering_has_a_property_test() -> None:
    assert set(ORDERINGS.values()) == set(STRATEGIES)


@pytest.mark.parametrize("ordering", list(STRATEGIES), ids=lambda o: o.name)
def test_ordering_is_a_total_order(ordering: Ordering) -> None:
    strategy = STRATEGIES[ordering]

    @settings(deadline=None, max_examples=300)
    @given(strategy, strategy, strategy)
    def check(a: str, b: str, c: str) -> None:
        ab, ba = ordering.compare(a, b), ordering.compare(b, a)
        assert ab == -ba  # antisymmetric, and comparable at all (total)
        assert ordering.compare(a, a) == 0
        bc, ac = ordering.compare(b, c), ordering.compare(a, c)
        if ab <= 0 and bc <= 0:
            assert ac <= 0  # transitive
        if ab == 0 and bc == 0:
            assert ac == 0  # equality is transitive too
        if ab == 0:
            assert ac == bc  # equal versions compare alike with everything

    check()
