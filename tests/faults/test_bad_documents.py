"""Bad advisory documents are one document's failure: named, never a traceback, bounded work.

Before: a corrupt deflate stream (zlib.error) and a deeply nested YAML document
(RecursionError) escaped the readers, and `toolgate advisories import` printed a traceback; a
zip of members each within the per-member limit inflated without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from advisories import FeedSpec, ParsedRecord, SkippedRecord, feed_states, read_path, sync_feed
from advisories.errors import ParseError
from advisories.osv import MAX_YAML_DEPTH, inflation_limit
from advisories.store import metadata
from tests.faults.documents import corrupt_deflate_zip, nested_yaml, write, zip_bomb
from verifier.cli.app import app
from verifier.config import Config


def _read(path: Path) -> tuple[list[ParsedRecord], list[SkippedRecord]]:
    results = list(read_path(path, source="test"))
    parsed = [r for r in results if isinstance(r, ParsedRecord)]
    return parsed, [r for r in results if isinstance(r, SkippedRecord)]


def test_a_corrupt_zip_member_is_skipped_by_name_and_the_others_are_read(tmp_path: Path):
    parsed, skipped = _read(write(tmp_path / "all.zip", corrupt_deflate_zip()))
    assert [p.advisory.id for p in parsed] == ["GO-2022-0326"]
    assert len(skipped) == 1 and skipped[0].unreadable
    assert skipped[0].origin.endswith("all.zip!BAD-1.json")
    assert "cannot read member" in skipped[0].reason


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 100_000])
def test_deeply_nested_yaml_is_an_unreadable_document(tmp_path: Path, depth: int):
    parsed, skipped = _read(write(tmp_path / "deep.yaml", nested_yaml(depth)))
    assert parsed == []
    assert len(skipped) == 1 and skipped[0].unreadable
    assert "nested deeper than" in skipped[0].reason


def test_a_zip_inflating_past_its_bound_is_refused_before_inflating(tmp_path: Path):
    path = write(tmp_path / "bomb.zip", zip_bomb())
    assert inflation_limit(path.stat().st_size) < 20 * 8 * 1024 * 1024
    parsed, skipped = _read(path)
    assert parsed == []
    assert len(skipped) == 1 and skipped[0].unreadable
    assert "inflates past the limit" in skipped[0].reason and skipped[0].origin == str(path)


@pytest.mark.parametrize(
    ("name", "data", "named"),
    [
        ("all.zip", corrupt_deflate_zip(), "cannot read member"),
        ("deep.yaml", nested_yaml(), "nested deeper than"),
        ("bomb.zip", zip_bomb(), "inflates past the limit"),
    ],
)
def test_cli_import_exits_2_naming_the_document(
    tmp_path: Path, write_config: Callable[..., Config], name: str, data: bytes, named: str
):
    config = write_config()
    path = write(tmp_path / "docs" / name, data)
    result = CliRunner().invoke(
        app, ["advisories", "import", str(path), "--config", str(config.source_path)]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert named in result.stderr and "could not be read" in result.stderr


def test_a_feed_with_an_unreadable_document_fails_and_says_why(tmp_path: Path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    metadata.create_all(engine)
    path = write(tmp_path / "feed" / "all.zip", corrupt_deflate_zip())
    with pytest.raises(ParseError, match=r"BAD-1\.json"):
        sync_feed(engine, FeedSpec("broken", "osv-zip", path=str(path)))
    (state,) = feed_states(engine)
    assert state.last_attempt_at is not None and state.last_success_at is None
    assert state.last_error is not None and "cannot read member" in state.last_error
