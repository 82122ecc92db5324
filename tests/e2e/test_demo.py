"""`toolgate demo` itself, as a user runs it: a subprocess, offline, judged by its exit code,
its summary and the files it keeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from typer.testing import CliRunner

from verifier.cli import app
from verifier.reports import KINDS

# Any request that is not to loopback goes to this unroutable proxy and fails the demo; with no
# NO_PROXY given, the demo must keep its own loopback traffic away from the proxy by itself.
OFFLINE = {
    "HTTP_PROXY": "http://192.0.2.1:9",
    "HTTPS_PROXY": "http://192.0.2.1:9",
    "ALL_PROXY": "http://192.0.2.1:9",
    "COLUMNS": "160",
}


def test_the_demo_denies_every_malicious_event_and_names_the_exposed_runners(tmp_path: Path):
    keep = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "demo", "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=150,
        env={k: v for k, v in os.environ.items() if k.lower() != "no_proxy"} | OFFLINE,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "✓ every malicious event was denied and the exposed runners were named" in out
    exposed = "gha-data-03, gha-data-04, gha-payments-08, gl-payments-07"
    assert f"Runners exposed before the advisory: 4 ({exposed})" in out
    assert "trivy v0.69.4: commit-not-on-branch after" in out
    for row in ("trivy-action tags moved", "setup-trivy tags replaced", "trivy v0.69.4 release"):
        assert row in out

    for kept in ("config.toml", "trusted_root.json", "state/toolgate.db", "toolgate.log"):
        assert (keep / kept).is_file(), kept
    timeline = json.loads((keep / "timeline.json").read_text())
    answers = [a for step in timeline for a in step["answers"]]
    assert answers and all(a["decision"] == a["expected"] for a in answers)
    malicious = [a for step in timeline if step["malicious"] for a in step["answers"]]
    assert {a["decision"] for a in malicious if a["expected"] != "allow"} <= {"deny", "warn"}

    subjects = [
        message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"]
        for path in sorted((keep / "mail").glob("*.eml"))
    ]
    assert any(s.startswith("DENY trivy v0.69.4 — failed verification") for s in subjects)
    advisory = [s for s in subjects if "GHSA-69fq-xp46-6x23" in s and "setup-trivy v0.2.5" in s]
    assert advisory and all("2 runners fetched it" in s for s in advisory)

    exposure = (keep / "reports" / "exposure.md").read_text()
    for runner in exposed.split(", "):
        assert runner in exposure
    assert "gha-platform-01" not in exposure  # it fetched only what stayed allowed
    assert (keep / "reports" / "inventory.html").read_text().startswith("<!")
    for kind in KINDS:  # every report kind in every format, from the demo's store
        for suffix in ("json", "csv", "md", "html"):
            assert (keep / "reports" / f"{kind}.{suffix}").stat().st_size > 0, (kind, suffix)
        bom = (keep / "reports" / f"{kind}.cdx.json").read_text()
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None, kind


def test_the_demo_will_not_run_in_a_directory_with_something_in_it(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 2
    assert "new or empty directory" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
