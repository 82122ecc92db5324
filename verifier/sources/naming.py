"""Which upstream a tool's `source` names, and the file names its templates give."""

from __future__ import annotations

from verifier.config import ToolConfig
from verifier.versioning import canonical_version


def github_repo(tool: ToolConfig) -> str | None:
    """OWNER/REPO of a `github:` source, else None."""
    return tool.source.removeprefix("github:") if tool.source.startswith("github:") else None


def pypi_project(tool: ToolConfig) -> str | None:
    """The project name of a `pypi:` source, else None."""
    return tool.source.removeprefix("pypi:") if tool.source.startswith("pypi:") else None


def url_template(tool: ToolConfig) -> str | None:
    """The templated URL of a `url:` source, else None."""
    return tool.source.removeprefix("url:") if tool.source.startswith("url:") else None


def render(template: str, *, tag: str, asset: str = "") -> str:
    """Fill `{version}` (the tag without a leading v), `{tag}` and `{asset}` in a template."""
    values = {"{version}": canonical_version(tag), "{tag}": tag, "{asset}": asset}
    for key, value in values.items():
        template = template.replace(key, value)
    return template
