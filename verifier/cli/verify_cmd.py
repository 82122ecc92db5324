"""`toolgate verify` and `toolgate explain`: offline checks of local files for operators."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sigstore.verify import Verifier

from verifier.cli.app import ExitCode, app, console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption
from verifier.verify.artifact import verify_bundle
from verifier.verify.attestations import AttestationVerified
from verifier.verify.checksums import check_digest, parse_checksums
from verifier.verify.claims import CertificateClaims, claims_from_certificate
from verifier.verify.digests import hash_file
from verifier.verify.errors import ChecksumError, PolicyError, TrustRootError
from verifier.verify.identity import AcceptedIdentity, ClaimExpectations, IdentityPolicy
from verifier.verify.results import Failure, Reason, Rejected
from verifier.verify.signatures import SignatureEvidence, Verified, load_bundle
from verifier.verify.trust import Instance, file_verifier, instance_verifier

_DIGEST_ARG = re.compile(r"sha256:([0-9a-fA-F]{64})")
_BUNDLE_SUFFIXES = (".sigstore.json", ".sigstore")
# Claim names as the config spells them; the certificate's SAN is the config's `identity`.
_CONFIG_NAMES = {"san": "identity"}


@app.command()
def verify(
    artifact: Annotated[str, typer.Argument(help="File to verify, or sha256:<hex> for a digest.")],
    issuer: Annotated[str, typer.Option(help="OIDC issuer the signer must have used.")],
    identity: Annotated[str | None, typer.Option(help="Exact signer identity (SAN).")] = None,
    identity_regexp: Annotated[
        str | None, typer.Option(help="Anchored regexp '^...$' the SAN must match.")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(help="Sigstore bundle (default: <artifact>.sigstore.json, .sigstore)."),
    ] = None,
    trusted_root: Annotated[
        Path | None, typer.Option(help="trusted_root.json or client trust config to use.")
    ] = None,
    staging: Annotated[bool, typer.Option(help="Use Sigstore's staging trust root.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline/--online", help="Offline: no TUF refresh, no network.")
    ] = True,
    checksums: Annotated[
        Path | None, typer.Option(help="Checksums file that must list the artifact.")
    ] = None,
    repository: Annotated[str | None, typer.Option(help="Source repository owner/name.")] = None,
    repository_id: Annotated[str | None, typer.Option(help="Source repository id.")] = None,
    owner_id: Annotated[str | None, typer.Option(help="Source repository owner id.")] = None,
    ref: Annotated[str | None, typer.Option(help="Source ref, e.g. refs/tags/v1.2.3.")] = None,
    sha: Annotated[str | None, typer.Option(help="Source commit SHA.")] = None,
    trigger: Annotated[str | None, typer.Option(help="Workflow trigger, e.g. push.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Verify a local artifact's Sigstore bundle (and checksum) against a signer identity.

    Exit 0 verified, 1 not verified (the failing check is printed), 2 usage or unreadable input.
    """
    claims = ClaimExpectations(repository, repository_id, owner_id, ref, sha, trigger)
    try:
        policy = IdentityPolicy((AcceptedIdentity(issuer, identity, identity_regexp, claims),))
        verifier = _verifier(trusted_root, staging, offline)
    except (PolicyError, TrustRootError) as exc:
        raise fail(str(exc)) from exc
    name, sha256, sha512 = _artifact_digests(artifact)
    raw_bundle = _read_bundle(bundle, artifact, digest_only=sha512 is None)
    failures: list[Failure] = []
    if checksums is not None:
        failures += _checksum_failures(checksums, name, sha256, sha512)
    result = verify_bundle(sha256, raw_bundle, policy, verifier)
    if isinstance(result, Rejected):
        failures.append(result.failure)
    _report(artifact, sha256, result, failures, as_json)
    raise typer.Exit(int(ExitCode.DENIED if failures else ExitCode.OK))


@app.command()
def explain(
    target: Annotated[
        str, typer.Argument(help="A Sigstore bundle file, or a TOOL (then give VERSION).")
    ],
    version: Annotated[
        str | None, typer.Argument(help="With a TOOL: the release to explain.")
    ] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """BUNDLE: print the signing certificate's claims in the terms the config uses (does not
    verify). TOOL VERSION: why the release is answered as it is: its evidence, the baseline it
    was compared with and which release each part came from, and the decision now."""
    if version is not None:
        from verifier.cli.explain_cmd import explain_release_command  # needs the store

        explain_release_command(target, version, config_path, as_json)
        return
    bundle = Path(target)
    try:
        raw = bundle.read_bytes()
    except OSError as exc:
        hint = " (to explain a release, give TOOL VERSION)" if not bundle.exists() else ""
        raise fail(f"cannot read bundle {bundle}: {exc.strerror}{hint}") from exc
    loaded = load_bundle(raw)
    if isinstance(loaded, Failure):
        raise fail(f"{bundle}: {loaded.describe()}")
    claims = _config_terms(claims_from_certificate(loaded.signing_certificate))
    entry = loaded.log_entry._inner
    log: dict[str, Any] = {
        "log_index": int(entry.log_index),
        "entry_kind": f"{entry.kind_version.kind} {entry.kind_version.version}",
    }
    if entry.integrated_time:
        log["integrated_time"] = datetime.fromtimestamp(entry.integrated_time, UTC).isoformat()
    if as_json:
        console.print_json(data={"claims": claims, "log": log, "verified": False})
        return
    table = Table(title=f"{bundle.name}: certificate claims (not verified)", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in {**claims, **log}.items():
        table.add_row(key, str(value))
    console.print(table)


def _verifier(trusted_root: Path | None, staging: bool, offline: bool) -> Verifier:
    if trusted_root is not None:
        if staging:
            raise fail("give either --trusted-root or --staging, not both")
        return file_verifier(trusted_root)
    return instance_verifier(Instance.STAGING if staging else Instance.PRODUCTION, offline=offline)


def _artifact_digests(artifact: str) -> tuple[str, str, str | None]:
    """(name, sha256, sha512 or None when only a digest was given)."""
    path = Path(artifact)
    if path.is_file():
        try:
            digests = hash_file(path)
        except OSError as exc:
            raise fail(f"cannot read artifact {artifact}: {exc.strerror}") from exc
        return path.name, digests.sha256, digests.sha512
    if m := _DIGEST_ARG.fullmatch(artifact):
        return artifact, m[1].lower(), None
    raise fail(f"artifact {artifact} is not a readable file nor a sha256:<64 hex> digest")


def _read_bundle(bundle: Path | None, artifact: str, *, digest_only: bool) -> bytes | None:
    if bundle is not None:
        try:
            return bundle.read_bytes()
        except OSError as exc:
            raise fail(f"cannot read bundle {bundle}: {exc.strerror}") from exc
    if digest_only:
        raise fail("an artifact given as a digest needs --bundle")
    for suffix in _BUNDLE_SUFFIXES:
        candidate = Path(artifact + suffix)
        if candidate.is_file():
            return _read_bundle(candidate, artifact, digest_only=False)
    return None


def _checksum_failures(path: Path, name: str, sha256: str, sha512: str | None) -> list[Failure]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read checksums file {path}: {exc}") from exc
    try:
        entry = parse_checksums(text, source=path.name).lookup(name)
    except ChecksumError as exc:
        return [Failure(Reason.NOT_VERIFIED, f"checksum not checked: {exc}")]
    failure = check_digest(entry, sha256, sha512)
    return [failure] if failure else []


def _report(
    artifact: str,
    sha256: str,
    result: Verified | AttestationVerified | Rejected,
    failures: list[Failure],
    as_json: bool,
) -> None:
    evidence = _evidence(result)
    if as_json:
        console.print_json(
            data={
                "artifact": artifact,
                "sha256": sha256,
                "verified": not failures,
                "reason": failures[0].reason.value if failures else None,
                "failures": [asdict(f) for f in failures],
                "evidence": evidence,
            }
        )
        return
    for failure in failures:
        console.print(
            f"[bold red]FAIL[/] {artifact}: {failure.describe()}", highlight=False, soft_wrap=True
        )
    if not failures:
        console.print(f"[bold green]OK[/] {artifact}", highlight=False, soft_wrap=True)
        for key, value in evidence.items():
            console.print(f"  {key}: {value}", highlight=False, soft_wrap=True)


def _evidence(result: Verified | AttestationVerified | Rejected) -> dict[str, Any]:
    if isinstance(result, Rejected):
        return {"claims": _config_terms(result.claims)} if result.claims else {}
    if isinstance(result, AttestationVerified):
        attestation = result.evidence
        return {
            **_signature_evidence(attestation.signature),
            "predicate_type": attestation.predicate_type,
            "subjects": list(attestation.subjects),
            "provenance": asdict(attestation.provenance) if attestation.provenance else None,
        }
    return _signature_evidence(result.evidence)


def _signature_evidence(evidence: SignatureEvidence) -> dict[str, Any]:
    return {
        **_config_terms(evidence.claims),
        "log_index": evidence.log_index,
        "log_id": evidence.log_id,
        "entry_kind": evidence.entry_kind,
        "integrated_time": _iso(evidence.integrated_time),
        "timestamps": [_iso(t) for t in evidence.timestamps],
        "signed_at": _iso(evidence.signed_at),
    }


def _config_terms(claims: CertificateClaims) -> dict[str, str]:
    return {_CONFIG_NAMES.get(k, k): v for k, v in claims.present().items()}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
