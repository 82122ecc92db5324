"""OSV range semantics: introduced/fixed/last_affected/limit, hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from advisories import Event, Range, VersionError
from advisories.ordering import PEP440, SEMVER
from advisories.ranges import compile_range

# A loaded CI machine can stall one example past the default 200 ms deadline.
NO_DEADLINE = settings(deadline=None)


def _range(*events: tuple[str, str]) -> Range:
    return Range("ECOSYSTEM", tuple(Event(k, v) for k, v in events))  # type: ignore[arg-type]


def _affected(rng: Range, version: str, ordering=SEMVER) -> bool:
    key = ordering.key(version)
    return any(iv.contains(key) for iv in compile_range(rng, ordering))


def test_events_listed_out_of_order_are_sorted() -> None:
    # PYSEC-2023-212 (urllib3) lists 2.0.0..2.0.7 before 0..1.26.18.
    rng = _range(
        ("introduced", "2.0.0"), ("fixed", "2.0.7"), ("introduced", "0"), ("fixed", "1.26.18")
    )
    assert [iv.describe() for iv in compile_range(rng, PEP440)] == [
        "introduced 0, fixed 1.26.18",
        "introduced 2.0.0, fixed 2.0.7",
    ]
    for version, expected in [("1.26.17", True), ("1.26.18", False), ("1.99", False),
                              ("2.0.0", True), ("2.0.7", False)]:  # fmt: skip
        assert _affected(rng, version, PEP440) is expected, version


def test_limit_caps_an_open_range() -> None:
    rng = _range(("introduced", "1.0.0"), ("limit", "2.0.0"))
    assert _affected(rng, "1.9.9") and not _affected(rng, "2.0.0") and not _affected(rng, "3.0.0")


def test_introduced_zero_without_fix_covers_everything() -> None:
    (interval,) = compile_range(_range(("introduced", "0")), SEMVER)
    assert interval.unbounded and interval.describe() == "introduced 0 (no fix)"


def test_invalid_event_value_raises() -> None:
    with pytest.raises(VersionError):
        compile_range(_range(("introduced", "0"), ("fixed", "not.a.version")), SEMVER)


versions = st.builds(
    lambda a, b, c: f"{a}.{b}.{c}", *(st.integers(min_value=0, max_value=12) for _ in range(3))
)


@NO_DEADLINE
@given(versions, versions, versions)
def test_range_contains_introduced_and_not_fixed(introduced: str, fixed: str, probe: str) -> None:
    assume(SEMVER.compare(introduced, fixed) < 0)
    rng = _range(("introduced", introduced), ("fixed", fixed))
    assert _affected(rng, introduced)
    assert not _affected(rng, fixed)
    inside = SEMVER.compare(introduced, probe) <= 0 < SEMVER.compare(fixed, probe)
    assert _affected(rng, probe) is inside


@NO_DEADLINE
@given(versions, versions, versions)
def test_last_affected_is_inclusive(introduced: str, last: str, probe: str) -> None:
    assume(SEMVER.compare(introduced, last) <= 0)
    rng = _range(("introduced", introduced), ("last_affected", last))
    assert _affected(rng, introduced) and _affected(rng, last)
    inside = SEMVER.compare(introduced, probe) <= 0 <= SEMVER.compare(last, probe)
    assert _affected(rng, probe) is inside


@NO_DEADLINE
@given(st.lists(versions, min_size=2, max_size=8, unique=True), versions)
def test_alternating_events_match_the_osv_reference_algorithm(
    points: list[str], probe: str
) -> None:
    ordered = sorted(points, key=SEMVER.key)
    events = [("introduced" if i % 2 == 0 else "fixed", v) for i, v in enumerate(ordered)]
    rng = _range(*reversed(events))  # given in reverse to exercise the sort
    # OSV schema reference evaluation: the last event at or below the version decides.
    state = False
    for kind, value in events:
        if SEMVER.compare(value, probe) <= 0:
            state = kind == "introduced"
    assert _affected(rng, probe) is state
