"""The parts of one run (``build_run``): Table Storage clients and stores, a fresh Graph
client with the run's deadline, the directory's privileged map read once, the pipeline
with that run's enricher and sinks, and the export tailer when the export is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from detections.enrich import Enricher
from detections.registry import load_rules
from detections.rule import Rule
from service.delivery.base import Sink
from service.ingest.directory_cache import DirectoryCache
from service.ingest.event_grid_work import state_tables
from service.ingest.export import BlobCursorStore, ExportTailer
from service.ingest.graph.auth import make_token_provider, parse_auth_mode
from service.ingest.graph.client import GraphClient
from service.ingest.sources import SourceReport, read_directory
from service.response.executor import Responder
from service.run.pipeline import Hook, Pipeline
from service.settings import Settings
from service.state.cursors import CursorStore
from service.state.storage import blob_service
from service.state.tables import Tables

READING_SHARE = 0.75  # of the run budget for reading sources; the rest for delivery


@dataclass(frozen=True, slots=True)
class RunParts:
    """Everything one run uses, built once by ``build_run`` and passed down."""

    tables: Tables
    cursors: CursorStore
    pipeline: Pipeline
    graph: GraphClient | None  # None for a run over files (``riskwatch run --input``)
    tailer: ExportTailer | None  # None without RISKWATCH_EXPORT_STORAGE


def build_run(
    settings: Settings,
    now: datetime,
    sources: SourceReport,
    *,
    sinks: Sequence[Sink],
    tables: Tables | None = None,
    graph: GraphClient | None = None,
    reads_graph: bool = True,
    hook: Hook | None = None,
    sigma_rules: Sequence[Rule] = (),
    responder: Responder | None = None,
) -> RunParts:
    """The run's parts; ``tables`` and ``graph`` are reused when given (a warm worker's
    Table clients; a test's Graph client on a simulated clock). The directory is read
    here, once, so the pipeline is built with this run's privileged map. With a
    ``responder`` (RISKWATCH_RESPONSE_MODE plan or enforce) each incident notification
    shows the policy's proposals."""
    tables = tables or state_tables(settings.storage, settings.table_prefix)
    if reads_graph and graph is None:
        token = make_token_provider(
            parse_auth_mode(settings.graph_auth), settings.graph_base_url,
            settings.azure_client_id,
        )
        graph = GraphClient.with_budget(
            settings.graph_base_url, token, READING_SHARE * settings.run_budget.total_seconds()
        )
    client = graph if reads_graph else None
    refresh = client if "directoryRoles" in settings.feeds else None  # None: the cached map
    privileged = read_directory(refresh, DirectoryCache(tables), now, sources)
    enricher = Enricher(hours=settings.business_hours) if privileged is None \
        else Enricher(privileged, settings.business_hours)  # fmt: skip
    rules = (*load_rules(), *sigma_rules) if sigma_rules else None  # None: the built-in ones
    proposals = None
    if responder is not None:
        from service.response.policy_run import preview

        proposals = preview(tables, settings.response.exclusions, settings.response.mode)
    pipeline = Pipeline.from_settings(settings, sinks, hook=hook, tables=tables, enricher=enricher,
                                      rules=rules, proposals=proposals)
    tailer = None
    if reads_graph and settings.export_storage is not None:
        store = BlobCursorStore.create(tables.service, settings.table_prefix)
        tailer = ExportTailer(blob_service(settings.export_storage), store)
    return RunParts(tables, CursorStore(tables), pipeline, client, tailer)
