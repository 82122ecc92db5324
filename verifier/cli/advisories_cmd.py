"""`toolgate advisories import|sync|match|show|waive`: advisory data and how it weighs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from packaging.specifiers import InvalidSpecifier
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from advisories import Match, VersionError, find_advisories, import_paths, load_index
from advisories.ecosystems import KNOWN_ECOSYSTEMS, canonical_ecosystem
from verifier.advisory_feeds import (
    advisories_changed,
    advisory_client,
    refresh_incidents,
    sync_feeds,
)
from verifier.cli.app import ExitCode, app, console, err_console, fail
from verifier.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    actor,
    duration_option,
    load,
    open_store,
)
from verifier.errors import NotFoundError
from verifier.inventory import add_override, sync_tools
from verifier.leases import Leaser
from verifier.versioning import ApprovedVersions, is_specifier, parse_version

advisories_app = typer.Typer(
    help="Import, sync, match and waive advisories (OSV, GitHub, RSS/Atom, KEV).",
    no_args_is_help=True,
)
app.add_typer(advisories_app, name="advisories")

MAX_LISTED_SKIPS = 20


@advisories_app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="OSV JSON/YAML files, directories, zips.")],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every skipped record.")
    ] = False,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Import advisories from files; exit 1 if any record was skipped, 2 if a whole document
    (file, archive or archive member) could not be read (each is listed, with why)."""
    config = load(config_path)
    engine = open_store(config)
    for path in paths:
        if not path.exists():
            raise fail(f"{path}: no such file or directory")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console
    ) as progress:
        task = progress.add_task("reading advisories", total=None)

        def advance(records: int, origin: str) -> None:
            progress.update(task, description=f"{records} records ({Path(origin).name})")

        report = import_paths(engine, paths, progress=advance)
        progress.update(task, description="matching the inventory")
        sync_tools(engine, config)
        advisories_changed(engine)
        refresh_incidents(engine, config)
    console.print(
        f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped",
        highlight=False,
    )
    listed = report.skipped if verbose else report.skipped[:MAX_LISTED_SKIPS]
    for skipped in listed:
        err_console.print(f"  skipped {skipped}", highlight=False, markup=False)
    if len(listed) < len(report.skipped):
        err_console.print(f"  … and {len(report.skipped) - len(listed)} more (--verbose)")
    if unreadable := sum(skipped.unreadable for skipped in report.skipped):
        documents = "document" if unreadable == 1 else "documents"
        raise fail(f"{unreadable} {documents} could not be read (listed above)", ExitCode.ERROR)
    if report.skipped:
        raise typer.Exit(int(ExitCode.DENIED))


@advisories_app.command("sync")
def sync(
    feed: Annotated[
        list[str] | None, typer.Option(help="Only this \\[\\[feed]] (repeatable).")
    ] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Sync the configured feeds now; exit 1 if any feed failed."""
    config = load(config_path)
    if feed and (unknown := set(feed) - {f.name for f in config.feeds}):
        raise fail(f"no [[feed]] named {', '.join(sorted(unknown))} in {config.source_path}")
    engine = open_store(config)
    sync_tools(engine, config)
    with err_console.status("syncing advisory feeds") as status, advisory_client(config) as client:
        outcomes = sync_feeds(
            engine,
            config,
            client,
            names=feed,
            progress=lambda name: status.update(f"syncing {name}"),
            leaser=Leaser(engine, config.server.lease),
        )
        if any(outcome.changed for outcome in outcomes):
            status.update("matching the inventory")
            refresh_incidents(engine, config)
    for outcome in outcomes:
        if outcome.error:
            err_console.print(f"[red]{outcome.feed}: failed[/] {outcome.error}", highlight=False)
            continue
        report = outcome.report
        assert report is not None
        state = (
            "not modified"
            if report.not_modified
            else (
                f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
                f"{len(report.skipped)} skipped, {report.new_hits} new feed hits"
            )
        )
        console.print(f"{outcome.feed}: {state}", highlight=False)
    if not outcomes:
        err_console.print("no [[feed]] configured", markup=False)
    if any(outcome.error for outcome in outcomes):
        raise typer.Exit(int(ExitCode.DENIED))


def _match_json(match: Match) -> dict[str, Any]:
    return {
        "id": match.advisory_id,
        "group": match.group_id,
        "aliases": list(match.aliases),
        "severity": match.severity,
        "cvss_score": match.cvss_score,
        "known_exploited": match.known_exploited,
        "malicious": match.malicious,
        "summary": match.summary,
        "matched": match.reason,
        "matched_by": list(match.matched_by),
        "disagreeing": list(match.disagreeing),
        "covers_all_versions": match.covers_all_versions,
        "notes": list(match.notes),
    }


@advisories_app.command("match")
def match(
    ecosystem: Annotated[
        str,
        typer.Argument(
            help='OSV ecosystem, e.g. "Go", "PyPI", "Maven", "Debian", "Ubuntu:22.04", "Alpine".'
        ),
    ],
    package: Annotated[
        str, typer.Argument(help="Package name, e.g. github.com/aquasecurity/trivy.")
    ],
    version: Annotated[str, typer.Argument(help="Version to test.")],
    config_path: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Which stored advisories affect ECOSYSTEM PACKAGE VERSION, and through which range.

    Exit 0: none; 1: affected, or a record for the package could not be evaluated (each named,
    with why); 2: unknown ecosystem or a version the ecosystem cannot read.
    """
    if canonical_ecosystem(ecosystem) is None:
        known = ", ".join(sorted(KNOWN_ECOSYSTEMS, key=str.lower))
        raise fail(f"unknown ecosystem {ecosystem!r}; OSV ecosystems: {known}")
    engine = open_store(load(config_path))
    index = load_index(engine, packages=[(ecosystem, package)])
    try:
        result = index.explain(ecosystem, package, version)
    except VersionError as exc:
        raise fail(str(exc)) from None
    matches = [_match_json(m) for m in result.matches]
    if as_json:
        unevaluated = [{"id": u.advisory_id, "why": u.why} for u in result.unevaluated]
        print(json.dumps({"matches": matches, "unevaluated": unevaluated}, indent=2))
    else:
        for item in matches:
            names = ", ".join([item["id"], *item["aliases"]])
            console.print(
                f"[bold]{names}[/] ({item['severity'] or 'severity unknown'})", highlight=False
            )
            console.print(
                f"  {item['summary']}\n  {item['matched']}", highlight=False, markup=False
            )
        if not matches:
            console.print(f"no stored advisory affects {package} {version}", highlight=False)
        for record in result.unevaluated:
            err_console.print(f"could not evaluate {record}", highlight=False, markup=False)
    if matches or result.unevaluated:
        raise typer.Exit(int(ExitCode.DENIED))


@advisories_app.command("show")
def show(
    identifier: Annotated[
        str, typer.Argument(help="An advisory id or alias (GHSA-…, CVE-…, GO-…).")
    ],
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Print the stored records of an advisory (found by id or alias) as JSON; exit 1 if none."""
    records = find_advisories(open_store(load(config_path)), identifier)
    if not records:
        raise fail(f"no stored advisory is named {identifier}", ExitCode.DENIED)
    out = []
    for record in records:
        out.append(
            {
                "id": record.id,
                "aliases": list(record.aliases),
                "source": record.source,
                "summary": record.summary,
                "severity": record.effective_severity,
                "cvss_score": record.cvss_score,
                "published": record.published.isoformat() if record.published else None,
                "modified": record.modified.isoformat(),
                "withdrawn": record.withdrawn.isoformat() if record.withdrawn else None,
                "affected": [
                    {
                        "ecosystem": a.ecosystem,
                        "package": a.name,
                        "ranges": [f"{r.type}: {r.describe()}" for r in a.ranges],
                        "versions": list(a.versions),
                    }
                    for a in record.affected
                ],
                "references": [ref.url for ref in record.references],
            }
        )
    print(json.dumps(out, indent=2))


@advisories_app.command("waive")
def waive(
    identifier: Annotated[
        str, typer.Argument(help="Advisory id or alias; covers its alias group.")
    ],
    tool: Annotated[str, typer.Option(help="Inventory tool the waiver applies to.")],
    reason: Annotated[str, typer.Option(help="Why it does not apply; shown in decisions.")],
    expires: Annotated[str, typer.Option(help='Required: lapse after a duration, e.g. "30d".')],
    versions: Annotated[
        str | None,
        typer.Option(
            help='Only these versions: an exact version ("0.2.5") or a specifier (">=0.69.5").'
        ),
    ] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Waive an advisory for a tool (its whole alias group), until it expires; audited."""
    if not reason.strip():
        raise fail("--reason is required")
    if versions is not None and not _versions_entry(versions):
        raise fail(
            f'--versions "{versions}" is neither a version ("0.2.5") nor a specifier (">=0.69.5")'
        )
    expires_in = duration_option(expires, "--expires")
    config = load(config_path)
    engine = open_store(config)
    sync_tools(engine, config)
    try:
        waiver_id = add_override(
            engine,
            kind="waive",
            tool=tool,
            actor=actor(),
            reason=reason,
            version=versions,
            advisory=identifier,
            expires_in=expires_in,
        )
    except NotFoundError as exc:
        raise fail(str(exc)) from None
    refresh_incidents(engine, config)
    console.print(f"waiver #{waiver_id} recorded; revoke it with `toolgate revoke {waiver_id}`")


def _versions_entry(entry: str) -> bool:
    """Whether `entry` is what a waiver's `versions` takes: an exact version or a specifier."""
    try:
        ApprovedVersions([entry])
    except InvalidSpecifier:
        return False
    return is_specifier(entry) or parse_version(entry) is not None
