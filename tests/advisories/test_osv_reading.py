"""Reading OSV files, directories and zips, and the bad input that must be skipped and reported."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from advisories import Advisory, ParsedRecord, ParseError, SkippedRecord, parse_record, read_path
from advisories.osv import _read_at_most
from advisories.store import Prepared

from .conftest import OSV_FIXTURES


def osv(record_id: str = "GHSA-test-0001", **fields: Any) -> dict[str, Any]:
    """A minimal valid OSV record; keyword arguments replace or add fields."""
    base: dict[str, Any] = {
        "schema_version": "1.4.0",
        "id": record_id,
        "modified": "2024-05-06T14:35:40Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}
                ],
            }
        ],
    }
    base.update(fields)
    return base


def read(path: Path, **kwargs: Any) -> tuple[list[Advisory], list[SkippedRecord]]:
    results = list(read_path(path, source="test", **kwargs))
    parsed = [r.advisory for r in results if isinstance(r, ParsedRecord)]
    return parsed, [r for r in results if isinstance(r, SkippedRecord)]


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_stored_form_reads_back_to_the_same_advisory() -> None:
    for result in read_path(OSV_FIXTURES, source="fixtures"):
        assert isinstance(result, ParsedRecord)
        stored = Prepared.of(result)
        again = parse_record(json.loads(stored.record), source="fixtures")
        assert again == result.advisory, result.advisory.id
        assert Prepared.of(ParsedRecord("elsewhere", again, json.loads(stored.record))) == stored


BINARY_YAML = "id: Y-1\nmodified: '2024-01-01T00:00:00Z'\nx: !!binary aGk=\n"


def test_documents_json_cannot_hold_are_reported(tmp_path: Path) -> None:
    (result,) = read_path(write(tmp_path / "binary.yaml", BINARY_YAML), source="t")
    with pytest.raises(ParseError, match="cannot be stored as JSON"):
        Prepared.of(result)


def test_yaml_and_json_fixtures_read_as_files_and_as_a_zip(tmp_path: Path) -> None:
    files = sorted(p for p in OSV_FIXTURES.rglob("*") if p.suffix in (".json", ".yaml"))
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.name)
    from_zip, skipped = read(archive)
    from_dir, _ = read(OSV_FIXTURES)
    assert skipped == [] and len(from_zip) == len(files) == 38
    assert sorted(a.id for a in from_zip) == sorted(a.id for a in from_dir)


def test_documents_with_several_records(tmp_path: Path) -> None:
    listing = write(tmp_path / "list.json", json.dumps([osv("A-1"), {"id": "A-2"}, osv("A-3")]))
    parsed, skipped = read(listing)
    assert [a.id for a in parsed] == ["A-1", "A-3"]
    assert skipped == [SkippedRecord(str(listing), "A-2", "missing 'modified'")]
    api = write(tmp_path / "api.json", json.dumps({"vulns": [osv("B-1"), osv("B-2")]}))
    assert [a.id for a in read(api)[0]] == ["B-1", "B-2"]


def _range(*events: dict[str, str], kind: str = "ECOSYSTEM") -> list[dict[str, Any]]:
    return [
        {
            "package": {"ecosystem": "PyPI", "name": "demo"},
            "ranges": [{"type": kind, "events": list(events)}],
        }
    ]


BAD_RECORDS = [
    ({"id": "", "modified": "2024-01-01T00:00:00Z"}, None, "missing or empty 'id'"),
    ({"id": "X-1"}, "X-1", "missing 'modified'"),
    (osv("X-2", modified="yesterday"), "X-2", "not an RFC 3339 timestamp"),
    (osv("X-3", aliases="CVE-1"), "X-3", "'aliases' must be a list"),
    (
        osv("X-4", affected=[{"package": {"ecosystem": "Cobol", "name": "x"}}]),
        "X-4",
        "unknown ecosystem 'Cobol'",
    ),
    (osv("X-6", affected=_range({"fixed": "1.0"})), "X-6", "without an 'introduced' event"),
    (osv("X-7", affected=_range({"introduced": "0"}, {"fixed": "< 2.0"})), "X-7", "constraint"),
    (osv("X-8", affected=_range({"introduced": "0"}, kind="RPM")), "X-8", "range type 'RPM'"),
    (osv("X-9", affected=_range({"introduced": 0})), "X-9", "bad range event"),
    (osv("X-10", affected=[{"ranges": []}]), "X-10", "without 'package'"),
    (osv("X-11", severity=[{"type": "CVSS_V3"}]), "X-11", "no score string"),
    ("just a string", None, "not an object"),
]


@pytest.mark.parametrize(("record", "record_id", "reason"), BAD_RECORDS)
def test_bad_records_are_skipped_with_file_and_id(
    tmp_path: Path, record: Any, record_id: str | None, reason: str
) -> None:
    path = write(tmp_path / "bad.json", json.dumps([record, osv("GOOD-1")]))
    parsed, skipped = read(path)
    assert [a.id for a in parsed] == ["GOOD-1"]  # the rest of the file still ingests
    (report,) = skipped
    assert (report.origin, report.record_id) == (str(path), record_id)
    assert reason in report.reason


BAD_FILES = [
    ("broken.json", b'{"id": "X", "modified": ', "malformed JSON"),
    ("broken.yaml", b"id: X\nmodified: [unclosed\n", "malformed YAML"),
    ("latin1.json", '{"id": "X", "summary": "caf\u00e9"}'.encode("latin-1"), "not valid UTF-8"),
    ("latin1.yaml", "id: caf\u00e9\n".encode("latin-1"), "not valid UTF-8"),
    ("empty.json", b"", "malformed JSON"),
    (
        "bomb.yaml",
        b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
        b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
        "YAML aliases are not accepted",
    ),
    ("deep.json", b"[" * 5000 + b"]" * 5000, "malformed JSON"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_files_are_reported_not_raised(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = write(tmp_path / name, content)
    parsed, skipped = read(path)
    assert parsed == []
    assert [(s.origin, s.record_id) for s in skipped] == [(str(path), None)]
    assert reason in skipped[0].reason


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.json", b"\xef\xbb\xbf" + json.dumps(osv("BOM-1")).encode())
    assert [a.id for a in read(path)[0]] == ["BOM-1"]


def test_oversize_files_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "big.json", json.dumps(osv("BIG-1", details="x" * 5000)))
    parsed, skipped = read(path, max_bytes=1000)
    assert parsed == [] and "over the 1000-byte limit" in skipped[0].reason


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    raw = json.dumps(osv("EDGE-1")).encode()
    path = write(tmp_path / "edge.json", raw)
    assert [a.id for a in read(path, max_bytes=len(raw))[0]] == ["EDGE-1"]
    assert "over the" in read(path, max_bytes=len(raw) - 1)[1][0].reason


def test_reading_goes_past_a_stated_size_of_zero_up_to_the_limit() -> None:
    status = Path("/proc/self/status")
    if not status.exists() or status.stat().st_size:
        pytest.skip("needs a /proc file that states a size of 0")
    assert len(_read_at_most(str(status), 10)) == 10
    assert len(_read_at_most(str(status), 1 << 20)) > 10


def test_directories_skip_bad_files_and_read_the_rest(tmp_path: Path) -> None:
    write(tmp_path / "a.json", json.dumps(osv("DIR-1")))
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "b.yaml", "id: DIR-2\nmodified: '2024-01-01T00:00:00Z'\n")
    write(tmp_path / "sub" / "c.json", b"\xff\xfe garbage")
    write(tmp_path / "README.md", "not a record")
    parsed, skipped = read(tmp_path)
    assert [a.id for a in parsed] == ["DIR-1", "DIR-2"]
    assert [s.origin for s in skipped] == [str(tmp_path / "sub" / "c.json")]


def test_hostile_zip_members_are_skipped(tmp_path: Path) -> None:
    archive = tmp_path / "PyPI-all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("GOOD-1.json", json.dumps(osv("GOOD-1")))
        zf.writestr("../escape.json", json.dumps(osv("EVIL-1")))
        zf.writestr("/etc/absolute.json", json.dumps(osv("EVIL-2")))
        zf.writestr("bomb.json", b" " * 3_000_000)  # deflates to a few KB
        zf.writestr("notes.txt", "hello")
        zf.writestr("dir/", "")
    parsed, skipped = read(archive, max_bytes=1_000_000)
    assert [a.id for a in parsed] == ["GOOD-1"]
    reasons = {s.origin.split("!", 1)[1]: s.reason for s in skipped}
    assert reasons.keys() == {"../escape.json", "/etc/absolute.json", "bomb.json", "notes.txt"}
    assert "unsafe member path" in reasons["../escape.json"]
    assert "over 1000000" in reasons["bomb.json"]


def test_zip_member_lying_about_its_size_is_cut_off(tmp_path: Path) -> None:
    archive = tmp_path / "lying.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.json", b" " * 200_000)
    # Patch the declared sizes in both headers so the archive claims a tiny member.
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    parsed, skipped = read(archive, max_bytes=1000)
    assert parsed == [] and len(skipped) == 1


def test_not_a_zip(tmp_path: Path) -> None:
    parsed, skipped = read(write(tmp_path / "fake.zip", b"PK not really"))
    assert parsed == [] and "not a readable zip" in skipped[0].reason


def test_unreadable_path_is_reported(tmp_path: Path) -> None:
    parsed, skipped = read(tmp_path / "missing.json")
    assert parsed == [] and "cannot read" in skipped[0].reason
