"""`toolgate check`, the runner side: what a CI job calls before fetching a tool.

Exit 0 allow (or warn), 1 deny, 2 error. A runner must treat 2 as "do not fetch".

It runs in every job, so it imports only the standard library, httpx and rich's console: the
`toolgate` entry point (`verifier.entry`) hands it the arguments without loading the rest of the
command line (Typer, the store, the advisory index).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx

from verifier.terminal import ExitCode, consoles, print_error

DEFAULT_SERVER = "http://127.0.0.1:8750"
SUMMARY = "Ask toolgate whether TOOL VERSION may be fetched. Exit 0 allow/warn, 1 deny, 2 error."


class _Stop(Exception):
    def __init__(self, code: ExitCode) -> None:
        self.code = code


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise _Stop(ExitCode.ERROR)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None  # an empty variable counts as unset, as in Click


def parser() -> argparse.ArgumentParser:
    """The options, each overridable by its TOOLGATE_* environment variable where it has one."""
    cli = argparse.ArgumentParser(
        prog="toolgate check",
        description=SUMMARY + ' A runner must treat 2 as "do not fetch".',
        allow_abbrev=False,
    )
    cli.add_argument("tool", metavar="TOOL", help="Tool name as in the inventory, e.g. trivy.")
    cli.add_argument("version", metavar="VERSION", help="Version the runner is about to fetch.")
    cli.add_argument("--sha256", metavar="HEX", help="SHA-256 of the downloaded file.")
    cli.add_argument(
        "--asset", metavar="NAME", help="Asset file name, e.g. trivy_0.69.3_Linux-64bit.tar.gz."
    )
    cli.add_argument(
        "--server",
        metavar="URL",
        default=_env("TOOLGATE_URL") or DEFAULT_SERVER,
        help=f"toolgate's URL [env var: TOOLGATE_URL] [default: {DEFAULT_SERVER}]",
    )
    cli.add_argument(
        "--token-file",
        metavar="FILE",
        type=Path,
        default=_env("TOOLGATE_TOKEN_FILE"),
        help="File holding a `check` token. [env var: TOOLGATE_TOKEN_FILE]",
    )
    cli.add_argument(
        "--runner",
        metavar="ID",
        default=_env("TOOLGATE_RUNNER"),
        help="Runner id for the audit trail. [env var: TOOLGATE_RUNNER]",
    )
    cli.add_argument(
        "--job",
        metavar="URL",
        default=_env("TOOLGATE_JOB"),
        help="Job URL for the audit trail. [env var: TOOLGATE_JOB]",
    )
    cli.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="Seconds before giving up (exit 2). [default: 10.0]",
    )
    cli.add_argument(
        "--json", dest="as_json", action="store_true", help="Print the server's JSON answer."
    )
    return cli


def _read_token(token_file: Path | None) -> str:
    if token_file is None:
        _fail("no token: pass --token-file or set TOOLGATE_TOKEN_FILE")
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        _fail(f"cannot read token file {token_file}: {exc.strerror}")
    except UnicodeDecodeError:
        _fail(f"token file {token_file} is not text: it should hold a tg_… token")
    if not token:
        _fail(f"token file {token_file} is empty")
    if not (token.isascii() and token.isprintable()):
        _fail(f"token file {token_file} does not hold a token (tg_…, printable ASCII)")
    return token


def _print_reasons(answer: dict[str, Any]) -> None:
    err = consoles()[1]
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
        err.print("  - " + "; ".join(parts), highlight=False)
    if answer.get("newest_allowed"):
        err.print(f"  newest allowed version: {answer['newest_allowed']}", highlight=False)


def _ask(options: argparse.Namespace) -> dict[str, Any]:
    token = _read_token(options.token_file)
    params = {"tool": options.tool, "version": options.version}
    if options.sha256:
        params["sha256"] = options.sha256
    if options.asset:
        params["asset"] = options.asset
    headers: dict[str, str | bytes] = {
        "Authorization": f"Bearer {token}",
        "User-Agent": "toolgate-check",
    }
    caller = {"X-Toolgate-Runner": options.runner, "X-Toolgate-Job": options.job}
    headers.update({name: value.encode() for name, value in caller.items() if value})  # UTF-8
    server = options.server
    try:
        response = httpx.get(
            f"{server.rstrip('/')}/v1/decision",
            params=params,
            headers=headers,
            timeout=options.timeout,
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach toolgate at {server}: {exc}; do not fetch")
    try:
        answer = response.json()
    except ValueError:
        _fail(f"toolgate answered {response.status_code} with a body that is not JSON")
    if response.status_code != 200:
        _fail(f"toolgate answered {response.status_code}: {answer.get('detail', answer)}")
    return answer


def _report(options: argparse.Namespace, answer: dict[str, Any]) -> ExitCode:
    out, err = consoles()
    if options.as_json:
        out.print_json(json.dumps(answer))
    outcome = answer.get("decision")
    label = f"{options.tool} {options.version}"
    if outcome == "allow":
        if not options.as_json:
            out.print(f"[green]allow[/] {label}", highlight=False)
        return ExitCode.OK
    if outcome == "warn":
        err.print(f"[yellow]warn[/] {label}: allowed, but:", highlight=False)
        _print_reasons(answer)
        return ExitCode.OK
    if outcome == "deny":
        err.print(f"[red]deny[/] {label}:", highlight=False)
        _print_reasons(answer)
        return ExitCode.DENIED
    _fail(f"toolgate answered an unknown decision {outcome!r}")


def main(args: Sequence[str]) -> int:
    """Run `toolgate check ARGS`; the exit code (argparse exits 2 itself on a usage error)."""
    options = parser().parse_args(args)
    try:
        return int(_report(options, _ask(options)))
    except _Stop as stop:
        return int(stop.code)
