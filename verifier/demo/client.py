"""The demo's client of a running daemon: runners' decision requests, and an observer (a read
token) that watches verdicts through `/v1/tools` so that watching never looks like fetching."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from verifier.demo.results import ExposedRunner
from verifier.versioning import canonical_version


class DaemonClient:
    """HTTP to one daemon; `observer` is a token with the `read` scope."""

    def __init__(self, url: str, observer: str) -> None:
        self._http = httpx.Client(base_url=url, timeout=10)
        self._observer = {"Authorization": f"Bearer {observer}"}

    def close(self) -> None:
        self._http.close()

    def decide(
        self,
        token: str,
        tool: str,
        version: str,
        *,
        runner: str | None = None,
        job: str | None = None,
        **params: str,
    ) -> dict[str, Any]:
        """Ask as a runner does (`params`: `sha256`, `asset`); the decision's JSON body."""
        headers = {"Authorization": f"Bearer {token}"}
        if runner:
            headers["X-Toolgate-Runner"] = runner
        if job:
            headers["X-Toolgate-Job"] = job
        query = {"tool": tool, "version": version, **params}
        response = self._http.get("/v1/decision", params=query, headers=headers)
        response.raise_for_status()
        return response.json()

    def verdict(self, tool: str, version: str) -> dict[str, Any] | None:
        """toolgate's current decision on a version it knows (None: it knows none such)."""
        response = self._http.get(f"/v1/tools/{tool}", headers=self._observer)
        response.raise_for_status()
        wanted = canonical_version(version)
        for known in response.json().get("versions", []):
            if canonical_version(known["version"]) == wanted:
                return known
        return None

    def wait_for(
        self, tool: str, version: str, code: str, timeout: float = 30.0
    ) -> dict[str, Any] | None:
        """Wait until the verdict on `tool version` carries reason `code` (`allow`: is allowed);
        returns that verdict, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            known = self.verdict(tool, version)
            if known is not None and (
                code in (reason["code"] for reason in known["reasons"])
                or (code == "allow" and known["decision"] == "allow")
            ):
                return known
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def exposure(self, tool: str, version: str) -> tuple[str, list[ExposedRunner]]:
        """The exposure report of `tool version`: what runners are answered now, and who
        fetched a build not positively verified (allowed or warned), one line per runner (its
        jobs merged); runners that fetched the genuine build are not exposed."""
        response = self._http.get(
            "/v1/exposure", params={"tool": tool, "version": version}, headers=self._observer
        )
        response.raise_for_status()
        report = response.json()
        merged: dict[tuple[str, str], ExposedRunner] = {}
        for r in report["runners"]:
            if r.get("genuine"):
                continue
            first = datetime.fromisoformat(r["first_fetch"]).astimezone(UTC)
            last = datetime.fromisoformat(r["last_fetch"]).astimezone(UTC)
            key = (r["token_name"], r["runner"] or "")
            if (seen := merged.get(key)) is not None:
                first, last = min(first, seen.first_fetch), max(last, seen.last_fetch)
            fetches = r["fetches"] + (seen.fetches if seen else 0)
            merged[key] = ExposedRunner(key[0], key[1], first, last, fetches)
        runners = sorted(merged.values(), key=lambda runner: (runner.first_fetch, runner.runner))
        return report["decision"], runners

    def readyz(self) -> dict[str, Any]:
        return self._http.get("/readyz").json()
