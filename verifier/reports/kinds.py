"""The report kinds: which data each collects, and the tables and document it shows.

- `inventory`: every tool and known version, its decision now and why; overrides.
- `verification`: how each version was verified: signer, source commit, digests, pins.
- `advisories`: advisories matched to inventory versions, with their weight or waiver.
- `exposure`: versions not allowed now that runners were allowed to fetch, and by whom.
- `audit`: the decisions and operator actions of the last seven days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from verifier.config import Config
from verifier.exposure import ADVICE
from verifier.policy import Override, Reason
from verifier.reports.collect import (
    collect_audit,
    collect_exposure,
    collect_inventory,
    report_snapshot,
)
from verifier.reports.model import Inventory, VersionReport
from verifier.reports.report import SCHEMA, Report, Table, cell, iso


def _reasons(reasons: Iterable[Reason]) -> str:
    return "; ".join(
        reason.code + (f": {reason.found}" if reason.found else "") for reason in reasons
    )


def _versions(inventory: Inventory) -> Iterable[VersionReport]:
    return (version for tool in inventory.tools for version in tool.versions)


def _header(kind: str, title: str, inventory: Inventory) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "kind": kind,
        "title": title,
        "generated_at": iso(inventory.generated_at),
        "policy_revision": inventory.policy_revision,
    }


def _override_row(tool: str, o: Override) -> tuple[str, ...]:
    target = o.version or (f"sha256 {o.sha256}" if o.sha256 else "")
    target = target or (f"commit {o.commit}" if o.commit else "every version")
    return tuple(
        cell(v) for v in (tool, o.id, o.kind, o.advisory, target, o.reason, o.actor, o.expires_at)
    )


def _overrides_table(inventory: Inventory) -> Table:
    rows = tuple(_override_row(t.name, o) for t in inventory.tools for o in t.overrides)
    columns = ("tool", "id", "kind", "advisory", "applies to", "reason", "by", "expires")
    return Table("Active approvals, blocks and waivers", columns, rows)


def inventory_report(inventory: Inventory) -> Report:
    """Tools, each version's decision and reasons, and the overrides in force."""
    title = "toolgate inventory"
    outcomes = Counter(v.decision for v in _versions(inventory))

    def tables() -> tuple[Table, ...]:
        tools = Table(
            "Tools",
            ("tool", "source", "kind", "mode", "approved", "newest allowed", "versions", "denied"),
            tuple(
                (
                    t.name,
                    t.source,
                    t.kind,
                    t.mode,
                    ", ".join(t.approved) or "any verified version",
                    cell(t.newest_allowed),
                    str(len(t.versions)),
                    str(sum(1 for v in t.versions if v.decision == "deny")),
                )
                for t in inventory.tools
            ),
        )
        versions = Table(
            "Versions",
            ("tool", "version", "status", "decision", "reasons", "sha256", "first seen"),
            tuple(
                (
                    v.tool,
                    v.version,
                    v.status,
                    v.decision,
                    _reasons(v.reasons),
                    " ".join(f"{a.name}={a.sha256}" for a in v.assets),
                    cell(v.first_seen_at),
                )
                for v in _versions(inventory)
            ),
        )
        return versions, tools, _overrides_table(inventory)

    return Report(
        kind="inventory",
        title=title,
        generated_at=inventory.generated_at,
        policy_revision=inventory.policy_revision,
        summary=(
            ("tools", str(len(inventory.tools))),
            ("versions", str(sum(outcomes.values()))),
            *((f"{outcome}", str(outcomes[outcome])) for outcome in ("allow", "warn", "deny")),
        ),
        make_tables=tables,
        document={**_header("inventory", title, inventory), "tools": inventory.tools},
        inventory=inventory,
    )


_VERIFICATION_COLUMNS = (
    "tool",
    "version",
    "status",
    "decision",
    "asset",
    "sha256",
    "size",
    "checksum source",
    "published digest",
    "pinned at",
    "signer",
    "issuer",
    "source commit",
    "source branch",
    "rekor log index",
    "signed at",
    "tag",
    "tag first commit",
    "tag commit now",
)


def _verification_rows(version: VersionReport) -> Iterable[tuple[str, ...]]:
    signatures = {s.asset: s for s in version.signatures}
    pin = version.tag_pin
    tag = (pin.tag, pin.commit, pin.current_commit) if pin else ("", "", "")
    for asset in version.assets or (None,):
        sig = signatures.get(asset.name) if asset else None
        yield tuple(
            cell(value)
            for value in (
                version.tool,
                version.version,
                version.status,
                version.decision,
                asset and asset.name,
                asset and asset.sha256,
                asset and asset.size,
                asset and asset.checksum_source,
                asset and asset.published_digest,
                asset and asset.first_seen_at,
                sig and sig.signer,
                sig and sig.issuer,
                (sig and sig.source_commit) or version.commit,
                version.source_branch,
                sig and sig.rekor_log_index,
                sig and sig.integrated_time,
                *tag,
            )
        )


def verification_report(inventory: Inventory) -> Report:
    """How each version was verified: one row per verified file (or per version without one)."""
    title = "toolgate verification evidence"
    baselines = Table(
        "Evidence baselines (last accepted release)",
        ("tool", "version", "signed", "checksums", "attested", "signer", "accepted by", "reason"),
        tuple(
            tuple(
                cell(x)
                for x in (
                    t.name,
                    b.version,
                    b.signed,
                    b.checksums,
                    b.attested,
                    b.signer,
                    b.accepted_by,
                    b.reason,
                )
            )
            for t in inventory.tools
            if (b := t.baseline) is not None
        ),
    )
    statuses = Counter(v.status for v in _versions(inventory))
    document = {
        **_header("verification", title, inventory),
        "tools": [
            {
                "name": t.name,
                "source": t.source,
                "baseline": t.baseline,
                "versions": [
                    {
                        "version": v.version,
                        "status": v.status,
                        "decision": v.decision,
                        "first_seen_at": v.first_seen_at,
                        "verified_at": v.verified_at,
                        "commit": v.commit,
                        "source_branch": v.source_branch,
                        "assets": v.assets,
                        "signatures": v.signatures,
                        "attestations": v.attestations,
                        "tag_pin": v.tag_pin,
                        "release_url": v.release_url,
                    }
                    for v in t.versions
                ],
            }
            for t in inventory.tools
        ],
    }
    return Report(
        kind="verification",
        title=title,
        generated_at=inventory.generated_at,
        policy_revision=inventory.policy_revision,
        summary=tuple((status, str(count)) for status, count in sorted(statuses.items())),
        make_tables=lambda: (
            Table(
                "Verification evidence",
                _VERIFICATION_COLUMNS,
                tuple(row for v in _versions(inventory) for row in _verification_rows(v)),
            ),
            baselines,
            Table(
                "Attestations (verified)",
                _ATTESTATION_COLUMNS,
                tuple(
                    tuple(
                        cell(x)
                        for x in (
                            v.tool,
                            v.version,
                            a.asset,
                            a.predicate_type,
                            a.signer,
                            a.source_commit,
                            a.rekor_log_index,
                            a.integrated_time,
                        )
                    )
                    for v in _versions(inventory)
                    for a in v.attestations
                ),
            ),
        ),
        document=document,
        inventory=inventory,
    )


_ATTESTATION_COLUMNS = (
    "tool",
    "version",
    "asset",
    "predicate type",
    "signer",
    "source commit",
    "rekor log index",
    "logged at",
)


def advisories_report(inventory: Inventory) -> Report:
    """Each advisory matched to an inventory version, and what it does to the decision."""
    title = "toolgate advisories"
    matches = [(v, a) for v in _versions(inventory) for a in v.advisories]
    columns = ("tool", "version", "decision", "advisory", "aliases", "severity", "state")
    rows = tuple(
        tuple(
            cell(x)
            for x in (
                v.tool,
                v.version,
                v.decision,
                a.advisory_id,
                " ".join(a.aliases),
                a.severity,
                a.state,
                a.summary,
                a.waiver,
                a.detail,
            )
        )
        for v, a in matches
    )
    unversioned = Table(
        "Feed entries naming a tool without a version",
        ("tool", "entry", "summary", "detail"),
        tuple(
            (tool, a.advisory_id, a.summary, a.detail)
            for tool, a in inventory.unversioned_feed_hits
        ),
    )
    states = Counter(a.state for _v, a in matches)
    document = {
        **_header("advisories", title, inventory),
        "matches": [
            {
                "tool": v.tool,
                "version": v.version,
                "decision": v.decision,
                **_fields(a),
            }
            for v, a in matches
        ],
        "unversioned_feed_hits": [
            {"tool": tool, **_fields(a)} for tool, a in inventory.unversioned_feed_hits
        ],
    }
    return Report(
        kind="advisories",
        title=title,
        generated_at=inventory.generated_at,
        policy_revision=inventory.policy_revision,
        summary=(
            ("matches", str(len(matches))),
            ("advisories", str(len({a.advisory_id for _v, a in matches}))),
            *((state, str(states[state])) for state in ("deny", "warn", "waived")),
        ),
        make_tables=lambda: (
            Table(
                "Advisories matched to inventory versions",
                (*columns, "summary", "waiver", "detail"),
                rows,
            ),
            unversioned,
        ),
        document=document,
        inventory=inventory,
    )


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


def exposure_report(inventory: Inventory, engine: Engine, snapshot: Any) -> Report:
    """Versions not allowed now that runners were allowed or warned to fetch, with the runners."""
    title = "toolgate exposure"
    entries = collect_exposure(engine, snapshot)
    columns = ("tool", "version", "decision now", "reasons", "token", "runner", "job")
    rows = tuple(
        tuple(
            cell(x)
            for x in (
                e.tool,
                e.version,
                e.decision,
                _reasons(e.reasons),
                r.token_name,
                r.runner,
                r.job,
                r.first_fetch,
                r.last_fetch,
                r.fetches,
            )
        )
        for e in entries
        for r in e.runners
    )
    runners = {(r.token_name, r.runner) for e in entries for r in e.runners}
    return Report(
        kind="exposure",
        title=title,
        generated_at=inventory.generated_at,
        policy_revision=inventory.policy_revision,
        summary=(("exposed versions", str(len(entries))), ("runners", str(len(runners)))),
        make_tables=lambda: (
            Table(
                "Runners that fetched a version not allowed now",
                (*columns, "first fetch", "last fetch", "fetches"),
                rows,
            ),
            Table("What to do", ("step",), tuple((step,) for step in ADVICE) if entries else ()),
        ),
        document={**_header("exposure", title, inventory), "exposures": entries, "advice": ADVICE},
        inventory=inventory,
        exposure=entries,
    )


def audit_report(inventory: Inventory, engine: Engine) -> Report:
    """The decisions and operator actions of the seven days before the report's `now`."""
    title = "toolgate audit trail"
    trail = collect_audit(engine, inventory.generated_at)
    decisions = Table(
        "Decisions",
        ("at", "token", "runner", "job", "tool", "version", "sha256", "decision", "reasons"),
        tuple(
            tuple(
                cell(x)
                for x in (
                    d.at,
                    d.token_name,
                    d.runner,
                    d.job,
                    d.tool,
                    d.version,
                    d.sha256,
                    "would-deny" if d.would_deny and d.decision == "warn" else d.decision,
                    " ".join(d.reason_codes),
                )
            )
            for d in trail.decisions
        ),
    )
    events = Table(
        "Operator actions",
        ("at", "actor", "action", "target", "detail"),
        tuple((iso(e.at), e.actor, e.action, e.target, e.detail) for e in trail.events),
    )
    outcomes = Counter(d.decision for d in trail.decisions)
    return Report(
        kind="audit",
        title=title,
        generated_at=inventory.generated_at,
        policy_revision=inventory.policy_revision,
        summary=(
            ("since", iso(trail.since)),
            ("decisions", str(len(trail.decisions)) + (" (truncated)" if trail.truncated else "")),
            *((outcome, str(outcomes[outcome])) for outcome in ("allow", "warn", "deny")),
            ("operator actions", str(len(trail.events))),
        ),
        make_tables=lambda: (decisions, events),
        document={
            **_header("audit", title, inventory),
            "since": iso(trail.since),
            "until": iso(trail.until),
            "truncated": trail.truncated,
            "decisions": trail.decisions,
            "events": trail.events,
        },
        inventory=inventory,
        audit=trail,
    )


def build_report(kind: str, engine: Engine, config: Config, now: datetime) -> Report:
    """Collect the data of `kind` from the store and shape it (KeyError: unknown kind)."""
    builder = BUILDERS[kind]
    snapshot = report_snapshot(engine, config, now)
    inventory = collect_inventory(engine, snapshot)
    return builder(inventory, engine, snapshot)


BUILDERS: dict[str, Callable[[Inventory, Engine, Any], Report]] = {
    "inventory": lambda inventory, _engine, _snapshot: inventory_report(inventory),
    "verification": lambda inventory, _engine, _snapshot: verification_report(inventory),
    "advisories": lambda inventory, _engine, _snapshot: advisories_report(inventory),
    "exposure": exposure_report,
    "audit": lambda inventory, engine, _snapshot: audit_report(inventory, engine),
}
