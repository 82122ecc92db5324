"""Small things users see: `--help` and errors keep bracketed config names (`[server] listen`,
`[[feed]]`) that Rich markup would swallow; a waiver takes an exact version, as documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from verifier.cli import app
from verifier.tokens import TOKEN_PREFIX

BRACKETED = re.compile(r"\\?\[\[?[a-z][a-z_.]*\]\]?")


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    context = typer.Context(group)  # through Click's API: the root group loads commands lazily
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield (*path, name), command
        if hasattr(command, "commands"):  # a group of subcommands
            yield from _commands(command, (*path, name))


def test_help_texts_keep_their_bracketed_words():
    root = typer.main.get_command(app)
    checked = 0
    for path, command in _commands(root):
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        wanted = {m.replace("\\", "") for text in texts for m in BRACKETED.findall(text)}
        if not wanted:
            continue
        shown = CliRunner().invoke(app, [*path, "--help"], terminal_width=240)
        assert shown.exit_code == 0, shown.output
        flat = " ".join(shown.output.replace("│", " ").split())
        for word in wanted:
            assert word in flat, f"`toolgate {' '.join(path)} --help` lost {word}"
            checked += 1
    assert checked >= 3


def test_error_messages_keep_their_bracketed_words(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "t.db"}"\n')
    result = CliRunner().invoke(app, ["advisories", "sync", "--feed", "nope", "-c", str(config)])
    assert result.exit_code == 2
    assert "no [[feed]] named nope" in result.stderr


def test_a_waiver_takes_an_exact_version_as_the_readme_says(write_config):
    config = ["-c", str(write_config().source_path)]
    waive = ["advisories", "waive", "GHSA-69fq-xp46-6x23", "--tool", "trivy"]
    options = ["--reason", "not reachable here", "--expires", "30d", *config]
    exact = CliRunner().invoke(app, [*waive, "--versions", "0.2.5", *options])
    assert exact.exit_code == 0, exact.output
    bad = CliRunner().invoke(app, [*waive, "--versions", ">>0.2", *options])
    assert bad.exit_code == 2 and 'neither a version ("0.2.5") nor a specifier' in bad.stderr


def test_token_create_writes_a_file_only_its_owner_can_read(write_config, tmp_path):
    config = ["-c", str(write_config().source_path)]
    path = tmp_path / "runner.token"
    create = ["token", "create", "--name", "runner-eu-1", "--scope", "check"]
    made = CliRunner().invoke(app, [*create, "--output", str(path), *config])
    assert made.exit_code == 0, made.output
    assert made.stdout == "" and "(mode 0600)" in made.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith(TOKEN_PREFIX) and path.read_text().endswith("\n")
    again = CliRunner().invoke(
        app, [*create[:3], "runner-eu-2", *create[4:], "-o", str(path), *config]
    )
    assert again.exit_code == 2 and "exists" in again.stderr


def test_explain_names_what_it_cannot_explain(write_config, tmp_path):
    config = ["-c", str(write_config().source_path)]
    unknown = CliRunner().invoke(app, ["explain", "trivy", "9.9.9", *config])
    assert unknown.exit_code == 2 and "no release 9.9.9 of trivy is recorded" in unknown.stderr
    one_word = CliRunner().invoke(app, ["explain", str(tmp_path / "trivy")])
    assert one_word.exit_code == 2 and "give TOOL VERSION" in one_word.stderr
