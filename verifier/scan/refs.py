"""Pure parsers for what workflow files name: `uses:` refs, image references, versions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifier.scan.model import Pin

FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
_TEMPLATE = re.compile(r"\$\{\{|\$\{?[A-Za-z_][A-Za-z0-9_]*")
_VERSION = re.compile(r"v?\d+(\.\d+)*([.+-][0-9A-Za-z.+-]*)?")
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_COMMENT_VERSION = re.compile(
    r"^\s+#\s*(?:tag[=:]\s*|pin@|ratchet:\S*@)?(v?\d[0-9A-Za-z.+-]*)", re.IGNORECASE
)
MOVABLE_VERSIONS = frozenset({"", "latest", "stable", "nightly", "edge", "main", "master", "*"})


def is_templated(value: str) -> bool:
    """Whether `value` is computed at run time (`${{ … }}`, `$VAR`, `${VAR}`)."""
    return _TEMPLATE.search(value) is not None


def looks_like_version(value: str) -> bool:
    """`v1`, `0.33.1`, `v4.2.2-rc.1`: a name shaped like a release version."""
    return _VERSION.fullmatch(value) is not None


def version_pin(value: str) -> Pin:
    """How a version string passed to an installer pins: exactly, by template, or not at all."""
    if is_templated(value):
        return "templated"
    if value.strip().lower() in MOVABLE_VERSIONS:
        return "missing"
    if any(ch in value for ch in "<>~^*=,") or value.endswith(".x"):
        return "range"
    return "version"


def comment_version(rest_of_line: str) -> str | None:
    """The version a trailing comment claims: `# v4.2.2`, `# tag=v4.2.2`, `# pin@v4.2.2`."""
    match = _COMMENT_VERSION.match(rest_of_line)
    return match[1] if match else None


@dataclass(frozen=True, slots=True)
class UsesRef:
    """A parsed `uses:` value. `kind` is "action", "reusable-workflow", "local" or "docker";
    `repo` is OWNER/REPO, `path` the sub-path inside it, `ref` what follows `@`."""

    kind: str
    repo: str | None
    path: str
    ref: str | None
    pin: Pin

    @property
    def subject(self) -> str:
        return f"{self.repo}/{self.path}" if self.repo and self.path else (self.repo or self.path)


def classify_ref(ref: str | None) -> Pin:
    """A full 40-hex commit is `sha`; a version-shaped name is `tag`; any other name `branch`."""
    if ref is None or not ref.strip():
        return "missing"
    if is_templated(ref):
        return "templated"
    if FULL_SHA.fullmatch(ref):
        return "sha"
    if looks_like_version(ref):
        return "tag"
    return "branch"


def parse_uses(value: str) -> UsesRef | None:
    """Parse `owner/repo[/path][@ref]`, `./local`, or `docker://image`; None if it is neither."""
    value = value.strip()
    if value.startswith(("./", "../")) or value == ".":
        return UsesRef("local", None, value, None, "missing")
    if value.startswith("docker://"):
        return UsesRef("docker", None, value.removeprefix("docker://"), None, "missing")
    target, at, ref = value.partition("@")
    parts = target.split("/")
    if len(parts) < 2 or not _OWNER.fullmatch(parts[0]) or not _REPO.fullmatch(parts[1]):
        return None
    path = "/".join(parts[2:])
    kind = "reusable-workflow" if path.startswith(".github/workflows/") else "action"
    written = ref if at else None
    return UsesRef(kind, f"{parts[0]}/{parts[1]}", path, written, classify_ref(written))


@dataclass(frozen=True, slots=True)
class ImageRef:
    """`[registry/]name[:tag][@sha256:…]`; `name` has the registry when one was written."""

    name: str
    tag: str | None
    digest: str | None

    @property
    def pin(self) -> Pin:
        if self.digest:
            return "digest"
        if is_templated(self.name) or (self.tag and is_templated(self.tag)):
            return "templated"
        if self.tag is None or self.tag == "latest":
            return "missing"
        return "tag"

    @property
    def ref(self) -> str | None:
        return self.digest or self.tag

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def parse_image(value: str) -> ImageRef | None:
    """Parse an image reference; None for an empty value or a Dockerfile path."""
    value = value.strip().removeprefix("docker://")
    if not value or value.lower().endswith("dockerfile") or any(c.isspace() for c in value):
        return None
    name, at, digest = value.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        digest = ""
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return ImageRef(name, tag or None, digest or None)
