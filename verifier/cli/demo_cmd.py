"""`toolgate demo`: replay the March 2026 Trivy compromise offline and show what toolgate did."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from verifier.cli.app import ExitCode, app, console, fail
from verifier.demo.daemon import DaemonError
from verifier.demo.replay import run_demo
from verifier.demo.results import Answer, DemoResult, Entry
from verifier.demo.scenario import TRIVY_2026

DEFAULT_SPEED = 36_000.0  # ten simulated hours per real second
_STYLE = {"allow": "green", "warn": "yellow", "deny": "bold red"}


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %H:%M")


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _answer(answer: Answer) -> str:
    ask = answer.ask
    asked = f"{ask.tool} {answer.version[:12] + '…' if ask.commit else answer.version}"
    if ask.asset:
        asked += " + sha256"
    style = _STYLE.get(answer.decision, "")
    verdict = f"[{style}]{answer.decision.upper()}[/]"
    reasons = f" {', '.join(answer.reasons)}" if answer.reasons else ""
    note = f"  [dim]({escape(ask.why)})[/]" if ask.why else ""
    when = "  [dim]first sight[/]" if answer.first_sight else ""
    return (
        f"  runner    {ask.runner} [dim]({ask.team})[/] asks {escape(asked)} → "
        f"{verdict}{escape(reasons)}{when}{note}"
    )


def _print_entry(entry: Entry) -> None:
    step = entry.step
    mark = "[bold red]⚠[/] " if step.malicious else ""
    console.print(f"\n[bold cyan]{_when(step.at)}[/]  {mark}[bold]{escape(step.title)}[/]")
    if step.detail:
        console.print(f"  [dim]{escape(step.detail)}[/]")
    for answer in (a for a in entry.answers if a.first_sight):
        console.print(_answer(answer))
    for detection in entry.detections:
        d = detection.detect
        console.print(
            f"  toolgate  {d.tool} {d.version}: [bold]{d.code}[/] after "
            f"{_seconds(detection.seconds)}"
        )
    for answer in (a for a in entry.answers if not a.first_sight):
        console.print(_answer(answer))
    for alert in entry.alerts:
        to = ", ".join(alert.recipients)
        console.print(f"  [magenta]mail[/]      {escape(alert.subject)} [dim]→ {to}[/]")
    for missing in entry.missing_alerts:
        console.print(f"  [red]no mail about {escape(missing)}[/]")


def _summary(result: DemoResult) -> None:
    events = Table(title="Malicious events", title_justify="left")
    for column in ("upstream event", "at", "toolgate's verdict", "denied after", "detected after"):
        events.add_column(column)
    events.add_column("alerts", justify="right")
    for entry in result.malicious:
        detected = "-" if not entry.detections else _seconds(entry.detected_after)
        events.add_row(
            escape(entry.step.label or entry.step.title),
            _when(entry.step.at),
            entry.verdict,
            _seconds(entry.denied_after),
            detected,
            str(sum(len(a.recipients) for a in entry.alerts)),
        )
    console.print()
    console.print(events)
    console.print(
        "[dim]denied after: the first answer that refused a runner; detected after: until "
        "toolgate's verdict named the cause (real seconds, with a 1 s poll interval).[/]"
    )
    exposed = Table(
        title="Exposed before the advisory (toolgate's exposure report)", title_justify="left"
    )
    for column in ("runner", "token", "build", "first fetch", "last fetch", "fetches"):
        exposed.add_column(column)
    for (tool, version), runners in result.exposure.items():
        for runner in runners:
            exposed.add_row(
                runner.runner,
                runner.token,
                f"{tool} {version[:12] + '…' if len(version) == 40 else version}",
                _when(result.simulated(runner.first_fetch)),
                _when(result.simulated(runner.last_fetch)),
                str(runner.fetches),
            )
    console.print(exposed)
    console.print(
        "[dim]Fetches answered allow or warn. The advisory names every trivy-action tag before "
        "0.35.0, so toolgate lists each fetch of 0.34.2, by tag or by the commit it pointed at, "
        "also those made before the tag moved (which got the good commit): first and last "
        "fetch tell them apart.[/]"
    )
    denied, exposed_early = result.runners_denied, result.exposed_before_advisory()
    console.print(
        f"Runners denied: [bold]{len(denied)}[/] ({', '.join(denied)})\n"
        f"Runners exposed before the advisory: [bold]{len(exposed_early)}[/] "
        f"({', '.join(exposed_early) or 'none'})\n"
        f"Alerts sent: [bold]{result.alerts_sent}[/] mails"
    )


@app.command()
def demo(
    speed: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Simulated seconds per real second (default: ten hours of the incident a "
            "second); toolgate's own reaction times stay real.",
        ),
    ] = DEFAULT_SPEED,
    keep: Annotated[
        Path | None,
        typer.Option(
            help="Run in this new (or empty) directory and keep it: configuration, store, "
            "received mails (.eml), reports, timeline.json and the daemon's log.",
        ),
    ] = None,
) -> None:
    """Replay the March 2026 Trivy compromise offline, against a real toolgate daemon.

    All on 127.0.0.1: a fake GitHub, advisory feeds, a mail sink and `toolgate serve`.

    Signatures come from a demo signing authority that only the demo's configuration trusts.

    Exit 0 when every malicious event was denied and the exposed runners were named, else 1.
    """
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise fail(f"--keep {keep}: choose a new or empty directory")
    console.print(f"[bold]toolgate demo[/] — {TRIVY_2026.title}")
    console.print(
        f"[dim]Simulated clock at {speed:g}x; toolgate runs on the real clock. Everything is "
        "on 127.0.0.1: fake GitHub, advisory feeds, mail sink, demo Sigstore, toolgate serve.[/]"
    )
    with tempfile.TemporaryDirectory(prefix="toolgate-demo-") as scratch:
        directory = keep or Path(scratch)
        try:
            result = run_demo(
                directory,
                speed=speed,
                on_entry=_print_entry,
                on_status=lambda text: console.print(f"[dim]… {escape(text)}[/]"),
            )
        except (DaemonError, OSError) as exc:
            raise fail(f"the demo could not run: {exc}") from None
        _summary(result)
    if keep is not None:
        kept = "config.toml, state/toolgate.db, mail/, reports/, timeline.json, toolgate.log"
        console.print(f"Kept in {keep}: {kept}")
    if result.ok:
        console.print(
            f"[bold green]✓ every malicious event was denied and the exposed runners were "
            f"named[/] ({result.seconds:.1f} s)"
        )
        return
    for problem in result.problems:
        console.print(f"[bold red]✗[/] {escape(problem)}")
    raise typer.Exit(int(ExitCode.DENIED))
