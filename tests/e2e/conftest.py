"""End-to-end rig: the demo's loopback world (fake GitHub, advisory feeds, mail sink, demo
signing authority) with the demo's upstream prelude, and a real `toolgate serve` subprocess
that can be stopped and started again on the same store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verifier.demo.claims import ClaimAudit
from verifier.demo.client import DaemonClient
from verifier.demo.mailbox import Mail
from verifier.demo.scenario import TRIVY_2026
from verifier.demo.stack import Stack, demo_template
from verifier.demo.world import World
from verifier.tokens import Scope

RUNNER = "runner-1"


def codes(body: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in body["reasons"]]


@dataclass
class E2E:
    """One daemon on one store, its upstream world and its mailbox."""

    stack: Stack
    world: World
    token: str
    client: DaemonClient
    claims: ClaimAudit

    @property
    def mail(self) -> list[Mail]:
        return self.stack.mailbox.mail

    def start(self) -> None:
        self.stack.daemon.start()

    def stop(self) -> None:
        assert self.stack.daemon.stop() == 0, "toolgate serve did not exit 0 on SIGTERM"

    def restart(self) -> None:
        self.stop()
        self.start()

    def ask(self, tool: str, version: str, runner: str = RUNNER, **params: str) -> dict[str, Any]:
        return self.client.decide(
            self.token,
            tool,
            version,
            runner=runner,
            job=f"https://ci.example.org/{runner}",
            **params,
        )

    def sent(self, quiet: float = 1.0) -> list[tuple[str, tuple[str, ...]]]:
        """Every mail so far as (subject, recipients), once none arrived for `quiet` seconds."""
        while True:
            count = len(self.mail)
            time.sleep(quiet)
            if len(self.mail) == count:
                return [(m.subject, m.recipients) for m in self.mail]

    def wait_for(self, tool: str, version: str, code: str) -> dict[str, Any]:
        verdict = self.client.wait_for(tool, version, code, timeout=30)
        assert verdict is not None, f"{tool} {version}: no {code} verdict within 30s"
        return verdict


@pytest.fixture
def e2e(tmp_path: Path) -> Iterator[Callable[..., E2E]]:
    """`e2e(edit)`: the demo's prelude upstream and a daemon (not started yet) on the demo's
    configuration, changed by `edit` (TOML text in, TOML text out)."""
    made: list[E2E] = []

    def make(edit: Callable[[str], str] = lambda text: text) -> E2E:
        stack = Stack(tmp_path / f"toolgate-{len(made)}").start()
        world = World(stack.github, stack.feeds, stack.authority)
        for action in TRIVY_2026.prelude:
            world.apply(action)
        stack.configure(edit(demo_template()))
        tokens = stack.tokens({"ci": {Scope.CHECK}, "observer": {Scope.READ}})
        client = DaemonClient(stack.daemon.url, tokens["observer"])
        claims = ClaimAudit(DaemonClient(stack.daemon.url, tokens["observer"]))
        stack.mailbox.check = claims  # every alert's claim, checked as it arrives
        run = E2E(stack, world, tokens["ci"], client, claims)
        made.append(run)
        return run

    yield make
    for run in made:
        run.client.close()
        run.stack.stop()
        run.claims.client.close()
    violations = [v for run in made for v in run.claims.violations]
    assert violations == [], "alerts whose claim was false when sent"
