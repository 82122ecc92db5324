"""One scan: walk the roots, parse, extract, assess; files that cannot be read become findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from verifier.scan.extract import extract
from verifier.scan.model import Finding, Location, Reference, ScanResult
from verifier.scan.parse import ParseFailure, parse
from verifier.scan.rules import RULES
from verifier.scan.walk import MAX_FILE_BYTES, walk

Assess = Callable[[Reference], list[Finding]]


def scan(
    roots: Sequence[Path], assess: Assess, *, max_bytes: int = MAX_FILE_BYTES
) -> tuple[ScanResult, dict[str, tuple[Path, str]]]:
    """Scan `roots`; also return each parsed file's path and text by shown path (for `--fix`).

    Paths are shown relative to their root; with several roots, prefixed by the root as given.
    """
    files: list[str] = []
    texts: dict[str, tuple[Path, str]] = {}
    references: list[Reference] = []
    findings: list[Finding] = []
    for root in roots:
        prefix = f"{root.as_posix().rstrip('/')}/" if len(roots) > 1 else ""
        for candidate in walk(root, max_bytes):
            shown = prefix + candidate.relative
            files.append(shown)
            if candidate.text is None:
                why = candidate.skipped or "not read"
                findings.append(_file_finding("file-skipped", shown, 1, 1, why))
                continue
            found = _read_references(shown, candidate.text)
            if isinstance(found, ParseFailure):
                findings.append(
                    _file_finding(
                        "parse-error",
                        shown,
                        found.line,
                        found.column,
                        f"not valid YAML: {found.message}",
                    )
                )
                continue
            base = root if root.is_dir() else root.parent
            texts[shown] = (base / candidate.relative, candidate.text)
            for reference in found:
                references.append(reference)
                findings.extend(assess(reference))
    references.sort(key=lambda r: _order(r.location))
    findings.sort(key=lambda f: (*_order(f.location), f.rule))
    result = ScanResult(
        tuple(str(r) for r in roots), tuple(files), tuple(references), tuple(findings)
    )
    return result, texts


def _read_references(shown: str, text: str) -> list[Reference] | ParseFailure:
    documents = parse(text)
    if isinstance(documents, ParseFailure):
        return documents
    try:
        return extract(shown, text, documents)
    except RecursionError:  # libyaml composes deeper nesting than the walkers may recurse into
        return ParseFailure("nested too deeply to read", 1, 1)


def _order(location: Location) -> tuple[str, int, int]:
    return location.path, location.line, location.column


def _file_finding(rule: str, path: str, line: int, column: int, why: str) -> Finding:
    """A finding about a whole file (not read, not YAML), at its rule's default severity."""
    fixes = {
        "file-skipped": "check the file by hand: it was not scanned",
        "parse-error": "fix the YAML; nothing in this file was checked",
    }
    return Finding(rule, RULES[rule].severity, why, fixes[rule], Location(path, line, column))
