"""Hostile advisory documents, built in memory: corrupt deflate data, deep nesting, zip bombs."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tests.conftest import FIXTURES

GOOD = FIXTURES / "osv" / "go-vulndb" / "GO-2022-0326.json"


def good_record() -> bytes:
    return GOOD.read_bytes()


def corrupt_deflate_zip() -> bytes:
    """A good member, then one whose deflate stream is garbage (zlib.error when inflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("GO-2022-0326.json", good_record())
        archive.writestr("BAD-1.json", json.dumps({"id": "BAD-1", "x": "y" * 4000}))
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        bad = archive.getinfo("BAD-1.json")
    name_length = len(bad.filename.encode())
    extra_length = int.from_bytes(data[bad.header_offset + 28 : bad.header_offset + 30], "little")
    start = bad.header_offset + 30 + name_length + extra_length
    data[start : start + bad.compress_size] = b"\xff" * bad.compress_size  # block type 3: invalid
    return bytes(data)


def nested_yaml(depth: int = 100_000) -> bytes:
    """An OSV-looking YAML record nested `depth` levels deep (RecursionError in a naive reader)."""
    return b"id: DEEP-1\nmodified: 2024-01-01T00:00:00Z\nx: " + b"[" * depth + b"]" * depth + b"\n"


def zip_bomb(members: int = 20, size: int = 8 * 1024 * 1024) -> bytes:
    """`members` members of `size` zero bytes each, each within the per-member limit: the
    archive is a few kB per member, its contents `members * size` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        chunk = b"0" * size
        for n in range(members):
            archive.writestr(f"BOMB-{n}.json", chunk)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
