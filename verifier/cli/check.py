"""`toolgate check`: what a runner calls before fetching a tool.

Exit 0 allow (or warn), 1 deny, 2 error. A runner must treat 2 as "do not fetch".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from verifier.cli.app import ExitCode, app, console, err_console, fail

DEFAULT_SERVER = "http://127.0.0.1:8750"


def _read_token(token_file: Path | None) -> str:
    if token_file is None:
        raise fail("no token: pass --token-file or set TOOLGATE_TOKEN_FILE")
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise fail(f"cannot read token file {token_file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise fail(f"token file {token_file} is not text: it should hold a tg_… token") from None
    if not token:
        raise fail(f"token file {token_file} is empty")
    if not (token.isascii() and token.isprintable()):
        raise fail(f"token file {token_file} does not hold a token (tg_…, printable ASCII)")
    return token


def _print_reasons(answer: dict[str, Any]) -> None:
    for reason in answer.get("reasons", []):
        parts = [f"[bold]{reason['code']}[/]"]
        if "expected" in reason:
            parts.append(f"expected {reason['expected']}")
        if "found" in reason:
            parts.append(f"found {reason['found']}")
        if "eligible_at" in reason:
            parts.append(f"eligible at {reason['eligible_at']}")
        if "detail" in reason:
            parts.append(reason["detail"])
        err_console.print("  - " + "; ".join(parts), highlight=False)
    if answer.get("newest_allowed"):
        err_console.print(f"  newest allowed version: {answer['newest_allowed']}", highlight=False)


@app.command()
def check(
    tool: Annotated[str, typer.Argument(help="Tool name as in the inventory, e.g. trivy.")],
    version: Annotated[str, typer.Argument(help="Version the runner is about to fetch.")],
    sha256: Annotated[str | None, typer.Option(help="SHA-256 of the downloaded file.")] = None,
    asset: Annotated[
        str | None, typer.Option(help="Asset file name, e.g. trivy_0.69.3_Linux-64bit.tar.gz.")
    ] = None,
    server: Annotated[
        str, typer.Option(envvar="TOOLGATE_URL", help="toolgate's URL.")
    ] = DEFAULT_SERVER,
    token_file: Annotated[
        Path | None,
        typer.Option(envvar="TOOLGATE_TOKEN_FILE", help="File holding a `check` token."),
    ] = None,
    runner: Annotated[
        str | None, typer.Option(envvar="TOOLGATE_RUNNER", help="Runner id for the audit trail.")
    ] = None,
    job: Annotated[
        str | None, typer.Option(envvar="TOOLGATE_JOB", help="Job URL for the audit trail.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before giving up (exit 2).")] = 10.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the server's JSON answer.")
    ] = False,
) -> None:
    """Ask toolgate whether TOOL VERSION may be fetched. Exit 0 allow/warn, 1 deny, 2 error."""
    token = _read_token(token_file)
    params = {"tool": tool, "version": version}
    if sha256:
        params["sha256"] = sha256
    if asset:
        params["asset"] = asset
    headers: dict[str, str | bytes] = {
        "Authorization": f"Bearer {token}",
        "User-Agent": "toolgate-check",
    }
    caller = {"X-Toolgate-Runner": runner, "X-Toolgate-Job": job}
    headers.update({name: value.encode() for name, value in caller.items() if value})  # UTF-8
    try:
        response = httpx.get(
            f"{server.rstrip('/')}/v1/decision", params=params, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach toolgate at {server}: {exc}; do not fetch") from None
    try:
        answer = response.json()
    except ValueError:
        raise fail(
            f"toolgate answered {response.status_code} with a body that is not JSON"
        ) from None
    if response.status_code != 200:
        raise fail(f"toolgate answered {response.status_code}: {answer.get('detail', answer)}")
    if as_json:
        console.print_json(json.dumps(answer))
    outcome = answer.get("decision")
    label = f"{tool} {version}"
    if outcome == "allow":
        if not as_json:
            console.print(f"[green]allow[/] {label}", highlight=False)
        raise typer.Exit(int(ExitCode.OK))
    if outcome == "warn":
        err_console.print(f"[yellow]warn[/] {label}: allowed, but:", highlight=False)
        _print_reasons(answer)
        raise typer.Exit(int(ExitCode.OK))
    if outcome == "deny":
        err_console.print(f"[red]deny[/] {label}:", highlight=False)
        _print_reasons(answer)
        raise typer.Exit(int(ExitCode.DENIED))
    raise fail(f"toolgate answered an unknown decision {outcome!r}")
