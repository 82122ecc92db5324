"""SARIF 2.1.0 for GitHub code scanning: one run, the rule catalogue, one result per finding."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from verifier import __version__
from verifier.scan.model import Finding, ScanResult, Severity
from verifier.scan.rules import RULES, SECURITY_SEVERITY

SCHEMA = (
    "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
)
_LEVEL: dict[Severity, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """The SARIF log of `result`; URIs are relative to the scanned root (`%SRCROOT%`)."""
    rule_ids = list(RULES)
    seen: Counter[str] = Counter()
    results = []
    for finding in result.findings:
        key = _fingerprint_key(finding)
        seen[key] += 1
        results.append(_result(finding, rule_ids.index(finding.rule), key, seen[key]))
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "toolgate",
                        "version": __version__,
                        "rules": [_rule(rule_id) for rule_id in rule_ids],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "scanned root"}}},
                "results": results,
            }
        ],
    }


def _rule(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": rule.help},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "supply-chain"],
            "precision": "high",
        },
    }


def _fingerprint_key(finding: Finding) -> str:
    # Stable across line moves: what is referenced, not where.
    reference = finding.reference
    what = reference.text if reference else finding.message
    return f"{finding.rule}\0{finding.location.path}\0{what}"


def _result(finding: Finding, rule_index: int, key: str, occurrence: int) -> dict[str, Any]:
    fingerprint = hashlib.sha256(f"{key}\0{occurrence}".encode()).hexdigest()
    properties: dict[str, Any] = {
        "severity": finding.severity,
        "security-severity": SECURITY_SEVERITY[finding.severity],
        "fix": finding.fix,
    }
    if finding.reasons:
        properties["reasons"] = list(finding.reasons)
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.location.path, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": finding.location.line,
                        "startColumn": finding.location.column,
                    },
                }
            }
        ],
        "partialFingerprints": {"toolgateFinding/v1": fingerprint},
        "properties": properties,
    }
