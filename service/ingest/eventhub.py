"""Event Hubs: the Entra diagnostic-settings stream as a source of one batch per invocation.

Azure Monitor writes the same records as the export blobs to Event Hubs, a
``{"records": [...]}`` envelope per message (categories SignInLogs,
NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ManagedIdentitySignInLogs,
RiskyUsers, UserRiskEvents ...). Each record goes through the export's normalizer
(``detections.normalize``, format ``diagnostic``); a body that is not UTF-8 or not JSON,
or a record that cannot be used, is one Skip naming the partition, sequence number,
offset and record index, and the rest of the batch is kept.

There is no cursor to commit: the Functions host checkpoints the partition after the
invocation returns, so the batch carries no commits, a failure must raise (the host
then delivers the batch again) and a redelivery is harmless (the dedup ledger counts an
event once, and the history recognises events it has seen).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from detections.errors import Where
from detections.model import Event
from detections.normalize import Skip, normalize_record
from detections.normalize.jsontext import loads_tolerant
from service.ingest.sources import Batch, SourceReport

SOURCE = "eventhub"  # the per-source count in the run's summary line


class HubEvent(Protocol):
    """What the trigger hands over: ``azure.functions.EventHubEvent`` has all of it."""

    def get_body(self) -> bytes: ...

    @property
    def sequence_number(self) -> int | None: ...

    @property
    def offset(self) -> str | None: ...

    @property
    def metadata(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Position:
    """Where one message sits in the hub, for skip messages and the summary."""

    partition: str
    sequence_number: int | None
    offset: str | None

    def __str__(self) -> str:
        return (f"eventhub partition {self.partition} sequence {self.sequence_number} "
                f"offset {self.offset}")


def partition_of(event: HubEvent) -> str:
    """The partition id from the trigger metadata (``PartitionContext.PartitionId``), shared
    by every event of a batch; ``?`` when the host did not say."""
    metadata = event.metadata or {}
    context = metadata.get("PartitionContext")
    if isinstance(context, Mapping):
        partition = context.get("PartitionId")
        if partition is not None:
            return str(partition)
    return "?"


def hub_batch(events: Iterable[HubEvent], report: SourceReport) -> Batch:
    """The events of one invocation as one ``Batch`` (no commits: the host checkpoints)."""
    found = [item for event in events for item in hub_records(event)]
    kept: list[Event] = []
    for item in found:
        if isinstance(item, Skip):
            report.skip(item)
        else:
            kept.append(item)
    report.count(SOURCE, len(kept))
    return Batch(tuple(kept))


def hub_records(event: HubEvent) -> Iterator[Event | Skip]:
    """One message's records, each an Event or a Skip that says where it is."""
    where = Position(partition_of(event), event.sequence_number, event.offset)
    try:
        text = event.get_body().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        yield Skip(Where(str(where)), f"body is not UTF-8 (byte {exc.start})")
        return
    try:
        body = loads_tolerant(text)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).split("\n", 1)[0][:120] or type(exc).__name__
        yield Skip(Where(str(where)), f"body is not JSON: {reason}")
        return
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        # Not an Azure Monitor envelope: one bare record at most (the normalizer decides).
        yield _normalized(body, f"{where}")
        return
    for index, record in enumerate(records):
        yield _normalized(record, f"{where} record {index}")


def _normalized(record: object, source: str) -> Event | Skip:
    return normalize_record(record, source=source, fmt="diagnostic")
