"""The review timer's parts, built once per worker from the app settings (as the main job's)."""

from __future__ import annotations

from detections.rule import Rule
from service.review.schedule import ReviewTimer
from service.settings import Settings

_timer: ReviewTimer | None = None


def app_rules(settings: Settings) -> list[Rule]:
    """The rules the app runs, as the review's coverage lists them: the built-in ones and
    RISKWATCH_SIGMA_RULES's supported Sigma rules, without RISKWATCH_DISABLED_RULES."""
    from detections.registry import load_rules
    from service.sigma.loader import rules_from_setting

    rules = (*load_rules(), *rules_from_setting(settings.sigma_rules))
    return [r for r in rules if r.id not in settings.disabled_rules]


def build_review_timer() -> ReviewTimer:
    from service.cli.review import GRAPH_READ_SECONDS
    from service.ingest.event_grid_work import state_tables
    from service.ingest.graph.auth import make_token_provider, parse_auth_mode
    from service.ingest.graph.client import GraphClient
    from service.run.job import configured_sinks
    from service.settings import load_settings
    from service.state.storage import blob_service

    settings = load_settings()
    tables = state_tables(settings.storage, settings.table_prefix)

    def graph() -> GraphClient:  # a fresh deadline per review
        token = make_token_provider(parse_auth_mode(settings.graph_auth),
                                    settings.graph_base_url, settings.azure_client_id)
        return GraphClient.with_budget(settings.graph_base_url, token, GRAPH_READ_SECONDS)

    return ReviewTimer(settings, tables, blob_service(settings.storage),
                       configured_sinks(settings), graph, app_rules(settings))


def review_timer() -> ReviewTimer:
    """One per worker process: clients are built once and reused."""
    global _timer
    if _timer is None:
        _timer = build_review_timer()
    return _timer
