"""Play a scenario against a real `toolgate serve`: change the fake upstream at each step, have
runners ask the decision API, wait for the daemon's verdicts and alert mails, then read the
exposure it reports and write the report files.

toolgate runs on the real clock; the scenario's times are simulated and only set the pace
(`speed` simulated seconds per real second; a quiet stretch between two steps lasts at most
`MAX_PAUSE` real seconds). Reaction times are measured on the real clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from verifier.demo.claims import ClaimAudit
from verifier.demo.client import DaemonClient
from verifier.demo.results import Alert, Answer, DemoResult, Detection, Entry
from verifier.demo.scenario import TRIVY_2026, Ask, Detect, Scenario, Step, commit_sha
from verifier.demo.stack import Stack, demo_template
from verifier.demo.world import World
from verifier.reports import FORMATS, KINDS, render
from verifier.store.engine import create_store_engine
from verifier.tokens import Scope

OBSERVER = "demo-observer"  # a read token: watching verdicts must not look like fetching
DETECT_TIMEOUT = 30.0
ALERT_TIMEOUT = 20.0
MAX_PAUSE = 1.0  # real seconds between two steps, whatever the simulated gap (days, at most)
STRAGGLERS = 0.6  # seconds to wait for more alert mails after the expected ones arrived
# Every report kind is kept in every format, named KIND.SUFFIX
REPORT_SUFFIXES = {fmt: fmt for fmt in FORMATS} | {"cyclonedx": "cdx.json"}


class Replay:
    """The runners and the observer of one scenario on one started stack."""

    def __init__(self, stack: Stack, world: World, scenario: Scenario) -> None:
        self.stack = stack
        self.world = world
        self.scenario = scenario
        teams = sorted(
            {ask.team for step in scenario.steps for ask in (*step.asks, *step.first_sight)}
        )
        scopes = {team: {Scope.CHECK} for team in teams} | {OBSERVER: {Scope.READ}}
        self.tokens = stack.tokens(scopes)
        self.client = DaemonClient(stack.daemon.url, self.tokens[OBSERVER])
        self._jobs = 0

    def close(self) -> None:
        self.client.close()

    def wait_for(self, detect: Detect, since: float) -> Detection:
        known = self.client.wait_for(detect.tool, detect.version, detect.code, DETECT_TIMEOUT)
        seconds = None if known is None else time.monotonic() - since
        return Detection(detect, seconds, known["decision"] if known else None)

    def settle(self) -> list[Detection]:
        """Wait until the daemon's first poll has verified what the timeline starts from."""
        start = time.monotonic()
        return [
            self.wait_for(Detect(tool, version, "allow"), start)
            for tool, version in self.scenario.settled
        ]

    def ask(self, ask: Ask, since: float, *, first_sight: bool = False) -> Answer:
        """One runner's request, as a pipeline step makes it before fetching."""
        version = commit_sha(ask.commit) if ask.commit else ask.version
        params = {}
        if ask.asset:
            params["asset"] = self.world.asset_name(ask.asset, version)
            params["sha256"] = self.world.digest(ask.asset, version)
        self._jobs += 1
        body = self.client.decide(
            self.tokens[ask.team],
            ask.tool,
            version,
            runner=ask.runner,
            job=f"https://ci.example.org/{ask.team}/jobs/{self._jobs}",
            **params,
        )
        seconds = time.monotonic() - since
        codes = tuple(reason["code"] for reason in body["reasons"])
        # The API does not say would-deny: a warn for any reason but an advisory is one (in
        # enforce mode only advisories warn by themselves).
        would_deny = body["decision"] == "warn" and any(c != "advisory" for c in codes)
        return Answer(ask, version, body["decision"], codes, would_deny, first_sight, seconds)

    # ---- one step -----------------------------------------------------------------------------

    def play(self, step: Step) -> Entry:
        mail_before = len(self.stack.mailbox.mail)
        entry = Entry(step, datetime.now(UTC))
        since = time.monotonic()
        for action in step.actions:
            self.world.apply(action)
        entry.answers += [self.ask(ask, since, first_sight=True) for ask in step.first_sight]
        entry.detections += [self.wait_for(detect, since) for detect in step.detect]
        entry.answers += [self.ask(ask, since) for ask in step.asks]
        if step.alerts:
            mail = self.stack.mailbox.wait_for(
                *step.alerts, timeout=ALERT_TIMEOUT, start=mail_before
            )
            subjects = [m.subject for m in mail]
            entry.missing_alerts = [n for n in step.alerts if not any(n in s for s in subjects)]
            time.sleep(STRAGGLERS)
        recipients: dict[str, tuple[str, ...]] = {}
        for mail in self.stack.mailbox.mail[mail_before:]:
            recipients[mail.subject] = recipients.get(mail.subject, ()) + mail.recipients
        entry.alerts = [Alert(subject, to) for subject, to in recipients.items()]
        return entry


def run_demo(
    directory: Path,
    *,
    speed: float,
    scenario: Scenario = TRIVY_2026,
    on_entry: Callable[[Entry], None] | None = None,
    on_status: Callable[[str], None] | None = None,
) -> DemoResult:
    """Replay `scenario` in `directory` (which keeps the configuration, the store, the mails,
    the daemon's log, `timeline.json` and the reports) and judge it."""
    status = on_status or (lambda _message: None)
    started = time.monotonic()
    result = DemoResult(scenario)
    stack = Stack(directory).start()
    try:
        world = World(stack.github, stack.feeds, stack.authority)
        status("building upstream: signed trivy releases, action tags, the demo signing authority")
        for action in scenario.prelude:
            world.apply(action)
        stack.configure(demo_template())
        replay = Replay(stack, world, scenario)
        claims = ClaimAudit(DaemonClient(stack.daemon.url, replay.tokens[OBSERVER]))
        stack.mailbox.check = claims  # every alert's claim, checked against the daemon's answer
        try:
            status("starting toolgate serve (first poll verifies what is upstream)")
            stack.daemon.start()
            for detection in replay.settle():
                if detection.seconds is None:
                    d = detection.detect
                    result.problems.append(
                        f"{d.tool} {d.version} was not allowed after the first poll"
                    )
            due = time.monotonic()
            for step, pause in zip(scenario.steps, pauses(scenario, speed), strict=True):
                due += pause
                time.sleep(max(0.0, due - time.monotonic()))
                entry = replay.play(step)
                result.entries.append(entry)
                if on_entry:
                    on_entry(entry)
            status("reading the exposure report")
            time.sleep(0.3)  # the daemon writes its audit trail every 100 ms
            asked = {(a.ask.tool, a.version) for e in result.entries for a in e.answers}
            for tool, version in sorted(asked):
                decision, runners = replay.client.exposure(tool, version)
                if runners and decision != "allow":  # fetched, and not allowed any more
                    result.exposure[(tool, version)] = runners
            result.problems += [f"an alert claimed what was false: {v}" for v in claims.violations]
        finally:
            replay.close()
            claims.client.close()
            stack.daemon.stop()
        write_reports(stack, directory / "reports")
        timeline = directory / "timeline.json"
        timeline.write_text(json.dumps([e.to_dict() for e in result.entries], indent=1) + "\n")
    finally:
        stack.stop()
    result.seconds = time.monotonic() - started
    result.check()
    return result


def pauses(scenario: Scenario, speed: float) -> list[float]:
    """The real seconds between one step and the next (0 before the first): the simulated gap
    at `speed`, at most `MAX_PAUSE`. A step that runs late eats into the pauses after it."""
    steps = scenario.steps
    gaps = [(later.at - earlier.at).total_seconds() for earlier, later in pairwise(steps)]
    return [0.0, *(min(gap / speed, MAX_PAUSE) for gap in gaps)]


def write_reports(stack: Stack, directory: Path) -> None:
    """toolgate's own reports of the store as the replay left it."""
    assert stack.config is not None
    directory.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(stack.config.store_url)
    try:
        now = datetime.now(UTC)
        for kind in KINDS:
            for fmt in FORMATS:
                report = render(kind, fmt, engine, stack.config, now)
                (directory / f"{kind}.{REPORT_SUFFIXES[fmt]}").write_bytes(report)
    finally:
        engine.dispose()
