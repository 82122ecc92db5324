"""How a replay is judged (no daemon): what makes `toolgate demo` exit 1."""

from __future__ import annotations

from datetime import UTC, datetime

from verifier.demo.results import Answer, DemoResult, Detection, Entry, ExposedRunner
from verifier.demo.scenario import TRIVY_2026, Ask, Detect, Step

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
STEP = Step(NOW, "a tag moved", malicious=True, detect=(Detect("t", "1.0", "tag-moved"),))
EXPECTED = {
    key: [ExposedRunner("team", runner, NOW, NOW, 1) for runner in sorted(runners)]
    for key, runners in TRIVY_2026.exposed.items()
}


def answer(decision: str, *, expect: str = "deny", would_deny: bool = False) -> Answer:
    ask = Ask("runner-1", "team", "t", "1.0", expect=expect)  # type: ignore[arg-type]
    return Answer(ask, "1.0", decision, ("tag-moved",), would_deny, False, 0.5)


def judged(*answers: Answer, detected: float | None = 0.5, exposure=EXPECTED) -> DemoResult:
    result = DemoResult(TRIVY_2026)
    entry = Entry(STEP, NOW, answers=list(answers))
    entry.detections = [Detection(STEP.detect[0], detected, "deny")]
    result.entries.append(entry)
    result.exposure = dict(exposure)
    result.check()
    return result


def test_denied_detected_and_the_expected_runners_named_is_ok():
    result = judged(answer("deny"))
    assert result.ok and result.entries[0].verdict == "deny"


def test_a_warn_that_enforcing_would_deny_counts_as_denied():
    result = judged(answer("warn", expect="warn", would_deny=True))
    assert result.ok and result.entries[0].verdict == "would-deny"


def test_an_allowed_malicious_event_fails():
    result = judged(answer("allow"))
    assert not result.ok
    assert "answered allow, expected deny" in result.problems[0]
    assert any("not denied (allowed)" in problem for problem in result.problems)


def test_a_cause_never_named_fails():
    assert judged(answer("deny"), detected=None).problems == ["t 1.0: no tag-moved verdict in time"]


def test_an_exposed_runner_missing_or_too_many_fails():
    extra = {**EXPECTED, ("trivy", "0.69.4"): [ExposedRunner("team", "x", NOW, NOW, 1)]}
    for exposure in (dict(list(EXPECTED.items())[1:]), extra):
        problems = judged(answer("deny"), exposure=exposure).problems
        assert len(problems) == 1 and problems[0].startswith("exposure of"), problems
