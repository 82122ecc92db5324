"""Advisory ingestion and exact version matching for toolgate (OSV, GitHub, RSS/Atom, KEV).

A library with no knowledge of the daemon. The public surface is what ``__all__`` lists.
"""

from .aliases import AliasGroups, Disagreement, MergedAdvisory, merge_group
from .errors import AdvisoryError, FetchError, ParseError, SkippedRecord, VersionError
from .ingest import ImportReport, import_paths, ingest
from .match import AdvisoryIndex, Match, MatchResult
from .model import SEVERITIES, Advisory, Affected, Event, Range, Reference, Severity
from .osv import ParsedRecord, parse_record, read_path, read_paths
from .store import (
    FeedState,
    create_tables,
    feed_states,
    find_advisories,
    get_advisory,
    load_index,
    metadata,
)
from .versions import Ordering

__all__ = [
    "SEVERITIES",
    "Advisory",
    "AdvisoryError",
    "AdvisoryIndex",
    "Affected",
    "AliasGroups",
    "Disagreement",
    "Event",
    "FeedState",
    "FetchError",
    "ImportReport",
    "Match",
    "MatchResult",
    "MergedAdvisory",
    "Ordering",
    "ParseError",
    "ParsedRecord",
    "Range",
    "Reference",
    "Severity",
    "SkippedRecord",
    "VersionError",
    "create_tables",
    "feed_states",
    "find_advisories",
    "get_advisory",
    "import_paths",
    "ingest",
    "load_index",
    "merge_group",
    "metadata",
    "parse_record",
    "read_path",
    "read_paths",
]
