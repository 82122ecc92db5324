"""What a shell step fetches: `curl … | sh`, GitHub release assets, pip, go and npm installs.

Pure text in, hits out. Versions computed at run time (`$VERSION`, `${{ matrix.v }}`) are
reported as templated, never guessed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from verifier.scan.model import Pin, ReferenceKind
from verifier.scan.refs import is_templated, looks_like_version, version_pin

_RELEASE_URL = re.compile(
    r"https?://github\.com/(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/releases/"
    r"(?:download/(?P<tag>[^/\s\"']+)|latest/download)/(?P<asset>[^\s\"'|;&)]+)"
)
_RAW_URL = re.compile(
    r"https?://raw\.githubusercontent\.com/(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/"
    r"(?P<ref>[^/\s]+)/"
)
_URL = re.compile(r"https?://[^\s\"'|;&)]+")
_PIPE_TO_SHELL = re.compile(
    r"\b(?:curl|wget)\b(?P<fetch>[^|;&\n]*)\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+\S+=\S+\s+)*"
    r"(?P<shell>(?:ba|z|da|k)?sh|python3?)\b(?P<args>[^|;&\n]*)"
)
_PIP = re.compile(r"\b(?:pip3?|python3?\s+-m\s+pip|uv\s+pip|pipx)\s+install\b(?P<args>[^|;&\n]*)")
_GO = re.compile(r"\bgo\s+install\b(?P<args>[^|;&\n]*)")
_NPM = re.compile(r"\bnpm\s+(?:i|install|add)\b(?P<args>[^|;&\n]*)")
_PIP_VALUE_OPTIONS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-t",
        "--target",
        "-f",
        "--find-links",
        "--prefix",
        "--root",
        "--python",
        "-e",
        "--editable",
    }
)
_PIP_NAME = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?(?P<spec>.*)")


@dataclass(frozen=True, slots=True)
class ShellHit:
    """One fetch found in a script; `token` is the text to locate it by in the source."""

    kind: ReferenceKind
    subject: str
    ref: str | None
    pin: Pin
    token: str
    repo: str | None = None
    asset: str | None = None


def logical_lines(script: str) -> Iterator[str]:
    """Script lines with backslash continuations joined and comments dropped."""
    pending = ""
    for line in script.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined and not joined.startswith("#"):
            yield joined
    if pending.strip():
        yield pending.strip()


def shell_hits(script: str) -> Iterator[ShellHit]:
    """Every fetch in `script`, line by line."""
    for line in logical_lines(script):
        yield from _line_hits(line)


def _line_hits(line: str) -> Iterator[ShellHit]:
    piped = _PIPE_TO_SHELL.search(line)
    if piped:
        yield _pipe_hit(piped)
    for match in _RELEASE_URL.finditer(line):
        if piped and piped.start() <= match.start() < piped.end():
            continue
        tag = match["tag"]
        pin: Pin = "missing" if tag is None else ("templated" if is_templated(tag) else "version")
        if pin != "templated" and is_templated(match["asset"]):
            pin = "templated"
        yield ShellHit(
            "release-asset", match["repo"], tag, pin, match[0], match["repo"], match["asset"]
        )
    for match in _PIP.finditer(line):
        yield from _pip_hits(match["args"])
    for match in _GO.finditer(line):
        yield from _go_hits(match["args"])
    for match in _NPM.finditer(line):
        yield from _npm_hits(match["args"])


def _pipe_hit(match: re.Match[str]) -> ShellHit:
    url = _URL.search(match["fetch"])
    token = url[0] if url else match[0].strip()
    raw = _RAW_URL.match(token) if url else None
    repo = raw["repo"] if raw else None
    subject = repo or (re.sub(r"^https?://", "", token).split("/", 1)[0] if url else "script")
    version = next(
        (arg for arg in _words(match["args"]) if looks_like_version(arg) or is_templated(arg)),
        None,
    )
    pin: Pin = "missing" if version is None else version_pin(version)
    return ShellHit("pipe-to-shell", subject, version, pin, token, repo)


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote: fall back to whitespace
        return text.split()


def _pip_hits(args: str) -> Iterator[ShellHit]:
    words = _words(args)
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = word in _PIP_VALUE_OPTIONS
            continue
        if "/" in word or word.startswith(".") or "://" in word:
            continue
        match = _PIP_NAME.fullmatch(word)
        if match is None:
            continue
        name, spec = match["name"], match["spec"].strip()
        if spec.startswith("==") and "," not in spec and "*" not in spec:
            version = spec[2:].strip()
            yield ShellHit("pip", f"pypi:{name}", version, version_pin(version), word)
        elif spec:
            yield ShellHit(
                "pip", f"pypi:{name}", spec, "templated" if is_templated(spec) else "range", word
            )
        else:
            yield ShellHit("pip", f"pypi:{name}", None, "missing", word)


def _go_hits(args: str) -> Iterator[ShellHit]:
    for word in _words(args):
        if word.startswith("-") or "@" not in word:
            continue
        module, _, version = word.partition("@")
        parts = module.split("/")
        repo = f"{parts[1]}/{parts[2]}" if parts[0] == "github.com" and len(parts) >= 3 else None
        yield ShellHit("go", module, version, version_pin(version), word, repo)


def _npm_hits(args: str) -> Iterator[ShellHit]:
    words = _words(args)
    if not {"-g", "--global"} & set(words):
        return
    for word in words:
        if word.startswith("-"):
            continue
        scoped = word.startswith("@")
        name, at, version = word[1:].partition("@") if scoped else word.partition("@")
        name = "@" + name if scoped else name
        written = version if at else None
        pin: Pin = "missing" if written is None else version_pin(written)
        yield ShellHit("npm", f"npm:{name}", written, pin, word)
