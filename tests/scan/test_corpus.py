"""The corpus: realistic pipelines scanned end to end through the CLI, compared exactly with
the expected tables in each case's expected.json (references and findings)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.scan.conftest import CORPUS, ScanRig

CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
REGENERATE = os.environ.get("TOOLGATE_SCAN_REGENERATE") == "1"  # then review the diff by eye


def tables(report: dict) -> dict[str, list[list]]:
    """The report as the rows expected.json holds."""

    def where(item: dict) -> str:
        loc = item["location"]
        return f"{loc['path']}:{loc['line']}:{loc['column']}"

    return {
        "references": [
            [where(r), r["kind"], r["subject"], r["ref"], r["pin"], r.get("comment")]
            for r in report["references"]
        ],
        "findings": [
            [where(f), f["rule"], f["severity"], f.get("subject"), f.get("reasons", [])]
            for f in report["findings"]
        ],
    }


def prepare(rig: ScanRig, case: str) -> Path:
    tree = rig.tree(case)
    if case == "bad-input":
        outside = rig.tmp_path / "outside.yml"
        outside.write_text("jobs: {x: {steps: [{uses: evil/exfiltrate@main}]}}\n")
        (tree / ".github/workflows/escape.yml").symlink_to(outside)
        huge = "on: push\n" + "# padding line of a generated workflow\n" * 40_000
        (tree / ".github/workflows/huge.yml").write_text(huge)
    return tree


@pytest.mark.parametrize("case", CASES)
def test_corpus_case_matches_expected_tables(rig: ScanRig, case: str):
    tree = prepare(rig, case)
    code, report = rig.json(str(tree))
    got = {"exit_code": code, **tables(report)}
    expected_path = CORPUS / case / "expected.json"
    if REGENERATE:
        expected_path.write_text(json.dumps(got, indent=1) + "\n")
    expected = json.loads(expected_path.read_text())
    assert got["references"] == expected["references"]
    assert got["findings"] == expected["findings"]
    assert got["exit_code"] == expected["exit_code"]
    assert report["summary"]["exit_code"] == code
