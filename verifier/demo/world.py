"""The demo's upstream world: applies the scenario's actions to the fake GitHub and the feed
server, building Trivy-shaped releases (tarballs, a goreleaser checksums file, one Sigstore
bundle per tarball signed by the demo authority as Trivy's release workflow)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from importlib import resources
from typing import Any

from verifier.demo.authority import SigningAuthority, github_signer
from verifier.demo.feeds import FeedServer
from verifier.demo.scenario import (
    LINUX_64,
    LINUX_ARM64,
    Action,
    Commit,
    PublishAdvisory,
    SignedRelease,
    Tags,
    TakeDown,
    commit_sha,
)
from verifier.demo.upstream import FakeGitHub, sha256_hex

RELEASE_WORKFLOW = ".github/workflows/release.yaml"
REUSABLE_WORKFLOW = ".github/workflows/reusable-release.yaml"
ASSETS = (LINUX_64, LINUX_ARM64)
CHECKSUMS = "trivy_{version}_checksums.txt"


def advisory_record(name: str, form: str) -> dict[str, Any]:
    """A shipped advisory record: `form` is "osv" or "rest" (GitHub's REST shape)."""
    text = resources.files("verifier.demo").joinpath("data", f"{name}.{form}.json").read_text()
    return json.loads(text)


def tarball(version: str, arch: str, commit: str) -> bytes:
    """A small, reproducible stand-in for a Trivy release archive."""
    script = (
        "#!/bin/sh\n"
        f"# toolgate demo stand-in for trivy {version} ({arch}), built from {commit}\n"
        f'echo "Version: {version}"\n'
    ).encode()
    member = tarfile.TarInfo("trivy")
    member.size, member.mode, member.mtime = len(script), 0o755, 0
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.addfile(member, io.BytesIO(script))
    return gzip.compress(archive.getvalue(), mtime=0)


class World:
    """What is upstream: repositories, commits, tags, releases and published advisories."""

    def __init__(self, github: FakeGitHub, feeds: FeedServer, authority: SigningAuthority) -> None:
        self.github = github
        self.feeds = feeds
        self.authority = authority
        self.digests: dict[tuple[str, str], str] = {}  # (tag, asset) -> sha256
        self._osv: list[dict[str, Any]] = []
        self._rest: list[dict[str, Any]] = []

    def apply(self, action: Action) -> None:
        match action:
            case Commit(name, repo, branch, fork):
                sha = commit_sha(name)
                if fork is not None:
                    self.github.add_commit(fork, sha, branch="main")
                    self.github.repo(repo)  # the parent knows nothing of it
                else:
                    self.github.add_commit(repo, sha, branch=branch)
            case SignedRelease(repo, tag, commit):
                self.release(repo, tag, commit_sha(commit))
            case Tags(repo, tags, commit):
                for tag in tags:
                    self.github.set_tag(repo, tag, commit_sha(commit))
            case TakeDown(repo, tag):
                self.github.delete_release(repo, tag)
            case PublishAdvisory(advisory):
                self._osv.append(advisory_record(advisory, "osv"))
                self._rest.append(advisory_record(advisory, "rest"))
                self.feeds.publish_osv(self._osv)
                self.feeds.publish_ghsa(self._rest)

    def asset_name(self, template: str, version: str) -> str:
        return template.format(version=version.removeprefix("v"))

    def digest(self, template: str, version: str) -> str:
        """The sha256 of a published release file (what a runner that downloaded it sends)."""
        tag = f"v{version.removeprefix('v')}"
        return self.digests[(tag, self.asset_name(template, version))]

    def release(
        self,
        repo: str,
        tag: str,
        commit: str,
        *,
        workflow: str = RELEASE_WORKFLOW,
        reusable: bool = True,
        signed: bool = True,
        listed_digest: str | None = None,
    ) -> None:
        """Build and publish a Trivy-shaped release of `tag` from commit SHA `commit`, signed by
        `workflow` (calling the reusable release workflow, whose SAN the bundles then carry,
        unless `reusable` is False); `signed=False` publishes no bundles; `listed_digest` is
        what the checksums file says instead of the real digests."""
        version = tag.removeprefix("v")
        signer = github_signer(
            repo,
            ref=f"refs/tags/{tag}",
            sha=commit,
            workflow=workflow,
            signer_workflow=f"{repo}/{REUSABLE_WORKFLOW}@refs/tags/{tag}" if reusable else None,
        )
        files: dict[str, bytes] = {}
        sums = []
        for template in ASSETS:
            name = template.format(version=version)
            data = tarball(version, name.split("_")[-1].removesuffix(".tar.gz"), commit)
            files[name] = data
            if signed:
                bundle = self.authority.sign_artifact(data, signer)
                files[f"{name}.sigstore.json"] = bundle.encode()
            self.digests[(tag, name)] = sha256_hex(data)
            sums.append(f"{listed_digest or sha256_hex(data)}  {name}\n")
        files[CHECKSUMS.format(version=version)] = "".join(sums).encode()
        self.github.add_release(repo, tag, files)
