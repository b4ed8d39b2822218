"""Microsoft Graph ingestion: feeds, permissions, paced paging, cursors."""

from service.ingest.graph.auth import AuthMode, make_token_provider, parse_auth_mode
from service.ingest.graph.client import FeedOutcome, FeedRead, GraphClient, Page, build_feed_url
from service.ingest.graph.cursor import (
    DEFAULT_LOOKBACK,
    FeedCursor,
    format_graph_time,
    next_query_start,
    parse_graph_time,
)
from service.ingest.graph.feeds import (
    DEFAULT_FEEDS,
    FEED_PERMISSIONS,
    FEEDS,
    FeedSpec,
    parse_feed_names,
    required_permissions,
)
from service.netutil import is_loopback_url

__all__ = [
    "DEFAULT_FEEDS",
    "DEFAULT_LOOKBACK",
    "FEEDS",
    "FEED_PERMISSIONS",
    "AuthMode",
    "FeedCursor",
    "FeedOutcome",
    "FeedRead",
    "FeedSpec",
    "GraphClient",
    "Page",
    "build_feed_url",
    "format_graph_time",
    "is_loopback_url",
    "make_token_provider",
    "next_query_start",
    "parse_auth_mode",
    "parse_feed_names",
    "parse_graph_time",
    "required_permissions",
]
