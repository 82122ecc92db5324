"""Find the pipeline files of a checkout without leaving it: symlinks out of the tree are
reported, never followed; binary, unreadable and oversized files are reported, never parsed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

MAX_FILE_BYTES = 1024 * 1024
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
FileKind = Literal["github-workflow", "action", "gitlab-ci"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pipeline file: its path relative to the root, its kind, and its text or why not."""

    relative: str
    kind: FileKind
    text: str | None
    skipped: str | None = None  # why the file was not read


def file_kind(relative: PurePosixPath) -> FileKind | None:
    """Which pipeline format a path names, if any."""
    name = relative.name
    if name in ("action.yml", "action.yaml"):
        return "action"
    if name == ".gitlab-ci.yml":
        return "gitlab-ci"
    parent = relative.parent.as_posix()
    if relative.suffix in (".yml", ".yaml") and (
        parent == ".github/workflows" or parent.endswith("/.github/workflows")
    ):
        return "github-workflow"
    return None


def walk(root: Path, max_bytes: int = MAX_FILE_BYTES) -> Iterator[Candidate]:
    """The pipeline files under `root` (a directory, or one file), sorted by path."""
    root = root.absolute()
    if root.is_file():
        kind = file_kind(PurePosixPath(root.name)) or "github-workflow"
        yield _read(root.parent, root, root.name, kind, max_bytes)
        return
    real_root = root.resolve()
    found: list[tuple[str, Path, FileKind]] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in filenames:
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            kind = file_kind(PurePosixPath(relative))
            if kind is not None:
                found.append((relative, path, kind))
    for relative, path, kind in sorted(found):
        yield _read(real_root, path, relative, kind, max_bytes)


def _read(real_root: Path, path: Path, relative: str, kind: FileKind, max_bytes: int) -> Candidate:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(real_root):
            return Candidate(relative, kind, None, "symlink pointing outside the scanned tree")
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > max_bytes:
                return Candidate(relative, kind, None, f"larger than {max_bytes} bytes")
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return Candidate(relative, kind, None, f"unreadable: {exc.strerror}")
    if len(data) > max_bytes:  # grew while read, or not a regular file
        return Candidate(relative, kind, None, f"larger than {max_bytes} bytes")
    if b"\0" in data:
        return Candidate(relative, kind, None, "binary file (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Candidate(relative, kind, None, f"not UTF-8 text (byte {exc.start})")
    return Candidate(relative, kind, text)
