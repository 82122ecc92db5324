"""Claims through the real daemon: an alert that is no longer true when it is due is not sent as
written. A version denied and alerted, then approved by an operator, then fetched by a runner
(new exposure of the still-open incident): no second DENY, one resolution note instead."""

from __future__ import annotations

import time

from typer.testing import CliRunner

from tests.e2e.conftest import codes
from verifier.cli import app
from verifier.demo.scenario import LINUX_64, TRIVY, commit_sha


def with_short_grace(text: str) -> str:
    return text.replace('poll_interval = "1s"\n', 'poll_interval = "1s"\nupload_grace = "2s"\n', 1)


def test_an_alert_about_a_version_approved_meanwhile_becomes_one_resolution_note(e2e):
    run = e2e(with_short_grace)
    run.start()
    run.wait_for("trivy", "v0.69.3", "allow")
    run.world.release(TRIVY, "v0.69.4", commit_sha("trivy-0.69.3"), signed=False)
    run.wait_for("trivy", "v0.69.4", "unsigned")
    run.stack.mailbox.wait_for("DENY trivy v0.69.4")
    assert codes(run.ask("trivy", "0.69.4")) == ["unsigned"]

    digest = run.world.digest(LINUX_64, "0.69.4")
    approved = CliRunner().invoke(
        app,
        ["approve", "trivy", "0.69.4", "--sha256", digest, "--reason", "signed out of band",
         "--config", str(run.stack.config_path)],
    )  # fmt: skip
    assert approved.exit_code == 0, approved.output
    run.wait_for("trivy", "v0.69.4", "allow")
    assert run.ask("trivy", "0.69.4", runner="runner-late")["decision"] == "allow"

    notes = run.stack.mailbox.wait_for("RESOLVED trivy v0.69.4", timeout=20)
    time.sleep(2.0)  # two exposure checks more: nothing else may follow
    about = [m.subject for m in run.mail if "trivy v0.69.4" in m.subject]
    assert [s.split(" ")[0] for s in about] == ["DENY", "RESOLVED"], about
    assert "now answered allow" in about[1]
    (note,) = [m for m in notes if m.subject.startswith("RESOLVED")]
    assert "Rotate every credential" not in note.text() and "runner-late" not in note.text()
    assert run.claims.checked >= 2 and run.claims.violations == []
