"""Advisory ingestion and exact version matching for toolgate (OSV, GitHub, RSS/Atom, KEV).

A library with no knowledge of the daemon. The public surface is what ``__all__`` lists.

The network clients (GitHub, the OSV API, feed sync: httpx) are imported on first use, so a
local import or a match does not pay for them.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .aliases import AliasGroups, Disagreement, MergedAdvisory, merge_group
from .errors import (
    AdvisoryError,
    CvssError,
    FeedSpecError,
    FetchError,
    ParseError,
    PatternError,
    SkippedRecord,
    SyncFailed,
    VersionError,
)
from .feeds import FeedHit, FeedScan, ToolPatterns, scan_feed
from .ingest import ImportReport, import_paths, ingest
from .kev import KevCatalog, KevEntry, mark_known_exploited, parse_kev
from .match import AdvisoryIndex, Match, MatchResult, Unevaluated
from .model import SEVERITIES, Advisory, Affected, Event, Range, Reference, Severity, severity_rank
from .ordering import Ordering
from .osv import ParsedRecord, parse_record, read_path, read_paths
from .store import (
    FeedState,
    create_tables,
    feed_hits,
    feed_states,
    find_advisories,
    get_advisory,
    iter_advisories,
    load_index,
    metadata,
)

if TYPE_CHECKING:
    from .ghsa import GhsaClient
    from .osv_api import OsvApiClient, PackageQuery
    from .sync import FEED_TYPES, FeedSpec, SyncReport, sync_feed

# name -> the module that defines it, imported when the name is first asked for
_LAZY = {
    "GhsaClient": "ghsa",
    "OsvApiClient": "osv_api",
    "PackageQuery": "osv_api",
    "FEED_TYPES": "sync",
    "FeedSpec": "sync",
    "SyncReport": "sync",
    "sync_feed": "sync",
}


def __getattr__(name: str) -> Any:
    if (module := _LAZY.get(name)) is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "FEED_TYPES",
    "SEVERITIES",
    "Advisory",
    "AdvisoryError",
    "AdvisoryIndex",
    "Affected",
    "AliasGroups",
    "CvssError",
    "Disagreement",
    "Event",
    "FeedHit",
    "FeedScan",
    "FeedSpec",
    "FeedSpecError",
    "FeedState",
    "FetchError",
    "GhsaClient",
    "ImportReport",
    "KevCatalog",
    "KevEntry",
    "Match",
    "MatchResult",
    "MergedAdvisory",
    "Ordering",
    "OsvApiClient",
    "PackageQuery",
    "ParseError",
    "ParsedRecord",
    "PatternError",
    "Range",
    "Reference",
    "Severity",
    "SkippedRecord",
    "SyncFailed",
    "SyncReport",
    "ToolPatterns",
    "Unevaluated",
    "VersionError",
    "create_tables",
    "feed_hits",
    "feed_states",
    "find_advisories",
    "get_advisory",
    "import_paths",
    "ingest",
    "iter_advisories",
    "load_index",
    "mark_known_exploited",
    "merge_group",
    "metadata",
    "parse_kev",
    "parse_record",
    "read_path",
    "read_paths",
    "scan_feed",
    "severity_rank",
    "sync_feed",
]
