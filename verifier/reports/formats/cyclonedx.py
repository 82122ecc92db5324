"""CycloneDX 1.6 JSON (cyclonedx-python-lib): the toolchain as a bill of materials.

Every kind gives the inventory's BOM; what differs is the report's `metadata.properties`
(`toolgate:report-kind`) and, for `exposure` and `audit`, per-version properties with the
exposed runners or the fetches of the window. Mapping:

- each known tool version is a component (`application`; `bom-ref` `TOOL@VERSION`) with a purl:
  `pkg:github/OWNER/REPO@TAG` for `github:` sources, `pkg:pypi/NAME@VERSION` for `pypi:`,
  `pkg:generic/NAME@VERSION?download_url=…` for `url:`; properties `toolgate:decision`,
  `toolgate:status`, `toolgate:reasons`, `toolgate:signer`, `toolgate:source-commit`;
- each verified file is a nested `file` component with its SHA-256 (a single-file version also
  carries the hash itself);
- external references: the release (`distribution`), each signature's Rekor entry
  (`attestation`, commented with signer and file), the source commit (`vcs`);
- each advisory matched to a version is a vulnerability affecting that component, with its
  aliases as references, its severity as a rating, and the analysis: waived -> `not_affected`
  (the waiver in `detail`); denied -> `exploitable` (response `update` when a newer version is
  allowed, else `can_not_fix`); warned -> `in_triage`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.impact_analysis import ImpactAnalysisResponse, ImpactAnalysisState
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from verifier.reports.formats.interface import ReportFormat
from verifier.reports.model import AdvisoryMatch, ToolReport, VersionReport
from verifier.reports.report import Report, iso
from verifier.versioning import canonical_version

_SEVERITY = {
    "LOW": VulnerabilitySeverity.LOW,
    "MODERATE": VulnerabilitySeverity.MEDIUM,
    "MEDIUM": VulnerabilitySeverity.MEDIUM,
    "HIGH": VulnerabilitySeverity.HIGH,
    "CRITICAL": VulnerabilitySeverity.CRITICAL,
}
_OSV = "https://osv.dev/vulnerability/"


def purl(tool: ToolReport, version: str, url: str | None) -> PackageURL:
    """The package URL of a tool version, from the tool's source."""
    kind, _, where = tool.source.partition(":")
    if kind == "github":
        owner, _, repo = where.partition("/")
        return PackageURL(type="github", namespace=owner, name=repo, version=version)
    if kind == "pypi":
        return PackageURL(type="pypi", name=where.lower(), version=canonical_version(version))
    namespace, _, name = tool.name.rpartition("/")
    qualifiers = {"download_url": url} if url else None
    return PackageURL(
        type="generic",
        namespace=namespace or None,
        name=name,
        version=canonical_version(version),
        qualifiers=qualifiers,
    )


def _references(tool: ToolReport, version: VersionReport) -> Iterable[ExternalReference]:
    if version.release_url:
        yield ExternalReference(
            type=ExternalReferenceType.DISTRIBUTION, url=XsUri(version.release_url)
        )
    for sig in version.signatures:
        if sig.rekor_log_index is not None:
            yield ExternalReference(
                type=ExternalReferenceType.ATTESTATION,
                url=XsUri(f"https://search.sigstore.dev/?logIndex={sig.rekor_log_index}"),
                comment=f"Sigstore signature of {sig.asset} by {sig.signer} ({sig.issuer}), "
                f"logged {sig.integrated_time}",
            )
    repository = tool.source.removeprefix("github:") if tool.source.startswith("github:") else None
    repository = next((s.repository for s in version.signatures if s.repository), repository)
    if version.commit and repository:
        yield ExternalReference(
            type=ExternalReferenceType.VCS,
            url=XsUri(f"https://github.com/{repository}/commit/{version.commit}"),
            comment="source commit",
        )


def _properties(version: VersionReport, extra: dict[str, str]) -> Iterable[Property]:
    yield Property(name="toolgate:decision", value=version.decision)
    yield Property(name="toolgate:status", value=version.status)
    if version.reasons:
        yield Property(name="toolgate:reasons", value=" ".join(version.reason_codes))
    for signer in sorted({s.signer for s in version.signatures if s.signer}):
        yield Property(name="toolgate:signer", value=signer)
    if version.commit:
        yield Property(name="toolgate:source-commit", value=version.commit)
    for name, value in extra.items():
        yield Property(name=name, value=value)


def _component(tool: ToolReport, version: VersionReport, extra: dict[str, str]) -> Component:
    ref = f"{tool.name}@{version.version}"
    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=a.sha256) for a in version.assets]
    return Component(
        type=ComponentType.APPLICATION,
        name=tool.name,
        version=version.version,
        bom_ref=ref,
        purl=purl(tool, version.version, version.release_url),
        hashes=hashes if len(hashes) == 1 else None,
        external_references=list(_references(tool, version)),
        properties=list(_properties(version, extra)),
        components=[
            Component(
                type=ComponentType.FILE,
                name=asset.name,
                bom_ref=f"{ref}#{asset.name}",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=asset.sha256)],
            )
            for asset in version.assets
        ],
    )


def _source(advisory_id: str) -> VulnerabilitySource:
    if advisory_id.startswith("feed:"):
        return VulnerabilitySource(name=advisory_id.split("#")[0].removeprefix("feed:"))
    return VulnerabilitySource(name="OSV", url=XsUri(_OSV + advisory_id))


def _analysis(match: AdvisoryMatch, tool: ToolReport, version: str) -> VulnerabilityAnalysis:
    if match.waiver is not None:
        return VulnerabilityAnalysis(state=ImpactAnalysisState.NOT_AFFECTED, detail=match.waiver)
    if match.action == "warn":
        return VulnerabilityAnalysis(
            state=ImpactAnalysisState.IN_TRIAGE,
            detail=f"toolgate warns runners that fetch it: {match.detail}",
        )
    newer = tool.newest_allowed is not None and tool.newest_allowed != version
    return VulnerabilityAnalysis(
        state=ImpactAnalysisState.EXPLOITABLE,
        responses=[ImpactAnalysisResponse.UPDATE if newer else ImpactAnalysisResponse.CAN_NOT_FIX],
        detail=f"toolgate denies this version: {match.detail}",
    )


def _vulnerability(match: AdvisoryMatch, tool: ToolReport, version: str) -> Vulnerability:
    severity = _SEVERITY.get((match.severity or "").upper(), VulnerabilitySeverity.UNKNOWN)
    return Vulnerability(
        bom_ref=f"{match.advisory_id}/{tool.name}@{version}",
        id=match.advisory_id,
        source=_source(match.advisory_id),
        references=[
            VulnerabilityReference(id=alias, source=VulnerabilitySource(url=XsUri(_OSV + alias)))
            for alias in match.aliases
        ],
        ratings=[VulnerabilityRating(severity=severity)],
        description=match.summary,
        detail=match.detail,
        analysis=_analysis(match, tool, version),
        affects=[BomTarget(ref=f"{tool.name}@{version}")],
    )


def _extra_properties(report: Report) -> dict[tuple[str, str], dict[str, str]]:
    """Per-version properties of the `exposure` and `audit` kinds."""
    extra: dict[tuple[str, str], dict[str, str]] = {}
    for entry in report.exposure:
        runners = len({(r.token_name, r.runner) for r in entry.runners})
        extra[(entry.tool, canonical_version(entry.version))] = {
            "toolgate:exposed-runners": str(runners),
            "toolgate:first-fetch": iso(min(r.first_fetch for r in entry.runners)),
        }
    if report.audit is not None:
        counts: dict[tuple[str, str], int] = {}
        for decision in report.audit.decisions:
            key = (decision.tool, canonical_version(decision.version))
            counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            extra.setdefault(key, {})["toolgate:audit-decisions"] = str(count)
    return extra


class CycloneDxFormat(ReportFormat):
    name = "cyclonedx"
    media_type = "application/vnd.cyclonedx+json; version=1.6"
    suffix = ".cdx.json"

    def render(self, report: Report) -> bytes:
        inventory = report.inventory
        extra = _extra_properties(report)
        components, vulnerabilities = [], []
        for tool in inventory.tools:
            for version in tool.versions:
                key = (tool.name, canonical_version(version.version))
                components.append(_component(tool, version, extra.get(key, {})))
                vulnerabilities.extend(
                    _vulnerability(match, tool, version.version) for match in version.advisories
                )
        serial = uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"toolgate:{report.kind}:{inventory.policy_revision}:{iso(report.generated_at)}",
        )
        root = Component(type=ComponentType.PLATFORM, name="toolgate inventory", bom_ref="toolgate")
        bom = Bom(
            serial_number=serial,
            metadata=BomMetaData(
                timestamp=report.generated_at,
                component=root,
                properties=[
                    Property(name="toolgate:report-kind", value=report.kind),
                    Property(name="toolgate:policy-revision", value=str(inventory.policy_revision)),
                ],
            ),
            components=components,
            vulnerabilities=vulnerabilities,
        )
        bom.register_dependency(root, components)
        return JsonV1Dot6(bom).output_as_string(indent=2).encode("utf-8") + b"\n"
