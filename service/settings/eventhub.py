"""The optional Event Hubs path: where the diagnostic-settings stream is read from.

The Functions host reads these settings itself (the trigger's ``connection`` is
``RISKWATCH_EVENTHUB``; the identity form is ``RISKWATCH_EVENTHUB__fullyQualifiedNamespace``
with ``__credential`` and ``__clientId``, as for storage); they are checked here too, so a
half-configured path is one line at start-up rather than a trigger that never fires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.settings.parsing import Reader, Secret
from service.settings.storage import client_id_setting

# <namespace>.servicebus.windows.net (or a national cloud's servicebus host)
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]\.servicebus\.[a-z0-9.]+$")
_HUB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$")
DEFAULT_CONSUMER_GROUP = "$Default"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventHubSettings:
    hub: str
    consumer_group: str
    namespace: str | None = None  # identity-based connection
    client_id: str | None = None
    connection_string: Secret | None = None  # local runs only


def eventhub_setting(read: Reader) -> EventHubSettings | None:
    """None when the path is off (no hub named); a problem for each half-set setting."""
    hub = read.raw("RISKWATCH_EVENTHUB_NAME")
    group = read.raw("RISKWATCH_EVENTHUB_CONSUMER_GROUP")
    namespace = read.raw("RISKWATCH_EVENTHUB__fullyQualifiedNamespace")
    credential = read.raw("RISKWATCH_EVENTHUB__credential")
    client_id = client_id_setting(read, "RISKWATCH_EVENTHUB__clientId")
    connection = read.raw("RISKWATCH_EVENTHUB")  # a connection string
    if credential is not None and credential.lower() != "managedidentity":
        read.problem("RISKWATCH_EVENTHUB__credential", "only 'managedidentity' is supported")
    if namespace is not None and not _NAMESPACE.match(namespace):
        read.problem("RISKWATCH_EVENTHUB__fullyQualifiedNamespace",
                     f"{namespace[:60]!r} is not <namespace>.servicebus.windows.net")
    if hub is None:
        if namespace is not None or connection is not None:
            read.problem("RISKWATCH_EVENTHUB_NAME",
                         "missing: the Event Hubs connection is set, the hub is not")
        return None
    if not _HUB.match(hub):
        read.problem("RISKWATCH_EVENTHUB_NAME", f"{hub[:60]!r} is not an event hub name")
    if namespace is None and connection is None:
        read.problem("RISKWATCH_EVENTHUB__fullyQualifiedNamespace",
                     "missing: RISKWATCH_EVENTHUB_NAME is set, the namespace (or "
                     "RISKWATCH_EVENTHUB) is not")
    return EventHubSettings(
        hub=hub, consumer_group=group or DEFAULT_CONSUMER_GROUP, namespace=namespace,
        client_id=client_id, connection_string=Secret(connection) if connection else None,
    )
