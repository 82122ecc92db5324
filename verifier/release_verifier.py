"""Verification of one upstream release (or tag commit) against its tool's configuration:
downloads, digests, checksums files, Sigstore signatures and attestations, and whether the
source commit belongs to a protected branch. I/O at the edges (sources, downloads, the commit
cache); the verdict is a value the watcher records.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sigstore.verify import Verifier
from sqlalchemy import Engine, select
from sqlmodel import Session

from verifier.config import Config, SignatureConfig, ToolConfig
from verifier.policy import Reason
from verifier.sources.errors import SourceError
from verifier.sources.github import GitHub, UpstreamRelease
from verifier.sources.naming import pypi_project, render
from verifier.sources.pypi import PyPI
from verifier.store.models import CommitCheckRow
from verifier.verify.artifact import verify_bundle
from verifier.verify.attestations import AttestationVerified, verify_attestation
from verifier.verify.checksums import Algorithm, Checksums, check_digest, parse_checksums
from verifier.verify.claims import CertificateClaims
from verifier.verify.download import Downloaded, DownloadLimits, download
from verifier.verify.errors import (
    ChecksumError,
    DownloadError,
    HTTPStatus,
    PolicyError,
    Timeout,
    Truncated,
    TrustRootError,
)
from verifier.verify.identity import AcceptedIdentity, ClaimExpectations, IdentityPolicy
from verifier.verify.pinning import EvidenceProfile
from verifier.verify.results import Failure, Rejected
from verifier.verify.signatures import SignatureEvidence, Verified
from verifier.verify.trust import file_verifier, instance_verifier

log = logging.getLogger(__name__)

MAX_ASSET_BYTES = 2 << 30
MAX_SIDECAR_BYTES = 16 << 20  # checksums files and bundles
# Where GitHub serves release files from (browser_download_url redirects there).
DOWNLOAD_HOSTS = frozenset(
    {"github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com"}
)


@dataclass
class Verdict:
    """The outcome of verifying one release, before it is recorded."""

    reasons: list[Reason] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    assets: list[tuple[str, str, int]] = field(default_factory=list)  # name, sha256, size
    commit: str | None = None
    profile: EvidenceProfile | None = None
    retry: bool = False  # a check could not run for a transient cause: try again next poll
    missing: list[str] = field(default_factory=list)  # configured files not in the release
    # (code, expected, found, detail) of a reason about files -> its index and the files
    _by_files: dict[tuple[Any, ...], tuple[int, list[str]]] = field(default_factory=dict)

    def fail(
        self,
        code: str,
        detail: str,
        *,
        expected: str | None = None,
        found: str | None = None,
        asset: str | None = None,
    ) -> None:
        """Add a reason the release is not verified. The same failure of several files
        (`asset`) is one reason naming them all (`a.tgz, b.zip: no Sigstore bundle`)."""
        if asset is None:
            self.reasons.append(Reason(code, expected, found, detail))
            return
        key = (code, expected, found, detail)
        index, files = self._by_files.get(key, (len(self.reasons), []))
        files.append(asset)
        merged = Reason(code, expected, found, f"{', '.join(files)}: {detail}")
        if index == len(self.reasons):
            self.reasons.append(merged)
            self._by_files[key] = (index, files)
        else:
            self.reasons[index] = merged

    def fail_with(self, failure: Failure, asset: str | None = None) -> None:
        """Add a `verifier.verify` failure as a reason (about the file `asset`)."""
        self.fail(
            str(failure.reason),
            failure.detail,
            expected=failure.expected,
            found=failure.found,
            asset=asset,
        )


class ReleaseVerifier:
    """Verifies releases and tag commits; thread-safe (one per watcher, shared by its workers)."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        client: httpx.Client,
        github: GitHub,
        pypi: PyPI,
        *,
        max_asset_bytes: int = MAX_ASSET_BYTES,
    ) -> None:
        self.config = config
        self.engine = engine
        self.client = client
        self.github = github
        self.pypi = pypi
        self.max_asset_bytes = max_asset_bytes
        self.download_dir = config.state_dir / "downloads"
        self._verifiers: dict[str | None, Verifier] = {}

    def verify_release(
        self, tool: ToolConfig, repo: str | None, release: UpstreamRelease
    ) -> Verdict:
        """Download and check each configured asset of `release` (digests, checksums file,
        signature, attestations), then its source commit. `repo`: the tool's GitHub repository
        (None for PyPI, where the signing certificate names it)."""
        verdict = Verdict()
        verdict.evidence["release_id"] = release.id
        if not tool.assets:
            verdict.fail(
                "not-verified",
                "no `assets` are configured for this tool: nothing can be verified",
                expected="asset name templates in [[tool]] assets",
                found="none",
            )
            return verdict
        self.download_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(
            tempfile.mkdtemp(prefix=f"{tool.name.replace('/', '_')}-", dir=self.download_dir)
        )
        try:
            checksums = self._checksums(tool, release, workdir, verdict)
            if checksums is None and tool.signature is None and not verdict.reasons:
                verdict.fail(
                    "not-verified",
                    "nothing vouches for the files: no signature is configured and the release "
                    "has no checksums file",
                    expected="a Sigstore signature or a checksums file",
                    found="neither",
                )
                return verdict
            policy = self._identity_policy(tool, repo, release.tag, verdict)
            claims: CertificateClaims | None = None
            attested = False
            for template in tool.assets:
                name = render(template, tag=release.tag)
                outcome = self._verify_asset(
                    tool, repo, release, name, checksums, policy, workdir, verdict
                )
                if outcome is not None:
                    claims = outcome[0] or claims
                    attested = attested or outcome[1]
            verdict.profile = EvidenceProfile.from_claims(
                claims, checksums=checksums is not None, attested=attested
            )
            verdict.evidence["profile"] = verdict.profile.to_dict()
            source = repo or (claims.repository if claims is not None else None)
            if not verdict.reasons and claims is not None and claims.sha and source:
                verdict.commit = claims.sha
                self.check_commit(
                    tool, source, claims.sha, f"source commit of {release.tag}", verdict
                )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return verdict

    def _verify_asset(
        self,
        tool: ToolConfig,
        repo: str | None,
        release: UpstreamRelease,
        name: str,
        checksums: Checksums | None,
        policy: IdentityPolicy | None,
        workdir: Path,
        verdict: Verdict,
    ) -> tuple[CertificateClaims | None, bool] | None:
        """Download and check one asset; (signer claims, attested) when it verified."""
        asset = release.asset(name)
        if asset is None:
            listed = ", ".join(a.name for a in release.assets[:8]) or "none"
            verdict.missing.append(name)
            verdict.fail(
                "not-verified",
                f"the release has no file named {name}",
                expected=name,
                found=f"files: {listed}",
            )
            return None
        fetched = self._download(
            asset.url,
            workdir,
            name,
            self.max_asset_bytes,
            verdict,
            sha512=_wants_sha512(checksums, name),
        )
        if fetched is None:
            return None
        sha256, size = fetched.sha256, fetched.size
        fetched.path.unlink(missing_ok=True)
        failures_before = len(verdict.reasons)
        if asset.digest and asset.digest.lower() != f"sha256:{sha256}":
            verdict.fail(
                "checksum-mismatch",
                f"{name}: the downloaded bytes differ from the digest GitHub publishes",
                expected=asset.digest,
                found=f"sha256:{sha256}",
            )
        source = "github-digest" if asset.digest else None
        if checksums is not None:
            try:
                entry = checksums.lookup(name)
            except ChecksumError as exc:
                verdict.fail(
                    "not-verified", str(exc), expected=f"{name} listed", found="not listed"
                )
            else:
                if (failure := check_digest(entry, sha256, fetched.sha512)) is not None:
                    verdict.fail_with(failure)
                source = f"{checksums.source} line {entry.line}"
        claims: CertificateClaims | None = None
        if tool.signature is not None and policy is not None:
            signature = self._signature(tool, release, name, sha256, policy, workdir, verdict)
            if signature is not None:
                claims = signature.claims
                verdict.evidence.setdefault("signatures", {})[name] = _signature_evidence(signature)
        attested = self._attestation(tool, repo, name, sha256, policy, verdict)
        verdict.evidence.setdefault("assets", {})[name] = {
            "sha256": sha256,
            "size": size,
            "checksum_source": source,
        }
        if len(verdict.reasons) > failures_before:
            return None
        verdict.assets.append((name, sha256, size))
        return claims, attested

    def _download(
        self,
        url: str,
        workdir: Path,
        name: str,
        cap: int,
        verdict: Verdict,
        *,
        sidecar: bool = False,
        sha512: bool = False,
    ) -> Downloaded | None:
        """The download, or None with the failure in `verdict`. A `sidecar` (checksums file,
        bundle) answered 404 is missing, not failed: plain URLs list no files."""
        try:
            got = download(
                self.client,
                url,
                workdir,
                allowed_hosts=DOWNLOAD_HOSTS | {self.github.host},
                limits=DownloadLimits(max_bytes=cap),
                name=name,
                sha512=sha512,
            )
        except DownloadError as exc:
            if sidecar and isinstance(exc, HTTPStatus) and exc.status_code == 404:
                verdict.missing.append(name)
                return None
            transient = isinstance(exc, Timeout | Truncated) or (
                isinstance(exc, HTTPStatus) and exc.status_code >= 500
            )
            verdict.retry = verdict.retry or transient or type(exc) is DownloadError
            verdict.fail(
                "not-verified", f"download of {name} failed: {exc}", expected="a complete download"
            )
            return None
        return got

    def _checksums(
        self, tool: ToolConfig, release: UpstreamRelease, workdir: Path, verdict: Verdict
    ) -> Checksums | None:
        if tool.checksums is None:
            return None
        name = render(tool.checksums, tag=release.tag)
        asset = release.asset(name)
        if asset is None:
            # Not a failure by itself: the evidence profile records it, and a tool whose last
            # accepted release had a checksums file holds this one with evidence-changed.
            log.warning("%s %s: no checksums file %s in the release", tool.name, release.tag, name)
            verdict.missing.append(name)
            return None
        fetched = self._download(asset.url, workdir, name, MAX_SIDECAR_BYTES, verdict, sidecar=True)
        if fetched is None:
            return None
        try:
            return parse_checksums(fetched.path.read_text(encoding="utf-8", errors="replace"), name)
        except ChecksumError as exc:
            verdict.fail("not-verified", str(exc), expected="a checksums file in a known format")
            return None

    def _identity_policy(
        self, tool: ToolConfig, repo: str | None, tag: str, verdict: Verdict
    ) -> IdentityPolicy | None:
        signature = tool.signature
        if signature is None:
            return None
        # With reusable workflows the SAN names the called workflow, so the source repository
        # claim is pinned too: the signing run must have been started from the tool's own repo
        # (PyPI projects name no repository: the identity alone decides).
        claims = ClaimExpectations(repository=repo)
        identities = (
            [signature.identity]
            if isinstance(signature.identity, str)
            else signature.identity or []
        )
        try:
            accepted = [
                AcceptedIdentity(signature.issuer, san=render(identity, tag=tag), claims=claims)
                for identity in identities
            ]
            if signature.identity_regexp:
                accepted.append(
                    AcceptedIdentity(
                        signature.issuer, san_regexp=signature.identity_regexp, claims=claims
                    )
                )
            return IdentityPolicy(tuple(accepted))
        except PolicyError as exc:
            verdict.fail("not-verified", f"the signature policy is unusable: {exc}")
            return None

    def _verifier(self, signature: SignatureConfig | None) -> Verifier:
        root = signature.trusted_root if signature else None
        if root not in self._verifiers:
            if root is None:
                self._verifiers[root] = instance_verifier()
            else:
                self._verifiers[root] = file_verifier(
                    self.config.source_path.resolve().parent / root
                )
        return self._verifiers[root]

    def _signature(
        self,
        tool: ToolConfig,
        release: UpstreamRelease,
        name: str,
        sha256: str,
        policy: IdentityPolicy,
        workdir: Path,
        verdict: Verdict,
    ) -> SignatureEvidence | None:
        """Verify the file's bundles: the `signature.bundle` file of a GitHub release, or the
        PEP 740 attestations of a PyPI file. Any bundle that verifies is enough."""
        assert tool.signature is not None
        bundles = self._bundles(tool, release, name, workdir, verdict)
        if bundles is None:
            return None
        try:
            verifier = self._verifier(tool.signature)
            results = [verify_bundle(sha256, raw, policy, verifier) for raw in bundles or [None]]
        except TrustRootError as exc:
            verdict.fail("not-verified", str(exc), expected="a usable Sigstore trust root")
            return None
        for result in results:
            if isinstance(result, Verified):
                return result.evidence
            if isinstance(result, AttestationVerified):
                return result.evidence.signature
        verdict.fail_with(next(r.failure for r in results if isinstance(r, Rejected)), name)
        return None

    def _bundles(
        self, tool: ToolConfig, release: UpstreamRelease, name: str, workdir: Path, verdict: Verdict
    ) -> list[bytes] | None:
        """The raw bundles published for the file ([]: unsigned; None: could not fetch)."""
        if (project := pypi_project(tool)) is not None:
            try:
                return self.pypi.provenance(project, release.tag, name)
            except SourceError as exc:
                verdict.retry = True
                verdict.fail("not-verified", f"PEP 740 provenance of {name} unavailable: {exc}")
                return None
        assert tool.signature is not None
        bundle_name = render(tool.signature.bundle, tag=release.tag, asset=name)
        if (asset := release.asset(bundle_name)) is None:
            verdict.missing.append(bundle_name)
            return []
        fetched = self._download(
            asset.url, workdir, bundle_name, MAX_SIDECAR_BYTES, verdict, sidecar=True
        )
        if fetched is None:
            return [] if bundle_name in verdict.missing else None
        return [fetched.path.read_bytes()]

    def _attestation(
        self,
        tool: ToolConfig,
        repo: str | None,
        name: str,
        sha256: str,
        policy: IdentityPolicy | None,
        verdict: Verdict,
    ) -> bool:
        """GitHub artifact attestations (PyPI's PEP 740 ones are verified as the signature)."""
        if tool.attestations == "off" or repo is None:
            return False
        try:
            bundles = self.github.attestations(repo, sha256)
        except SourceError as exc:
            if tool.attestations == "required":
                verdict.retry = True
                verdict.fail("not-verified", f"attestations of {name} unavailable: {exc}")
            return False
        if not bundles:
            if tool.attestations == "required":
                verdict.fail(
                    "not-verified",
                    f"{name} has no artifact attestation on GitHub",
                    expected='an attestation (attestations = "required")',
                    found="none",
                )
            return False
        if policy is None:
            verdict.fail(
                "not-verified", "attestations need a `signature` identity to check against"
            )
            return False
        failures = []
        for raw in bundles:
            result = verify_attestation(sha256, raw, policy, self._verifier(tool.signature))
            if isinstance(result, AttestationVerified):
                verdict.evidence.setdefault("attestations", {})[name] = {
                    "predicate_type": result.evidence.predicate_type,
                    **_signature_evidence(result.evidence.signature),
                }
                return True
            failures.append(result.failure)
        verdict.fail_with(failures[0], name)
        return False

    def check_commit(
        self, tool: ToolConfig, repo: str, commit: str, what: str, verdict: Verdict
    ) -> None:
        """The commit must be reachable from a protected branch (impostor: unknown to the repo)."""
        try:
            branches = self._branches(tool, repo)
            status, branch = self._reachability(repo, commit, branches)
        except SourceError as exc:
            verdict.retry = True
            verdict.fail("not-verified", f"cannot check the {what}: {exc}")
            return
        verdict.evidence["source_commit"] = commit
        protected = " or ".join(branches)
        if status == "on-branch":
            verdict.evidence["source_branch"] = branch
        elif status == "unknown-commit":
            verdict.fail(
                "impostor-commit",
                f"the {what} does not belong to {repo} (a fork's commit served through it?)",
                expected=f"a commit of {repo}",
                found=commit,
            )
        else:
            verdict.fail(
                "commit-not-on-branch",
                f"the {what} is not reachable from a protected branch of {repo}",
                expected=f"a commit reachable from {protected}",
                found=commit,
            )

    def _branches(self, tool: ToolConfig, repo: str) -> list[str]:
        if tool.signature is not None and tool.signature.branches:
            return list(tool.signature.branches)
        return [self.github.default_branch(repo)]

    def _reachability(self, repo: str, commit: str, branches: list[str]) -> tuple[str, str | None]:
        """Cached per (repository, commit) in the store: a commit's ancestry does not change."""
        checked = " ".join(branches)
        with Session(self.engine) as session:
            row = session.scalars(
                select(CommitCheckRow).where(
                    CommitCheckRow.repository == repo, CommitCheckRow.commit == commit
                )
            ).first()
            if row is not None and row.checked_branches == checked:
                return row.status, row.branch
        answer = self.github.reachability(repo, commit, branches)
        with Session(self.engine) as session:
            row = session.scalars(
                select(CommitCheckRow).where(
                    CommitCheckRow.repository == repo, CommitCheckRow.commit == commit
                )
            ).first()
            row = row or CommitCheckRow(repository=repo, commit=commit, status=answer.status)
            row.status, row.branch, row.checked_branches = answer.status, answer.branch, checked
            row.checked_at = datetime.now(UTC)
            session.add(row)
            session.commit()
        return answer.status, answer.branch


def utc_iso(moment: datetime) -> str:
    """ISO 8601 with a Z, as the API writes times."""
    return moment.isoformat().replace("+00:00", "Z")


def _wants_sha512(checksums: Checksums | None, name: str) -> bool:
    """Whether the asset's checksum entry is SHA-512. Only then is SHA-512 computed: it costs
    about twice SHA-256's CPU time, and everything else (GitHub digests, Sigstore, attestations)
    names SHA-256. A missing entry is reported after the download."""
    try:
        return checksums is not None and checksums.lookup(name).algorithm == Algorithm.SHA512
    except ChecksumError:
        return False


def _signature_evidence(signature: SignatureEvidence) -> dict[str, Any]:
    claims = signature.claims
    return {
        "signer": claims.san,
        "issuer": claims.issuer,
        "repository": claims.repository,
        "repository_id": claims.repository_id,
        "workflow": claims.signer_workflow,
        "ref": claims.ref,
        "source_commit": claims.sha,
        "rekor_log_index": signature.log_index,
        "integrated_time": utc_iso(signature.integrated_time)
        if signature.integrated_time
        else None,
    }
