"""Find the line of a key in a TOML document, so configuration errors can name it.

`tomllib` returns plain dicts without positions; this scanner recovers the line where each table
and key was written. It only needs to be right for documents `tomllib` has already accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(dotted: str) -> list[str]:
    return [
        part.strip().strip("\"'")
        for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", dotted)
    ]


class TomlLocations:
    """Maps key paths such as ("tool", 2, "versions") to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        array_counts: dict[tuple[str, ...], int] = {}
        current: Path = ()
        depth = 0  # open brackets of a multi-line value: keys inside are not top-level keys
        for number, line in enumerate(text.splitlines(), start=1):
            if depth == 0 and (match := _ARRAY_TABLE.match(line)):
                names = tuple(_split_key(match.group(1)))
                index = array_counts.get(names, -1) + 1
                array_counts[names] = index
                current = (*self._resolve(names[:-1], array_counts), names[-1], index)
                self._lines.setdefault(current, number)
                continue
            if depth == 0 and (match := _TABLE.match(line)):
                names = tuple(_split_key(match.group(1)))
                current = self._resolve(names, array_counts)
                self._lines.setdefault(current, number)
                continue
            if depth == 0 and (match := _KEY.match(line)):
                self._lines.setdefault((*current, *_split_key(match.group(1))), number)
            depth = max(0, depth + line.count("[") - line.count("]"))

    @staticmethod
    def _resolve(names: Sequence[str], array_counts: dict[tuple[str, ...], int]) -> Path:
        path: list[str | int] = []
        for i, name in enumerate(names):
            path.append(name)
            prefix = tuple(names[: i + 1])
            if prefix in array_counts:
                path.append(array_counts[prefix])
        return tuple(path)

    def line_of(self, path: Path) -> int | None:
        """The line of the longest recorded prefix of `path` (inline tables share a line)."""
        for end in range(len(path), 0, -1):
            if (line := self._lines.get(tuple(path[:end]))) is not None:
                return line
        return None


def format_path(path: Path) -> str:
    """("tool", 2, "versions") -> "tool[2].versions"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
