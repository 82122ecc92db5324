"""A rig for watcher scenarios: the fake GitHub, a live toolgate server on it, and a watcher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import FIXTURES, LiveServer
from verifier.demo.upstream import FakeGitHub, sha256_hex
from verifier.sources.github import GitHub
from verifier.watcher import ToolReport, Watcher

WHEEL_CASE = FIXTURES / "sigstore" / "spy-prod-github-actions-wheel"
WHEEL = (WHEEL_CASE / "bundle_v3_github.whl").read_bytes()
WHEEL_BUNDLE = (WHEEL_CASE / "bundle_v3_github.whl.sigstore").read_bytes()
WHEEL_SHA256 = sha256_hex(WHEEL)
# What the wheel's signing certificate says (a real Sigstore production bundle).
REPO = "trailofbits/rfc8785.py"
SOURCE_COMMIT = "d8b4a6445f38c48b9137a8099706d9b8073146e4"
WORKFLOW = f"https://github.com/{REPO}/.github/workflows/release.yml"
ASSET = "rfc8785-0.1.2-py3-none-any.whl"

ACTION_REPO = "aquasecurity/trivy-action"  # an action of the base inventory (versions >=0.35.0)
GOOD_COMMIT = "a" * 40
FORK_COMMIT = "f" * 40


def rfc8785_tool(
    *,
    identity: str = f"{WORKFLOW}@refs/tags/{{tag}}",
    regexp: bool = False,
    checksums: str | None = "SHA256SUMS",
    extra: str = "",
) -> str:
    """A [[tool]] for the signed wheel; `identity` is an exact SAN template unless `regexp`."""
    key = "identity_regexp" if regexp else "identity"
    lines = [
        "[[tool]]",
        'name = "rfc8785"',
        f'source = "github:{REPO}"',
        'assets = ["rfc8785-{version}-py3-none-any.whl"]',
        f'signature = {{ {key} = "{identity}", branches = ["main"] }}',
    ]
    if checksums:
        lines.append(f'checksums = "{checksums}"')
    return "\n".join(lines) + "\n" + extra


def sums(*entries: tuple[str, str]) -> bytes:
    return "".join(f"{digest}  {name}\n" for name, digest in entries).encode()


def signed_release_files(
    version: str = "0.1.2", *, bundle: bool = True, checksum: str = WHEEL_SHA256
) -> dict[str, bytes]:
    """The signed wheel (under the name of `version`), its checksums file and bundle."""
    asset = ASSET.replace("0.1.2", version)
    files = {asset: WHEEL, "SHA256SUMS": sums((asset, checksum))}
    if bundle:
        files[f"{asset}.sigstore.json"] = WHEEL_BUNDLE
    return files


@dataclass
class Rig:
    """A fake GitHub, a live server configured for it, and a watcher with fast retries."""

    github: FakeGitHub
    server: LiveServer
    token: str

    def watcher(self, upload_grace: timedelta = timedelta(0)) -> Watcher:
        """A watcher with fast retries that judges incomplete releases at once by default."""
        client = httpx.Client(timeout=10, follow_redirects=False)
        source = GitHub(client, self.server.config.github.api_url, backoff=0.01, max_wait=5)
        config, engine = self.server.config, self.server.engine
        return Watcher(config, engine, client=client, github=source, upload_grace=upload_grace)

    def poll(self, *names: str, upload_grace: timedelta = timedelta(0)) -> dict[str, ToolReport]:
        """Run one poll (as `toolgate sync` does) and refresh the server's snapshot."""
        watcher = self.watcher(upload_grace)
        try:
            reports = watcher.poll(watcher.tools(names or None))
        finally:
            watcher.client.close()
        self.server.service.refresh()
        return {report.tool: report for report in reports}

    def decide(self, tool: str, version: str, **params: str) -> dict[str, Any]:
        with self.server.client(self.token) as client:
            response = client.get(
                "/v1/decision", params={"tool": tool, "version": version, **params}
            )
        assert response.status_code == 200, response.text
        return response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in body["reasons"]]


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    github = FakeGitHub().start()
    yield github
    github.stop()


@pytest.fixture
def rig(fake_github: FakeGitHub, live_server: Callable[..., LiveServer]) -> Callable[..., Rig]:
    """`rig(tools=TOML, cooldown=…)`: a live server whose [github] is the fake (watcher off)."""

    def start(tools: str = "", **options: Any) -> Rig:
        github = f'api_url = "{fake_github.url}"\npoll_interval = "0s"'
        server = live_server(extra=tools, github=options.pop("github", github), **options)
        return Rig(fake_github, server, server.token("runner"))

    return start
