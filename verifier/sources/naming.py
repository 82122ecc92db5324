"""Which upstream a tool's `source` names."""

from __future__ import annotations

from verifier.config import ToolConfig


def github_repo(tool: ToolConfig) -> str | None:
    """OWNER/REPO of a `github:` source, else None."""
    return tool.source.removeprefix("github:") if tool.source.startswith("github:") else None


def pypi_project(tool: ToolConfig) -> str | None:
    """The project name of a `pypi:` source, else None."""
    return tool.source.removeprefix("pypi:") if tool.source.startswith("pypi:") else None
