"""Entra diagnostic-settings export containers and their hourly PT1H.json blob paths.

Tenant-level logs land in ``insights-logs-<category>/tenantId=<guid>/y=/m=/d=/h=/m=00/
PT1H.json``: one append blob per hour and category, JSON Lines (platform notes 1(b)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from detections.errors import RiskwatchError
from service.state.tables import row_key_hash


class BlobNameError(RiskwatchError, ValueError):
    """A blob whose name is not an export path (``.../y=/m=/d=/h=/m=00/PT1H.json``)."""

# container -> the ``category`` the export writes in each record
EXPORT_CONTAINERS: dict[str, str] = {
    "insights-logs-signinlogs": "SignInLogs",
    "insights-logs-noninteractiveusersigninlogs": "NonInteractiveUserSignInLogs",
    "insights-logs-serviceprincipalsigninlogs": "ServicePrincipalSignInLogs",
    "insights-logs-managedidentitysigninlogs": "ManagedIdentitySignInLogs",
    "insights-logs-userriskevents": "UserRiskEvents",
    "insights-logs-riskyusers": "RiskyUsers",
    "insights-logs-serviceprincipalriskevents": "ServicePrincipalRiskEvents",
    "insights-logs-auditlogs": "AuditLogs",  # directory audits
}

# Containers of what an account does after signing in (directory audits): an hour's blobs of
# these are read after its sign-in and risk blobs, so the audit rules see the sign-in's
# flag (an export line is read once; a Graph feed re-reads its look-back instead).
READ_AFTER_SIGN_INS = frozenset({"insights-logs-auditlogs"})

_HOUR = re.compile(r"(?:^|/)y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})(?:/|$)")


@dataclass(frozen=True, slots=True)
class BlobRegistration:
    """An export blob to tail: where it is and which UTC hour it holds."""

    container: str
    blob_name: str
    hour: datetime
    account: str | None = None  # from the event's URL, for the log line only

    @property
    def row_key(self) -> str:
        # Blob paths hold '/' and '=' (not allowed or awkward in RowKey): hash them.
        return blob_row_key(self.blob_name)

    @property
    def source(self) -> str:
        return f"{self.container}/{self.blob_name}"


def blob_row_key(blob_name: str) -> str:
    return row_key_hash(blob_name)


def parse_blob_hour(blob_name: str) -> datetime:
    """The UTC hour from ``.../y=2024/m=06/d=20/h=05/...``; ValueError naming the path."""
    match = _HOUR.search(blob_name)
    if match is None:
        raise BlobNameError(f"blob {blob_name!r} has no y=/m=/d=/h= hour in its path")
    year, month, day, hour = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError as exc:
        raise BlobNameError(f"blob {blob_name!r}: invalid hour in path ({exc})") from None


def registration_for(
    container: str, blob_name: str, account: str | None = None
) -> BlobRegistration:
    """Validate an export blob's container and path; ValueError says what is wrong."""
    if container not in EXPORT_CONTAINERS:
        raise BlobNameError(
            f"container {container!r} is not an Entra export container "
            f"({', '.join(EXPORT_CONTAINERS)})"
        )
    if not blob_name or blob_name.startswith("/") or "//" in blob_name:
        raise BlobNameError(f"blob name {blob_name!r} is malformed")
    return BlobRegistration(container, blob_name, parse_blob_hour(blob_name), account)
