"""Event Hubs batches as the Functions host hands them over, built by azure.functions itself.

``hub_events`` passes the host's wire form (``collection_bytes`` bodies, the
``SystemPropertiesArray`` and ``PartitionContext`` metadata) through the library's own
``EventHubTriggerConverter``, so the tests receive real ``EventHubEvent`` objects with
their sequence numbers, offsets and partition. ``sign_in_record`` is the Azure Monitor
record (``SignInLogs`` etc.) around a Graph sign-in, with overrides.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from azure.functions import EventHubEvent, meta
from azure.functions.eventhub import EventHubTriggerConverter

from detections.testing import T0


def hub_events(partition: str, messages: list[tuple[int, bytes]]) -> list[EventHubEvent]:
    """One cardinality-many batch of ``partition``: (sequence number, body) per message."""
    properties = [{"SequenceNumber": seq, "Offset": str(seq * 1024), "PartitionKey": None,
                   "EnqueuedTimeUtc": (T0 + timedelta(seconds=seq)).isoformat()}
                  for seq, _ in messages]
    context = {"PartitionId": partition, "ConsumerGroup": "riskwatch", "EventHubPath": "entra"}
    metadata = {"SystemPropertiesArray": meta.Datum(json.dumps(properties), "json"),
                "PartitionContext": meta.Datum(json.dumps(context), "json")}
    bodies = SimpleNamespace(bytes=[body for _, body in messages])  # the host's CollectionBytes
    data = meta.Datum(type="collection_bytes", value=bodies)
    events = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
    assert isinstance(events, list)
    return events


def envelope(*records: dict[str, Any]) -> bytes:
    """A message body as Azure Monitor writes it to Event Hubs."""
    return json.dumps({"records": list(records)}).encode()


def sign_in_record(event_id: str, time: datetime, user: str, **overrides: Any) -> dict[str, Any]:
    """An Entra sign-in diagnostic record; ``overrides`` go into ``properties``
    (``errorCode`` sets the status, ``category`` the diagnostic category)."""
    category = overrides.pop("category", "SignInLogs")
    code = overrides.pop("errorCode", 0)
    props: dict[str, Any] = {
        "id": event_id, "createdDateTime": time.isoformat(), "userId": f"u-{user}",
        "userPrincipalName": f"{user}@contoso.com", "ipAddress": "198.51.100.20",
        "appDisplayName": "Office 365", "clientAppUsed": "Browser",
        "status": {"errorCode": code, "failureReason": "Invalid password" if code else None},
        "isInteractive": category == "SignInLogs", "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none", "riskState": "none", "riskDetail": "none",
        "location": {"city": "Oslo", "countryOrRegion": "NO",
                     "geoCoordinates": {"latitude": 59.91, "longitude": 10.75}},
        "autonomousSystemNumber": 2119,
    }
    props.update(overrides)
    return {"time": time.isoformat(), "category": category, "operationName": "Sign-in activity",
            "resultType": str(code), "tenantId": "6a1b5c2e-0000-4000-8000-000000000001",
            "properties": props}
