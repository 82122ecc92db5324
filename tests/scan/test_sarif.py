"""SARIF output validates against the official SARIF 2.1.0 JSON schema and carries what GitHub
code scanning reads: rule ids and severities, levels, relative URIs, line/column, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.scan.conftest import CORPUS, ScanRig
from tests.scan.test_corpus import prepare

# Vendored verbatim from the `schemastore` package's cache (json.schemastore.org/sarif-2.1.0.json,
# whose $id is the OASIS sarif-schema-2.1.0.json); see tests/scan/README.md.
SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())


@pytest.mark.parametrize("case", sorted(p.name for p in CORPUS.iterdir() if p.is_dir()))
def test_sarif_validates_against_the_schema(rig: ScanRig, case: str):
    tree = prepare(rig, case)
    out = rig.tmp_path / f"{case}.sarif"
    code, stdout = rig.run(str(tree), "--format", "sarif", "-o", str(out))
    log = json.loads(out.read_text())
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    assert stdout == ""
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert all("security-severity" in rule["properties"] for rule in rules)
    assert all(
        rule["defaultConfiguration"]["level"] in ("error", "warning", "note") for rule in rules
    )
    ids = [rule["id"] for rule in rules]
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        assert not uri.startswith("/") and (tree / uri).exists()
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    fingerprints = [r["partialFingerprints"]["toolgateFinding/v1"] for r in run["results"]]
    assert len(fingerprints) == len(set(fingerprints))
    assert code in (0, 1, 3)


def test_an_invalid_log_is_rejected_by_the_schema():
    """The schema is real: a result without a message fails."""
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(log)


def test_fingerprints_survive_a_line_move(rig: ScanRig):
    tree = rig.tree("trivy-scan")
    _, first = rig.run(str(tree), "--format", "sarif")
    path = tree / ".github/workflows/security.yml"
    path.write_text("# a new first line\n" + path.read_text())
    _, second = rig.run(str(tree), "--format", "sarif")

    def prints(raw: str) -> list[str]:
        return [
            r["partialFingerprints"]["toolgateFinding/v1"]
            for r in json.loads(raw)["runs"][0]["results"]
        ]

    assert prints(first) == prints(second)
