"""Advisory ingestion and exact version matching for toolgate (OSV, GitHub, RSS/Atom, KEV).

A library with no knowledge of the daemon. The public surface is what ``__all__`` lists.
"""

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
from .ghsa import GhsaClient
from .ingest import ImportReport, import_paths, ingest
from .kev import KevCatalog, KevEntry, mark_known_exploited, parse_kev
from .match import AdvisoryIndex, Match, MatchResult, Unevaluated
from .model import SEVERITIES, Advisory, Affected, Event, Range, Reference, Severity, severity_rank
from .ordering import Ordering
from .osv import ParsedRecord, parse_record, read_path, read_paths
from .osv_api import OsvApiClient, PackageQuery
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
from .sync import FEED_TYPES, FeedSpec, SyncReport, sync_feed

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
