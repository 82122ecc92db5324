"""Checksums files: GNU and BSD `sha256sum`/`sha512sum`, goreleaser, single-hash, aqua JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from verifier.verify.errors import AssetNotListed, ChecksumFormatError
from verifier.verify.nesting import too_deep
from verifier.verify.results import Failure, Reason


class Algorithm(StrEnum):
    """Digest algorithms checksums files use, told apart by the hex length."""

    SHA256 = "sha256"
    SHA512 = "sha512"


class Style(StrEnum):
    """Line styles `format_checksums` writes."""

    GNU = "gnu"  # "<hex>  name" (goreleaser too)
    GNU_BINARY = "gnu-binary"  # "<hex> *name"
    BSD = "bsd"  # "SHA256 (name) = <hex>"


_HEX_LENGTH = {64: Algorithm.SHA256, 128: Algorithm.SHA512}
_BSD_NAMES = {"SHA256": Algorithm.SHA256, "SHA512": Algorithm.SHA512}
_GNU = re.compile(r"(?P<hex>[0-9a-fA-F]+)(?: [ *]?(?P<name>\S.*))?")
_BSD = re.compile(r"(?P<algo>SHA256|SHA512) \((?P<name>.+)\) = (?P<hex>[0-9a-fA-F]+)")
_SINGLE_SUFFIXES = (".sha256", ".sha512", ".sha256sum", ".sha512sum")


@dataclass(frozen=True)
class ChecksumEntry:
    """One expected digest. `name` is None for a bare-hash file (it names no asset)."""

    name: str | None
    algorithm: Algorithm
    digest: str  # lowercase hex
    line: int


@dataclass(frozen=True)
class Checksums:
    """A parsed checksums file."""

    source: str
    entries: tuple[ChecksumEntry, ...]

    def lookup(self, asset: str) -> ChecksumEntry:
        """The entry for `asset` (the strongest algorithm if several); raise AssetNotListed."""
        matches = [e for e in self.entries if _names(e, asset, len(self.entries))]
        if not matches:
            listed = ", ".join(sorted({e.name or "?" for e in self.entries})[:5])
            raise AssetNotListed(
                f"{self.source} has no checksum for {asset!r} (it lists {listed}"
                f"{', ...' if len(self.entries) > 5 else ''}): check the asset name or the "
                "checksums file template"
            )
        best = max(matches, key=lambda e: e.algorithm == Algorithm.SHA512)
        if any(e.algorithm == best.algorithm and e.digest != best.digest for e in matches):
            lines = ", ".join(str(e.line) for e in matches)
            raise ChecksumFormatError(
                f"{self.source} lists {asset!r} with different digests (lines {lines})"
            )
        return best


def check_digest(entry: ChecksumEntry, sha256: str, sha512: str | None) -> Failure | None:
    """`None` if the artifact's digest equals the entry's, else a checksum-mismatch failure."""
    actual = sha256 if entry.algorithm == Algorithm.SHA256 else sha512
    if actual is None:
        return Failure(
            Reason.NOT_VERIFIED,
            f"the checksums file gives a {entry.algorithm} digest, which was not computed",
        )
    if actual.lower() == entry.digest:
        return None
    return Failure(
        Reason.CHECKSUM_MISMATCH,
        f"the artifact's {entry.algorithm} differs from the checksums file (line {entry.line})",
        expected=entry.digest,
        found=actual.lower(),
    )


def parse_checksums(text: str, source: str = "<checksums>") -> Checksums:
    """Parse any supported format; `source` (the file name) is used in messages."""
    if text.lstrip().startswith("{"):
        return Checksums(source, tuple(_parse_aqua(text, source)))
    return Checksums(source, tuple(_parse_lines(text, source)))


def format_checksums(entries: Iterable[ChecksumEntry], style: Style = Style.GNU) -> str:
    """Write entries in a `sha256sum`-compatible style (names must be set)."""
    lines = []
    for e in entries:
        name = e.name or ""
        escaped = "\\" if "\\" in name or "\n" in name else ""
        name = name.replace("\\", "\\\\").replace("\n", "\\n") if escaped else name
        if style == Style.BSD:
            lines.append(f"{escaped}{e.algorithm.upper()} ({name}) = {e.digest}")
        else:
            mode = "*" if style == Style.GNU_BINARY else " "
            lines.append(f"{escaped}{e.digest} {mode}{name}")
    return "".join(line + "\n" for line in lines)


def _names(entry: ChecksumEntry, asset: str, count: int) -> bool:
    if entry.name is None:
        return count == 1
    return entry.name == asset or entry.name.endswith("/" + asset)


def _parse_lines(text: str, source: str) -> Iterable[ChecksumEntry]:
    found = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = _parse_line(line, number, source)
        if entry is None:
            raise ChecksumFormatError(
                f"{source} line {number}: {line[:80]!r} is not a checksum line: expected "
                "'<hex>  name', '<hex> *name', 'SHA256 (name) = <hex>' or a bare hex digest"
            )
        found = True
        yield entry
    if not found:
        raise ChecksumFormatError(f"{source} contains no checksum")


def _parse_line(line: str, number: int, source: str) -> ChecksumEntry | None:
    escaped = line.startswith("\\")
    body = line[1:] if escaped else line
    if m := _BSD.fullmatch(body):
        algorithm = _BSD_NAMES[m["algo"]]
        if len(m["hex"]) != {Algorithm.SHA256: 64, Algorithm.SHA512: 128}[algorithm]:
            return None
        return ChecksumEntry(_unescape(m["name"], escaped), algorithm, m["hex"].lower(), number)
    m = _GNU.fullmatch(body.strip())
    if m is None or len(m["hex"]) not in _HEX_LENGTH:
        return None
    name = _single_file_name(source) if m["name"] is None else _unescape(m["name"], escaped)
    return ChecksumEntry(name, _HEX_LENGTH[len(m["hex"])], m["hex"].lower(), number)


def _single_file_name(source: str) -> str | None:
    base = source.rsplit("/", 1)[-1]
    for suffix in _SINGLE_SUFFIXES:
        if base.endswith(suffix):
            return base.removesuffix(suffix)
    return None


def _unescape(name: str, escaped: bool) -> str:
    if not escaped:
        return name
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], name)


def _parse_aqua(text: str, source: str) -> Iterable[ChecksumEntry]:
    if why := too_deep(text.encode()):
        raise ChecksumFormatError(f"{source}: {why}")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ChecksumFormatError(f"{source} is not valid JSON: {exc}") from exc
    items = doc.get("checksums") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ChecksumFormatError(
            f'{source}: JSON checksums must be aqua\'s {{"checksums": [...]}} format'
        )
    for index, item in enumerate(items, start=1):
        fields = ("id", "checksum")
        ok = isinstance(item, dict) and all(isinstance(item.get(k), str) for k in fields)
        algorithm = _HEX_LENGTH.get(len(item["checksum"])) if ok else None
        if not ok or algorithm is None or not re.fullmatch(r"[0-9a-fA-F]+", item["checksum"]):
            raise ChecksumFormatError(f"{source} checksums[{index}]: {str(item)[:80]} is invalid")
        yield ChecksumEntry(item["id"], algorithm, item["checksum"].lower(), index)
