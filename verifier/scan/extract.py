"""Turn parsed pipeline files into references: every action, image, tool version and shell
install they fetch, each with its exact position.

One walker serves GitHub workflows, composite actions and GitLab CI: the keys that fetch
(`uses`, `run`, `script`, `image`, `container`, `services`) mean the same wherever they appear;
inputs and environment blocks (`with`, `env`, `variables`) are only read next to a `uses`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from verifier.scan.model import Location, Reference, Span
from verifier.scan.parse import MappingNode, Node, ScalarNode, SequenceNode, pairs, scalar
from verifier.scan.refs import comment_version, parse_image, parse_uses, version_pin
from verifier.scan.shell import shell_hits

_SHELL_KEYS = frozenset({"run", "script", "before_script", "after_script"})
_OPAQUE_KEYS = frozenset(
    {"with", "env", "variables", "inputs", "outputs", "secrets", "permissions"}
)
# Setup actions whose inputs name the version of a tool they download: input -> tool repo.
SETUP_ACTIONS: dict[str, dict[str, str]] = {
    "aquasecurity/trivy-action": {"version": "aquasecurity/trivy"},
    "aquasecurity/setup-trivy": {"version": "aquasecurity/trivy"},
    "goreleaser/goreleaser-action": {"version": "goreleaser/goreleaser"},
    "sigstore/cosign-installer": {"cosign-release": "sigstore/cosign"},
    "anchore/sbom-action/download-syft": {"syft-version": "anchore/syft"},
    "golangci/golangci-lint-action": {"version": "golangci/golangci-lint"},
    "hashicorp/setup-terraform": {"terraform_version": "hashicorp/terraform"},
    "helm/kind-action": {"version": "kubernetes-sigs/kind"},
    "azure/setup-helm": {"version": "helm/helm"},
}
_NAME_AFFIXES = ("setup-", "install-", "-action", "-installer", "-setup")


def extract(path: str, text: str, documents: list[Node]) -> list[Reference]:
    """Every reference in the parsed `documents` of the file at `path`."""
    return list(_Extractor(path, text).run(documents))


class _Extractor:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self._visited: set[int] = set()

    def run(self, documents: list[Node]) -> Iterator[Reference]:
        for document in documents:
            yield from self._visit(document)

    # ---- positions ----------------------------------------------------------------------

    def _location(self, index: int) -> Location:
        line = bisect.bisect_right(self._line_starts, index) - 1
        return Location(self.path, line + 1, index - self._line_starts[line] + 1)

    def _at(self, node: Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def _rest_of_line(self, node: Node) -> str:
        end = node.end_mark.index
        newline = self.text.find("\n", end)
        return self.text[end : newline if newline >= 0 else len(self.text)]

    # ---- the walk -----------------------------------------------------------------------

    def _visit(self, node: Node) -> Iterator[Reference]:
        if id(node) in self._visited:  # an alias: its anchor was (or is being) read
            return
        self._visited.add(id(node))
        if isinstance(node, SequenceNode):
            for item in node.value:
                yield from self._visit(item)
        elif isinstance(node, MappingNode):
            yield from self._mapping(node)

    def _mapping(self, node: MappingNode) -> Iterator[Reference]:
        entries = dict(pairs(node))
        uses = entries.get("uses")
        if isinstance(uses, ScalarNode):
            yield from self._uses(uses, entries.get("with"))
        for key, value in entries.items():
            if key in _SHELL_KEYS:
                yield from self._shell(value)
            elif key in ("image", "container"):
                yield from self._image(value)
            elif key == "services" and isinstance(value, SequenceNode):
                for item in value.value:
                    yield from self._image(item)
            elif key not in _OPAQUE_KEYS and key != "uses":
                yield from self._visit(value)

    # ---- what fetches -------------------------------------------------------------------

    def _uses(self, node: ScalarNode, inputs: Node | None) -> Iterator[Reference]:
        parsed = parse_uses(str(node.value))
        if parsed is None:
            return
        where, span = self._at(node), Span(node.start_mark.index, node.end_mark.index)
        if parsed.kind == "docker":
            yield from self._image(node)
            return
        if parsed.kind == "local":
            yield Reference("local-action", parsed.path, None, "missing", where, node.value)
            return
        single_line = node.start_mark.line == node.end_mark.line
        comment = comment_version(self._rest_of_line(node)) if single_line else None
        action = Reference(
            parsed.kind,  # type: ignore[arg-type]
            parsed.subject,
            parsed.ref,
            parsed.pin,
            where,
            str(node.value),
            repo=parsed.repo,
            comment=comment,
            span=span if single_line else None,
        )
        yield action
        if isinstance(inputs, MappingNode):
            yield from self._setup_versions(action, inputs)

    def _setup_versions(self, action: Reference, inputs: MappingNode) -> Iterator[Reference]:
        known = SETUP_ACTIONS.get(action.subject.lower(), {})
        for key, value in pairs(inputs):
            version = scalar(value)
            if version is None or not (key in known or key.lower().endswith("version")):
                continue
            if key in known:
                subject, repo = known[key], known[key]
            elif key.lower() == "version":
                subject, repo = _tool_name(action.subject), None
            else:
                subject, repo = key[: -len("version")].rstrip("-_").lower(), None
            if not subject:
                continue
            yield Reference(
                "setup-version",
                subject,
                version,
                version_pin(version),
                self._at(value),
                f"{key}: {version}",
                repo=repo,
                via=action.subject,
            )

    def _image(self, node: Node) -> Iterator[Reference]:
        if id(node) in self._visited:  # a merged or aliased image: read once, at its anchor
            return
        self._visited.add(id(node))
        if isinstance(node, MappingNode):  # GitLab `image: {name: …}`, GitHub container/services
            entries = dict(pairs(node))
            target = entries.get("name") or entries.get("image")
            if isinstance(target, ScalarNode):
                yield from self._image(target)
            for key, value in entries.items():
                if key not in ("name", "image") and key not in _OPAQUE_KEYS:
                    yield from self._visit(value)
            return
        value = scalar(node)
        image = parse_image(value) if value else None
        if value is None or image is None:
            return
        yield Reference("image", image.name, image.ref, image.pin, self._at(node), value)

    def _shell(self, node: Node) -> Iterator[Reference]:
        scripts = node.value if isinstance(node, SequenceNode) else [node]
        for script in scripts:
            if not isinstance(script, ScalarNode) or id(script) in self._visited:
                continue
            self._visited.add(id(script))
            source_start, source_end = script.start_mark.index, script.end_mark.index
            cursor = source_start
            for hit in shell_hits(str(script.value)):
                found = self.text.find(hit.token, cursor, source_end)
                where = self._location(found) if found >= 0 else self._at(script)
                cursor = found + len(hit.token) if found >= 0 else cursor
                yield Reference(
                    hit.kind,
                    hit.subject,
                    hit.ref,
                    hit.pin,
                    where,
                    hit.token,
                    repo=hit.repo,
                    asset=hit.asset,
                )


def _tool_name(action: str) -> str:
    """The tool a generic setup action installs: `owner/setup-foo` -> `foo`."""
    name = action.split("/")[1].lower()
    for affix in _NAME_AFFIXES:
        name = name.removeprefix(affix) if affix.endswith("-") else name.removesuffix(affix)
    return name
