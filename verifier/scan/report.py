"""The JSON form of a scan, and the rows its table shows."""

from __future__ import annotations

from typing import Any

from verifier.scan.model import Finding, Location, Reference, ScanResult


def to_json(result: ScanResult, exit_code: int) -> dict[str, Any]:
    """Every reference and finding, with a summary; stable keys (version 1)."""
    by_severity: dict[str, int] = {}
    for finding in result.findings:
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
    return {
        "version": 1,
        "roots": list(result.roots),
        "files": list(result.files),
        "references": [reference_json(r) for r in result.references],
        "findings": [finding_json(f) for f in result.findings],
        "summary": {
            "files": len(result.files),
            "references": len(result.references),
            "findings": len(result.findings),
            "by_severity": by_severity,
            "not_checked": result.not_checked,
            "exit_code": exit_code,
        },
    }


def _location(location: Location) -> dict[str, Any]:
    return {"path": location.path, "line": location.line, "column": location.column}


def reference_json(reference: Reference) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": reference.kind,
        "subject": reference.subject,
        "ref": reference.ref,
        "pin": reference.pin,
        "location": _location(reference.location),
        "text": reference.text,
    }
    for key in ("repo", "comment", "asset", "via"):
        if (value := getattr(reference, key)) is not None:
            out[key] = value
    return out


def finding_json(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity,
        "message": finding.message,
        "fix": finding.fix,
        "location": _location(finding.location),
    }
    if finding.reasons:
        out["reasons"] = list(finding.reasons)
    if finding.reference is not None:
        out["subject"] = finding.reference.subject
        out["ref"] = finding.reference.ref
    if finding.pin_fix is not None:
        out["pin"] = {"commit": finding.pin_fix.commit, "tag": finding.pin_fix.tag}
    return out
