"""`toolgate scan`: find every tool a pipeline fetches, compare it with the inventory and policy.

One module a job: `walk` finds workflow files, `parse` reads YAML with positions, `extract`
and `shell` turn documents into references, `assess` judges them, `fix` pins tags in place,
`sarif`/`report` render, `suggest` drafts inventory entries. `scan` wires them together.
"""

from __future__ import annotations

from verifier.scan.model import Finding, Location, Reference, ScanResult
from verifier.scan.rules import RULES, SEVERITIES

__all__ = ["RULES", "SEVERITIES", "Finding", "Location", "Reference", "ScanResult"]
