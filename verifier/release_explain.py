"""Why a release is answered as it is: its evidence, the baseline it was compared with (and
which release each part of that baseline came from), and the decision now."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlmodel import Session

from verifier.errors import NotFoundError
from verifier.evidence_baseline import load_baseline
from verifier.policy import Query
from verifier.snapshot import Snapshot
from verifier.store.models import ReleaseRow
from verifier.versioning import canonical_version


def explain_release(engine: Engine, snapshot: Snapshot, tool: str, version: str) -> dict[str, Any]:
    """The explanation of `tool version` as a JSON-ready dict; NotFoundError if unknown."""
    wanted = canonical_version(version)
    with Session(engine) as session:
        rows = session.scalars(select(ReleaseRow).where(ReleaseRow.tool == tool)).all()
        row = next((r for r in rows if canonical_version(r.version) == wanted), None)
        if row is None:
            raise NotFoundError(
                f"no release {version} of {tool} is recorded (see `toolgate tools {tool}`)"
            )
        baseline = load_baseline(session, tool)
    evidence = orjson.loads(row.evidence_json or "{}")
    decision = snapshot.answer(Query(tool, row.version)).decision
    compared = evidence.get("baseline")
    if compared is None:
        note = (
            "it set the tool's evidence baseline (its first verified release)"
            if baseline is not None and baseline.version == row.version
            else "not compared with a baseline (its verification did not get that far)"
        )
    else:
        note = f"compared with the baseline as of {compared['version']}"
    return {
        "tool": tool,
        "version": row.version,
        "status": row.status,
        "decision": decision.outcome,
        "reasons": [reason.to_dict() for reason in decision.reasons],
        "evidence": evidence.get("profile"),
        "compared_with": compared,
        "comparison": note,
        "baseline_now": baseline.to_dict() if baseline is not None else None,
        "attestations": evidence.get("attestations") or {},
        "signatures": evidence.get("signatures") or {},
    }
