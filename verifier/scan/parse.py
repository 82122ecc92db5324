"""YAML with positions: PyYAML's composed node graph, which keeps every node's line, column
and character offset, and never expands aliases (an alias is the anchored node itself, so a
"billion laughs" file costs what its text costs; walkers visit each node once).

Composed by libyaml (PyYAML's C loader, about ten times the pure-Python one) where it can be:
a file it rejects, or that starts with a byte-order mark (libyaml's offsets then skip it), is
read again by the Python loader, so failures are reported in the same words as before."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "MappingNode",
    "Node",
    "ParseFailure",
    "ScalarNode",
    "SequenceNode",
    "pairs",
    "parse",
    "scalar",
]


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """Why a file is not YAML, and where (1-based)."""

    message: str
    line: int
    column: int


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # None: PyYAML built without libyaml


def parse(text: str) -> list[Node] | ParseFailure:
    """The documents of `text` as node graphs, or where and why parsing failed."""
    if _FAST_LOADER is not None and not text.startswith("\ufeff"):
        try:
            return _compose(text, _FAST_LOADER)
        except yaml.YAMLError:
            pass  # the Python loader says why, as it always has
    try:
        return _compose(text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return ParseFailure(message or "not valid YAML", line, column)
    except yaml.YAMLError as exc:
        return ParseFailure(str(exc).splitlines()[0], 1, 1)
    except RecursionError:
        return ParseFailure("nested too deeply to read", 1, 1)


def _compose(text: str, loader: type) -> list[Node]:
    return [node for node in yaml.compose_all(text, Loader=loader) if node]


def pairs(node: MappingNode) -> Iterator[tuple[str, Node]]:
    """A mapping's (key, value) pairs with YAML merge keys (`<<: *defaults`) applied: explicit
    keys win, each merged mapping is read once."""
    yield from _pairs(node, set(), set())


def _pairs(node: MappingNode, seen_keys: set[str], merged: set[int]) -> Iterator[tuple[str, Node]]:
    merges: list[Node] = []
    for key_node, value in node.value:
        if not isinstance(key_node, ScalarNode):
            continue
        key = str(key_node.value)
        if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
            merges.extend(value.value if isinstance(value, SequenceNode) else [value])
        elif key not in seen_keys:
            seen_keys.add(key)
            yield key, value
    for source in merges:
        if isinstance(source, MappingNode) and id(source) not in merged:
            merged.add(id(source))
            yield from _pairs(source, seen_keys, merged)


def scalar(node: Node | None) -> str | None:
    """The text of a scalar node (None for anything else)."""
    return str(node.value) if isinstance(node, ScalarNode) else None
