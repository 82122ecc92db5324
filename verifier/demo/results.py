"""What a replay observed, step by step, and the summary the demo is judged on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from verifier.demo.scenario import Ask, Detect, PublishAdvisory, Scenario, Step


@dataclass(frozen=True)
class Answer:
    """What toolgate answered a runner, `seconds` after the step's upstream change."""

    ask: Ask
    version: str  # as asked: a version, or a full commit SHA
    decision: str
    reasons: tuple[str, ...]
    would_deny: bool
    first_sight: bool
    seconds: float

    @property
    def expected(self) -> bool:
        return self.decision == self.ask.expect

    @property
    def denied(self) -> bool:
        """Denied, or warned where enforcing would have denied (a tool in warn mode)."""
        return self.decision == "deny" or self.would_deny


@dataclass(frozen=True)
class Detection:
    """When toolgate's verdict on a version came to carry the expected reason (None: never)."""

    detect: Detect
    seconds: float | None
    decision: str | None


@dataclass(frozen=True)
class Alert:
    """One alert as mailed: its subject and everyone it went to."""

    subject: str
    recipients: tuple[str, ...]


@dataclass
class Entry:
    """One played step of the timeline."""

    step: Step
    played_at: datetime  # on the real clock, when its upstream change was made
    answers: list[Answer] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    missing_alerts: list[str] = field(default_factory=list)

    @property
    def denied_after(self) -> float | None:
        """Seconds from the upstream change to the first answer that denied a runner."""
        return min((a.seconds for a in self.answers if a.denied), default=None)

    @property
    def detected_after(self) -> float | None:
        """Seconds until every expected reason was in toolgate's verdicts (None: not all)."""
        times = [d.seconds for d in self.detections]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    @property
    def verdict(self) -> str:
        """`deny`, `would-deny` (warn mode) or `allow` for what this step brought in."""
        decisions = [a for a in self.answers if a.ask.expect != "allow"]
        if not decisions:
            return "-"
        if all(a.decision == "deny" for a in decisions):
            return "deny"
        return "would-deny" if all(a.denied for a in decisions) else "allowed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.step.at.isoformat(),
            "played_at": self.played_at.isoformat(),
            "title": self.step.title,
            "malicious": self.step.malicious,
            "answers": [
                {
                    "runner": a.ask.runner,
                    "token": a.ask.team,
                    "tool": a.ask.tool,
                    "version": a.version,
                    "decision": a.decision,
                    "expected": a.ask.expect,
                    "reasons": list(a.reasons),
                    "first_sight": a.first_sight,
                    "seconds": round(a.seconds, 3),
                }
                for a in self.answers
            ],
            "detections": [
                {
                    "tool": d.detect.tool,
                    "version": d.detect.version,
                    "code": d.detect.code,
                    "seconds": None if d.seconds is None else round(d.seconds, 3),
                }
                for d in self.detections
            ],
            "alerts": [{"subject": a.subject, "to": list(a.recipients)} for a in self.alerts],
            "missing_alerts": self.missing_alerts,
        }


@dataclass(frozen=True)
class ExposedRunner:
    token: str
    runner: str
    first_fetch: datetime
    last_fetch: datetime
    fetches: int


@dataclass
class DemoResult:
    scenario: Scenario
    entries: list[Entry] = field(default_factory=list)
    exposure: dict[tuple[str, str], list[ExposedRunner]] = field(default_factory=dict)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def malicious(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.step.malicious]

    @property
    def runners_denied(self) -> list[str]:
        return sorted(
            {a.ask.runner for e in self.entries for a in e.answers if a.decision == "deny"}
        )

    @property
    def alerts_sent(self) -> int:
        return sum(len(a.recipients) for e in self.entries for a in e.alerts)

    @property
    def advisory_at(self) -> datetime | None:
        """When (real clock) the advisory was published, if the scenario publishes one."""
        for entry in self.entries:
            if any(isinstance(action, PublishAdvisory) for action in entry.step.actions):
                return entry.played_at
        return None

    def exposed_before_advisory(self) -> list[str]:
        """Runners the exposure report names that fetched before the advisory was out."""
        cutoff = self.advisory_at
        return sorted(
            {
                runner.runner
                for runners in self.exposure.values()
                for runner in runners
                if cutoff is None or runner.first_fetch < cutoff
            }
        )

    def simulated(self, moment: datetime) -> datetime:
        """The simulated time of the step being played at real time `moment`."""
        current = self.scenario.installed_at
        for entry in self.entries:
            if entry.played_at <= moment:
                current = entry.step.at
        return current

    def check(self) -> None:
        """Record every way the replay fell short of the scenario in `problems`."""
        for entry in self.entries:
            for answer in entry.answers:
                if not answer.expected:
                    self.problems.append(
                        f"{answer.ask.runner} asked {answer.ask.tool} {answer.version}: "
                        f"answered {answer.decision}, expected {answer.ask.expect}"
                    )
            for detection in entry.detections:
                if detection.seconds is None:
                    d = detection.detect
                    self.problems.append(f"{d.tool} {d.version}: no {d.code} verdict in time")
            for subject in entry.missing_alerts:
                self.problems.append(f"no alert mail about {subject!r}")
            if entry.step.malicious and entry.verdict not in ("deny", "would-deny"):
                self.problems.append(f"{entry.step.title}: not denied ({entry.verdict})")
        for tool, version in sorted({*self.scenario.exposed, *self.exposure}):
            expected = self.scenario.exposed.get((tool, version), frozenset())
            named = {runner.runner for runner in self.exposure.get((tool, version), [])}
            if named != expected:
                self.problems.append(
                    f"exposure of {tool} {version} names {sorted(named) or 'nobody'}, "
                    f"expected {sorted(expected)}"
                )
