"""`toolgate scan`: find what pipelines fetch, judge it, optionally pin verified tags in place.

Exit codes: 0 nothing at or above --fail-on and every check ran; 1 findings at or above
--fail-on; 3 some checks could not run (`not-checked` findings; other findings may exist too);
2 usage or runtime error.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from verifier.cli.app import ExitCode, app, console, err_console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, load, open_store, store_snapshot
from verifier.config import Config
from verifier.errors import ConfigError
from verifier.inventory import sync_tools
from verifier.scan import fix as fixer
from verifier.scan.assess import Assessor
from verifier.scan.github_checks import GitHubChecks
from verifier.scan.model import Finding, ScanResult, Severity
from verifier.scan.pins import load_pins
from verifier.scan.report import to_json
from verifier.scan.rules import SEVERITIES, at_least
from verifier.scan.sarif import to_sarif
from verifier.scan.scan import scan as run_scan
from verifier.scan.suggest import suggestions, to_toml
from verifier.sources.github import GitHub
from verifier.sources.http import make_client
from verifier.store.engine import create_store_engine

NOT_CHECKED = 3
CACHE_FILE = "scan-github-cache.json"
_COLOURS = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


class Format(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def _github_checks(config: Config, offline: bool) -> GitHubChecks:
    cache = config.state_dir / CACHE_FILE
    if offline:
        return GitHubChecks(None, cache, unavailable="offline (--offline)")
    if not config.github.token_file:
        return GitHubChecks(None, cache, unavailable="no [github] token_file configured")
    try:
        client = make_client(config)
    except ConfigError as exc:
        return GitHubChecks(None, cache, unavailable=str(exc))
    return GitHubChecks(GitHub(client, config.github.api_url, retries=1, max_wait=5.0), cache)


def _judging_store(config: Config, offline: bool) -> Engine:
    """The store whose facts the scan judges against.

    Online: the configured store, migrated and synced with the inventory, as before. Offline:
    never written: the configured store read as the daemon keeps it (no migration, no sync), or,
    when there is no store yet, a throw-away one in memory holding only the inventory.
    """
    if not offline:
        engine = open_store(config)
        sync_tools(engine, config)
        return engine
    url = make_url(config.store_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or (database != ":memory:" and Path(database).is_file()):
        return create_store_engine(config.store_url)
    from verifier.store.migrate import upgrade  # alembic: only for a store that is not there

    engine = create_store_engine("sqlite://")
    upgrade(engine)
    sync_tools(engine, config)
    return engine


def exit_code(findings: tuple[Finding, ...], fail_on: Severity) -> int:
    """3 when a check did not run, else 1 when a finding reaches `fail_on`, else 0."""
    if any(not finding.checked for finding in findings):
        return NOT_CHECKED
    if any(at_least(finding.severity, fail_on) for finding in findings):
        return int(ExitCode.DENIED)
    return int(ExitCode.OK)


def _apply_fixes(result: ScanResult, files: dict[str, tuple[Path, str]]) -> int:
    """Rewrite every file with verified pins; returns how many refs were pinned."""
    pinned = 0
    for shown, (path, text) in files.items():
        edits = fixer.plan(text, (f for f in result.findings if f.location.path == shown))
        if not edits:
            continue
        try:
            if path.read_bytes() != text.encode("utf-8"):
                err_console.print(f"[yellow]skipped[/] {shown}: changed during the scan")
                continue
            path.write_bytes(fixer.apply(text, edits).encode("utf-8"))
        except OSError as exc:
            raise fail(f"cannot rewrite {shown}: {exc.strerror}") from None
        pinned += len(edits)
        err_console.print(f"[green]fixed[/] {shown}: {len(edits)} ref(s) pinned", highlight=False)
    return pinned


def _table(result: ScanResult) -> None:
    table = Table(
        title=f"toolgate scan: {len(result.files)} files, {len(result.references)} references"
    )
    for column in ("where", "severity", "rule", "what", "finding / fix"):
        table.add_column(column, overflow="fold")
    for finding in result.findings:
        where = f"{finding.location.path}:{finding.location.line}:{finding.location.column}"
        what = escape(finding.reference.label()) if finding.reference else ""
        colour = _COLOURS[finding.severity]
        table.add_row(
            where,
            f"[{colour}]{finding.severity}[/]",
            finding.rule,
            what,
            f"{escape(finding.message)}\n[dim]fix: {escape(finding.fix)}[/]",
        )
    if result.findings:
        console.print(table)
    else:
        console.print(
            f"{len(result.references)} references in {len(result.files)} files: nothing found"
        )


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Repository checkouts (or files) to scan.")],
    output_format: Annotated[
        Format, typer.Option("--format", "-f", help="table, json, or sarif (GitHub code scanning).")
    ] = Format.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")
    ] = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Rewrite tag refs of inventory actions to the commit toolgate verified, "
            "`@<sha> # <tag>`, changing nothing else in the file.",
        ),
    ] = False,
    suggest_inventory: Annotated[
        bool,
        typer.Option(
            "--suggest-inventory",
            help="Print TOML tool tables for the tools not in the inventory; exit 0.",
        ),
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Ask GitHub nothing; such checks say not-checked.")
    ] = False,
    fail_on: Annotated[
        str, typer.Option(help="Lowest severity that makes the exit code 1.")
    ] = "low",
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Scan GitHub workflows, composite actions and GitLab CI for every tool they fetch.

    Judges each action, image, setup-action version and shell install against the
    inventory, toolgate's recorded pins and the decision policy.

    Exit codes:
    0 nothing at or above --fail-on, and every check ran;
    1 findings at or above --fail-on;
    3 some checks could not run (not-checked: no token, rate limit, --offline);
    2 usage or runtime error.
    """
    if fail_on not in SEVERITIES:
        raise fail(f"--fail-on {fail_on!r}: use one of {', '.join(SEVERITIES)}")
    if output is not None and output_format is Format.table and not suggest_inventory:
        raise fail("--output needs --format json or sarif (or --suggest-inventory)")
    for path in paths:
        if not path.exists():
            raise fail(f"{path}: no such file or directory")
    config = load(config_path)
    engine = _judging_store(config, offline)
    try:
        snapshot = store_snapshot(engine, config)
        pins = load_pins(engine)
    except SQLAlchemyError as exc:
        problem = str(exc).splitlines()[0]
        raise fail(
            f"cannot read the store {engine.url!r}: {problem}; with --offline it is read as it "
            "is: run `toolgate db upgrade`, or scan without --offline"
        ) from None
    checks = _github_checks(config, offline)
    assessor = Assessor(config, snapshot, pins, checks)
    result, files = run_scan(paths, assessor.assess)
    if fix and _apply_fixes(result, files):
        result, _ = run_scan(paths, assessor.assess)  # report on the files as they are now
    checks.save()
    code = exit_code(result.findings, cast(Severity, fail_on))
    if suggest_inventory:
        text = to_toml(suggestions(result.findings, config))
        code = int(ExitCode.OK)
    elif output_format is Format.json:
        text = json.dumps(to_json(result, code), indent=2) + "\n"
    elif output_format is Format.sarif:
        text = json.dumps(to_sarif(result), indent=2) + "\n"
    else:
        text = ""
    if output is not None:
        output.write_text(text, encoding="utf-8")
    elif text:
        print(text, end="")
    if output_format is Format.table and not suggest_inventory:
        _table(result)
    if code == NOT_CHECKED:
        err_console.print(
            f"[yellow]{result.not_checked} check(s) could not run[/]: not a clean result (exit 3)",
            highlight=False,
        )
    raise typer.Exit(code)
