"""OSV schema 1.x records → :class:`~advisories.model.Advisory`, from dicts, files, dirs and zips.

Reading is streaming and never raises for bad data: every record yields either a
:class:`ParsedRecord` or a :class:`~advisories.errors.SkippedRecord` naming the file and record id.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
import yaml

from .cvss import CvssError, cached_base_score, rating
from .ecosystems import canonical_ecosystem, normalise_package
from .errors import ParseError, SkippedRecord
from .model import (
    EVENT_KINDS,
    RANGE_TYPES,
    Advisory,
    Affected,
    Event,
    Range,
    Reference,
    Severity,
    is_malicious,
)
from .ranges import range_ordering

#: Largest record file or zip member read, in bytes (the biggest real OSV records are ~1 MB).
MAX_RECORD_BYTES = 8 * 1024 * 1024
#: Most members read from one zip archive.
MAX_ZIP_MEMBERS = 2_000_000
#: Most bytes inflated from one zip archive: never past this, nor past this many times the
#: archive's own size (real OSV archives inflate about 10 times; a zip bomb thousands of times).
MAX_ZIP_INFLATED_BYTES = 4 * 1024 * 1024 * 1024
MAX_ZIP_RATIO = 100
#: Deepest nesting of a YAML document (real OSV records nest about 6 levels).
MAX_YAML_DEPTH = 64
_READ_CHUNK = 1024 * 1024  # reads past a file's stated size
RECORD_SUFFIXES = (".json", ".yaml", ".yml")
_READABLE = frozenset((*RECORD_SUFFIXES, ".zip"))


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """An advisory, the OSV document it was read from (what the store keeps) and the file (or
    ``archive!member``, or URL) it came from."""

    origin: str
    advisory: Advisory
    document: dict[str, Any]


ReadResult = ParsedRecord | SkippedRecord

# GitHub writes some bounds with an operator (GHSA-23qq-p4gq-gc2g: "fixed": ">= 3.21.0"). Only
# operators that restate the event's own meaning are stripped; anything else is an error.
_EVENT_OPERATORS = {
    "introduced": (">=", "="),
    "fixed": (">=", "="),
    "last_affected": ("<=", "="),
    "limit": ("=",),
}
_NOT_VERSIONS = frozenset({"0", "*"})  # "introduced: 0" and "limit: *" are not versions
_FRACTION = re.compile(r"(\.\d{6})\d+")


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases, so a small file cannot expand into a huge tree,
    and nesting deeper than `MAX_YAML_DEPTH`, so it cannot exhaust the stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted", mark)
        if self._depth >= MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            why = f"nested deeper than {MAX_YAML_DEPTH} levels"
            raise yaml.composer.ComposerError(None, None, why, mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_record(data: Any, *, source: str, origin: str = "") -> Advisory:
    """One OSV record (already decoded) as an Advisory; raises :class:`ParseError`."""
    if not isinstance(data, dict):
        raise ParseError(f"record is a {type(data).__name__}, not an object", origin=origin)
    record_id = data.get("id")
    if not isinstance(record_id, str) or not record_id.strip():
        raise ParseError("missing or empty 'id'", origin=origin)
    record_id = record_id.strip()
    return _RecordReader(record_id, origin).advisory(data, source)


class _RecordReader:
    """Field-by-field validation of one record, collecting repair notes."""

    def __init__(self, record_id: str, origin: str) -> None:
        self.id = record_id
        self.origin = origin
        self.notes: list[str] = []

    def fail(self, reason: str) -> ParseError:
        return ParseError(reason, origin=self.origin, record_id=self.id)

    def advisory(self, data: dict[str, Any], source: str) -> Advisory:
        modified = self.timestamp(data, "modified", required=True)
        assert modified is not None
        db = self.mapping(data.get("database_specific"), "database_specific")
        cwe_ids = tuple(self.strings(db.get("cwe_ids") if db else None, "cwe_ids"))
        severity = tuple([self.severity(s) for s in self.items(data.get("severity"), "severity")])
        aliases = dict.fromkeys(self.strings(data.get("aliases"), "aliases"))
        aliases.pop(self.id, None)
        return Advisory(
            id=self.id,
            modified=modified,
            source=source,
            aliases=tuple(aliases),
            related=tuple(self.strings(data.get("related"), "related")),
            summary=self.text(data, "summary"),
            details=self.text(data, "details"),
            severity=severity,
            severity_label=self.label(db, severity),
            published=self.timestamp(data, "published"),
            withdrawn=self.timestamp(data, "withdrawn"),
            affected=tuple(
                [self.affected(a) for a in self.items(data.get("affected"), "affected")]
            ),
            references=self.references(self.items(data.get("references"), "references")),
            cwe_ids=cwe_ids,
            malicious=is_malicious(self.id, cwe_ids, db),
            database_specific=db,
            notes=tuple(self.notes),
        )

    def items(self, value: Any, name: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"'{name}' must be a list")
        return value

    def strings(self, value: Any, name: str) -> list[str]:
        items = self.items(value, name)
        if items and set(map(type, items)) != {str}:
            raise self.fail(f"'{name}' must be a list of strings")
        return items

    def mapping(self, value: Any, name: str) -> dict[str, Any] | None:
        if value is not None and not isinstance(value, dict):
            raise self.fail(f"'{name}' must be an object")
        return value

    def text(self, data: dict[str, Any], name: str) -> str:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"'{name}' must be a string")
        return value or ""

    def timestamp(self, data: dict[str, Any], name: str, required: bool = False) -> datetime | None:
        value = data.get(name)
        if value is None:
            if required:
                raise self.fail(f"missing '{name}'")
            return None
        if isinstance(value, datetime):  # unquoted YAML timestamps arrive already parsed
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if not isinstance(value, str):
            raise self.fail(f"'{name}' must be an RFC 3339 string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            try:  # nanosecond fractions and stray spaces occur in real feeds
                parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
            except ValueError:
                raise self.fail(f"'{name}' is not an RFC 3339 timestamp: {value!r}") from None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def severity(self, entry: Any) -> Severity:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise self.fail("severity entries need a 'type' and a 'score'")
        vector = entry.get("score")
        if not isinstance(vector, str):
            raise self.fail(f"severity {entry['type']} has no score string")
        score = None
        if entry["type"] == "CVSS_V3":
            try:
                score = cached_base_score(vector)
            except CvssError as exc:
                self.notes.append(f"CVSS score not computed: {exc}")
        return Severity(entry["type"], vector, score)

    def label(self, db: dict[str, Any] | None, severity: tuple[Severity, ...]) -> str | None:
        label = db.get("severity") if db else None
        if isinstance(label, str) and label.strip():
            label = label.strip().upper()
            return "MODERATE" if label == "MEDIUM" else label
        scores = [s.score for s in severity if s.score is not None]
        return rating(max(scores)) if scores else None

    def references(self, entries: list[Any]) -> tuple[Reference, ...]:
        try:
            references = tuple([Reference(e.get("type") or "WEB", e["url"]) for e in entries])
        except (AttributeError, KeyError):
            raise self.fail("references need a 'url'") from None
        if any(type(r.url) is not str or type(r.type) is not str for r in references):
            raise self.fail("reference 'type' and 'url' must be strings")
        return references

    def affected(self, entry: Any) -> Affected:
        if not isinstance(entry, dict):
            raise self.fail("'affected' entries must be objects")
        package = entry.get("package")
        if not isinstance(package, dict):
            raise self.fail("affected entry without 'package'")
        raw_ecosystem, name = package.get("ecosystem"), package.get("name")
        if not isinstance(raw_ecosystem, str) or not isinstance(name, str) or not name.strip():
            raise self.fail("affected package needs 'ecosystem' and 'name' strings")
        ecosystem = canonical_ecosystem(raw_ecosystem)
        if ecosystem is None:
            raise self.fail(f"unknown ecosystem {raw_ecosystem!r}")
        ranges = tuple(
            [self.range(ecosystem, r) for r in self.items(entry.get("ranges"), "ranges")]
        )
        purl = package.get("purl")
        return Affected(
            ecosystem=ecosystem,
            package=normalise_package(ecosystem, name),
            name=name,
            ranges=ranges,
            versions=tuple(self.strings(entry.get("versions"), "versions")),
            purl=purl if isinstance(purl, str) else None,
            database_specific=self.mapping(entry.get("database_specific"), "database_specific"),
            ecosystem_specific=self.mapping(entry.get("ecosystem_specific"), "ecosystem_specific"),
        )

    def range(self, ecosystem: str, entry: Any) -> Range:
        if not isinstance(entry, dict) or entry.get("type") not in RANGE_TYPES:
            kind = entry.get("type") if isinstance(entry, dict) else entry
            raise self.fail(f"range type {kind!r} is not one of {', '.join(RANGE_TYPES)}")
        events = tuple(map(self.event, self.items(entry.get("events"), "events")))
        if "introduced" not in {e.kind for e in events}:
            raise self.fail(f"{entry['type']} range without an 'introduced' event")
        repo = entry.get("repo")
        rng = Range(entry["type"], events, repo if isinstance(repo, str) else None)
        ordering = range_ordering(ecosystem, rng)
        if ordering is not None:
            # Kept, never dropped: the matcher reports such a range as unevaluated.
            for event in events:
                if event.value not in _NOT_VERSIONS and not ordering.is_valid(event.value):
                    self.notes.append(
                        f"{event.kind} {event.value!r} is not a valid {ordering.name} version: "
                        "the range cannot be evaluated"
                    )
        return rng

    def event(self, entry: Any) -> Event:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise self.fail(f"range event {entry!r} must have exactly one key")
        ((kind, value),) = entry.items()
        value = value.strip() if isinstance(value, str) else ""
        if kind not in EVENT_KINDS or not value:
            raise self.fail(f"bad range event {entry!r}")
        if value[0] in "<>=!~^":
            for operator in _EVENT_OPERATORS[kind]:
                if value.startswith(operator):
                    bare = value[len(operator) :].strip()
                    self.notes.append(f"{kind} event {value!r} read as {bare!r}")
                    return Event(kind, bare)
            raise self.fail(f"{kind} event {value!r} is a constraint, not a version")
        return Event(kind, value)


def decode_document(raw: bytes, suffix: str, origin: str) -> Any:
    """Decode JSON or YAML bytes; raises :class:`ParseError` naming ``origin``."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        if suffix == ".json":
            return orjson.loads(raw)
        return yaml.load(raw.decode("utf-8"), Loader=_NoAliasLoader)
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"not valid UTF-8 ({exc.reason} at byte {exc.start})", origin=origin
        ) from None
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            reason = f"not valid UTF-8 ({uexc.reason} at byte {uexc.start})"
            raise ParseError(reason, origin=origin) from None
        raise ParseError(f"malformed JSON: {exc}", origin=origin) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"malformed YAML: {exc}".replace("\n", " "), origin=origin) from None
    except RecursionError:  # a parser without a depth limit of its own
        raise ParseError("nested too deeply to read", origin=origin) from None


def records_in(document: Any) -> list[Any]:
    """Records of a decoded document: one record, a list, or an API answer ``{"vulns": […]}``."""
    if (
        isinstance(document, dict)
        and "id" not in document
        and isinstance(document.get("vulns"), list)
    ):
        return document["vulns"]
    return document if isinstance(document, list) else [document]


def read_bytes(raw: bytes, suffix: str, *, source: str, origin: str) -> Iterator[ReadResult]:
    """Advisories and skipped-record reports of one JSON/YAML document."""
    try:
        document = decode_document(raw, suffix, origin)
    except ParseError as exc:
        yield exc.skipped(unreadable=True)
        return
    for record in records_in(document):
        try:
            yield ParsedRecord(origin, parse_record(record, source=source, origin=origin), record)
        except ParseError as exc:
            yield exc.skipped()


def read_path(
    path: Path, *, source: str, max_bytes: int = MAX_RECORD_BYTES
) -> Iterator[ReadResult]:
    """Everything in a file (.json/.yaml/.yml/.zip) or directory tree, in name order."""
    if not path.is_dir():
        yield from _read_file(str(path), source, max_bytes)
        return
    for folder, subfolders, files in os.walk(path):
        subfolders.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in _READABLE:
                yield from _read_file(os.path.join(folder, name), source, max_bytes)


def _read_file(origin: str, source: str, max_bytes: int) -> Iterator[ReadResult]:
    suffix = os.path.splitext(origin)[1].lower()
    if suffix == ".zip":
        yield from _read_zip(Path(origin), source=source, max_bytes=max_bytes)
        return
    if suffix not in RECORD_SUFFIXES:
        yield SkippedRecord(origin, None, f"unsupported file type {suffix or '(none)'!r}")
        return
    try:
        raw = _read_at_most(origin, max_bytes + 1)
    except OSError as exc:
        yield SkippedRecord(origin, None, f"cannot read: {exc.strerror or exc}", unreadable=True)
        return
    if len(raw) > max_bytes:
        yield SkippedRecord(origin, None, f"file is over the {max_bytes}-byte limit", True)
        return
    yield from read_bytes(raw, suffix, source=source, origin=origin)


def _read_at_most(path: str, limit: int) -> bytes:
    """Up to ``limit`` bytes of a file.

    The first read is sized from ``fstat`` rather than ``limit``: a read of ``limit`` bytes
    allocates a buffer of that size (8 MB) for every 2 kB record, which cost more than the
    parsing. Reading goes on past the stated size (a growing file, ``/proc``) up to ``limit``.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        want = min(os.fstat(fd).st_size + 1, limit)
        parts = []
        while limit and (data := os.read(fd, want)):
            parts.append(data)
            limit -= len(data)
            want = min(_READ_CHUNK, limit)
        return b"".join(parts)
    finally:
        os.close(fd)


def read_paths(
    paths: Iterable[Path | str], *, source: str, max_bytes: int = MAX_RECORD_BYTES
) -> Iterator[ReadResult]:
    """:func:`read_path` over several paths."""
    for path in paths:
        yield from read_path(Path(path), source=source, max_bytes=max_bytes)


def _unsafe_member(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or ":" in pure.parts[0] if pure.parts else True


def inflation_limit(archive_bytes: int) -> int:
    """The most bytes read out of a zip archive of `archive_bytes` (see MAX_ZIP_RATIO)."""
    return min(MAX_ZIP_INFLATED_BYTES, max(MAX_RECORD_BYTES, archive_bytes * MAX_ZIP_RATIO))


def _read_zip(path: Path, *, source: str, max_bytes: int) -> Iterator[ReadResult]:
    try:
        archive = zipfile.ZipFile(path)
        budget = inflation_limit(path.stat().st_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        yield SkippedRecord(str(path), None, f"not a readable zip archive: {exc}", True)
        return
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            why = f"{len(members)} members, over the limit of {MAX_ZIP_MEMBERS}"
            yield SkippedRecord(str(path), None, why, True)
            return
        declared = sum(m.file_size for m in members if m.file_size <= max_bytes)
        too_big = f"inflates past the limit of {budget} bytes for an archive of this size"
        if declared > budget:  # refused before inflating anything
            yield SkippedRecord(str(path), None, f"{too_big} (declares {declared})", True)
            return
        for member in members:
            origin = f"{path}!{member.filename}"
            suffix = PurePosixPath(member.filename).suffix.lower()
            if _unsafe_member(member.filename):
                yield SkippedRecord(origin, None, "unsafe member path (absolute or '..')")
            elif suffix not in RECORD_SUFFIXES:
                yield SkippedRecord(origin, None, f"unsupported member type {suffix or '(none)'!r}")
            elif member.file_size > max_bytes:
                yield SkippedRecord(
                    origin, None, f"member is {member.file_size} bytes, over {max_bytes}"
                )
            elif budget <= 0:  # headers can lie: what was really inflated counts
                yield SkippedRecord(str(path), None, too_big, True)
                return
            else:
                limit = min(max_bytes, budget)
                raw = _read_member(archive, member, limit)
                if isinstance(raw, SkippedRecord):
                    budget -= limit  # at most this much was inflated
                    yield SkippedRecord(origin, None, raw.reason, True)
                else:
                    budget -= len(raw)
                    yield from read_bytes(raw, suffix, source=source, origin=origin)


def _read_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_bytes: int
) -> bytes | SkippedRecord:
    # The declared size can lie; never read more than the limit whatever the header says.
    try:
        with archive.open(member) as handle:
            raw = handle.read(max_bytes + 1)
    except (
        zipfile.BadZipFile,
        OSError,
        RuntimeError,
        NotImplementedError,
        EOFError,  # truncated compressed data
        zlib.error,  # corrupt deflate data
    ) as exc:
        return SkippedRecord("", None, f"cannot read member: {exc}")
    if len(raw) > max_bytes:
        return SkippedRecord("", None, f"member inflates past the {max_bytes}-byte limit")
    return raw
