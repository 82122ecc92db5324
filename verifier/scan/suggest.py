"""`--suggest-inventory`: draft `[[tool]]` tables for the tools a scan found outside the
inventory, each validated by the configuration's own model before it is printed."""

from __future__ import annotations

import json
from collections.abc import Iterable

from verifier.config import Config, ToolConfig
from verifier.scan.model import Finding
from verifier.scan.refs import looks_like_version


def suggestions(findings: Iterable[Finding], config: Config) -> list[ToolConfig]:
    """One tool per unknown GitHub repository or PyPI project, with the exact versions seen."""
    taken = {tool.name for tool in config.tools}
    drafts: dict[tuple[str, str], tuple[str, set[str]]] = {}  # (source, kind) -> (name, versions)
    for finding in findings:
        reference = finding.reference
        if finding.rule != "unknown-tool" or reference is None:
            continue
        if reference.repo is not None:
            source = f"github:{reference.repo}"
            kind = "action" if reference.kind in ("action", "reusable-workflow") else "binary"
            name = reference.repo if kind == "action" else reference.repo.split("/")[1]
        elif reference.kind == "pip":
            source, kind = reference.subject, "binary"
            name = reference.subject.removeprefix("pypi:")
        else:
            continue
        entry = drafts.setdefault((source, kind), (name, set()))
        version = reference.comment if reference.pin == "sha" else reference.ref
        if version and looks_like_version(version) and reference.pin != "templated":
            entry[1].add(version)
    tools = []
    for (source, kind), (name, versions) in sorted(drafts.items()):
        unique = name if name not in taken else source.split(":", 1)[1]
        taken.add(unique)
        tools.append(
            ToolConfig(name=unique, source=source, kind=kind, versions=sorted(versions))  # type: ignore[arg-type]
        )
    return tools


def to_toml(tools: Iterable[ToolConfig]) -> str:
    """The tables as TOML (strings JSON-quoted, which TOML basic strings accept)."""
    blocks = []
    for tool in tools:
        lines = [
            "[[tool]]",
            f"name = {json.dumps(tool.name)}",
            f"source = {json.dumps(tool.source)}",
        ]
        if tool.kind != "binary":
            lines.append(f"kind = {json.dumps(tool.kind)}")
        lines.append(f"versions = [{', '.join(json.dumps(v) for v in tool.versions)}]")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
