"""`--fix`: only verified tag refs change, each on its own line, nothing else; a second run
changes nothing."""

from __future__ import annotations

import difflib
from pathlib import Path

from tests.scan.conftest import ACTION_0331_FIRST, SETUP_022, ScanRig
from verifier.scan.fix import apply, plan
from verifier.scan.model import Finding, Location, PinFix, Reference, Span

WORKFLOW = ".github/workflows/security.yml"


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(removed, added) line pairs of a diff that must be line-for-line."""
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    removed = [line[1:] for line in diff if line.startswith("-")]
    added = [line[1:] for line in diff if line.startswith("+")]
    assert len(removed) == len(added)
    return list(zip(removed, added, strict=True))


def test_fix_pins_only_the_verified_tag(rig: ScanRig):
    tree = rig.tree("trivy-scan")
    path = tree / WORKFLOW
    before = path.read_bytes()
    code, _ = rig.run(str(tree), "--fix", "--format", "json")
    after = path.read_bytes()
    assert changed_lines(before.decode(), after.decode()) == [
        (
            "        uses: aquasecurity/setup-trivy@v0.2.2\n",
            f"        uses: aquasecurity/setup-trivy@{SETUP_022} # v0.2.2\n",
        )
    ]
    # trivy-action 0.33.1 moved and is not approved: never rewritten; findings remain
    assert b"aquasecurity/trivy-action@0.33.1" in after
    assert code == 1
    # idempotent: the second run finds nothing more to fix
    rig.run(str(tree), "--fix", "--format", "json")
    assert path.read_bytes() == after


def test_fix_keeps_crlf_bom_quotes_and_comments_byte_for_byte(rig: ScanRig, tmp_path: Path):
    tree = tmp_path / "crlf"
    workflows = tree / ".github" / "workflows"
    workflows.mkdir(parents=True)
    text = (
        "\ufeffon: push\r\n"
        "jobs:\r\n"
        "  a:\r\n"
        "    runs-on: ubuntu-latest  # trailing   spaces stay\r\n"
        "    steps:\r\n"
        "      - uses: 'aquasecurity/setup-trivy@v0.2.2'   # keep me\r\n"
        '      - {uses: "aquasecurity/setup-trivy@v0.2.2", with: {version: v0.69.3}}\r\n'
        "      - uses: aquasecurity/setup-trivy@v0.2.2\r\n"
    )
    (workflows / "w.yml").write_bytes(text.encode())
    rig.run(str(tree), "--fix")
    after = (workflows / "w.yml").read_bytes().decode()
    assert after == text.replace(
        "'aquasecurity/setup-trivy@v0.2.2'   # keep me",
        f"'aquasecurity/setup-trivy@{SETUP_022}' # v0.2.2   # keep me",
    ).replace(
        "      - uses: aquasecurity/setup-trivy@v0.2.2\r\n",
        f"      - uses: aquasecurity/setup-trivy@{SETUP_022} # v0.2.2\r\n",
    )  # the flow mapping goes on after the value on its line: left alone


def test_plan_refuses_a_span_that_does_not_read_as_expected():
    text = "steps:\n  - uses: actions/checkout@v4\n"
    start = text.index("actions/")
    reference = Reference(
        "action",
        "actions/checkout",
        "v4",
        "tag",
        Location("w.yml", 2, 11),
        "actions/checkout@v4",
        span=Span(start, start + len("actions/checkout@v4")),
    )
    good = Finding(
        "unpinned-action",
        "medium",
        "m",
        "f",
        reference.location,
        reference,
        pin_fix=PinFix("a" * 40, "v4"),
    )
    assert apply(text, plan(text, [good])) == text.replace("@v4", f"@{'a' * 40} # v4")
    wrong_tag = Finding(
        "unpinned-action",
        "medium",
        "m",
        "f",
        reference.location,
        reference,
        pin_fix=PinFix("a" * 40, "v3"),
    )
    assert plan(text, [wrong_tag]) == []
    assert plan("x" * len(text), [good]) == []


def test_a_moved_tag_is_pinned_back_to_the_commit_toolgate_first_saw(rig: ScanRig):
    """With 0.33.1 approved, the tag (moved) is denied but its first-seen commit is allowed:
    --fix pins that commit, and the report is of the fixed file (no tag finding is left)."""
    config = rig.config.source_path
    config.write_text(
        config.read_text().replace('versions = [">=0.35.0"]', 'versions = [">=0.33"]')
    )
    tree = rig.tree("trivy-scan")
    path = tree / WORKFLOW
    before = path.read_text()
    code, report = rig.json(str(tree), "--fix")
    assert changed_lines(before, path.read_text()) == [
        (
            "        uses: aquasecurity/setup-trivy@v0.2.2\n",
            f"        uses: aquasecurity/setup-trivy@{SETUP_022} # v0.2.2\n",
        ),
        (
            "        uses: aquasecurity/trivy-action@0.33.1\n",
            f"        uses: aquasecurity/trivy-action@{ACTION_0331_FIRST} # 0.33.1\n",
        ),
    ]
    action = [f for f in report["findings"] if f.get("subject") == "aquasecurity/trivy-action"]
    assert action == []  # the first-seen commit of a verified release: nothing to say
    assert code == 1  # other findings remain (trivy 0.69.4, images, …)
