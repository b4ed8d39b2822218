"""The Microsoft Graph feeds Riskwatch reads, and the permission each one needs.

``FEEDS`` is the single table of truth: the infra tests compare the Bicep app-role
grants with ``FEED_PERMISSIONS``, and the README lists it. Limits and paths come from
the platform notes (section 2): Identity Protection allows 1 request/s per tenant,
the sign-in reports 5 requests per 10 s per app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, TypeAlias

from detections.model import EventKind

# Which shared rate limit a feed's requests count against.
ThrottleClass: TypeAlias = Literal["identityProtection", "reports", "directory"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSpec:
    """How to query one feed: path, time filter, page size, permission, limit class."""

    name: str
    path: str  # includes the API version: /v1.0/... or /beta/...
    permission: str
    throttle: ThrottleClass
    time_field: str | None  # None: a snapshot feed, read whole every run (no cursor)
    kind: EventKind | None  # the normalize_record kind; None: enrichment, not events
    top: int | None = None
    extra_filter: str | None = None  # ANDed after the time filter
    expand: str | None = None
    description: str = ""
    # How far behind the watermark each query re-reads; None: the run's look-back
    # (RISKWATCH_LOOKBACK_HOURS; the reports feeds cap it at sources.SIGN_IN_LOOKBACK).
    lookback: timedelta | None = None


def _sign_in_kind(name: str, kind: str) -> FeedSpec:
    # v1.0 only returns interactive sign-ins; the other kinds exist on beta only.
    return FeedSpec(
        name=name,
        path="/beta/auditLogs/signIns",
        permission="AuditLog.Read.All",
        throttle="reports",
        time_field="createdDateTime",
        kind="signIn",
        top=1000,
        extra_filter=f"signInEventTypes/any(t: t eq '{kind}')",
        description=f"beta sign-ins of kind {kind}",
    )


AUDIT_LOOKBACK = timedelta(hours=2)

FEEDS: dict[str, FeedSpec] = {
    spec.name: spec
    for spec in (
        FeedSpec(
            name="riskDetections",
            path="/v1.0/identityProtection/riskDetections",
            permission="IdentityRiskEvent.Read.All",
            throttle="identityProtection",
            time_field="detectedDateTime",
            kind="riskDetection",
            top=500,
            description="user risk detections (Entra ID P2)",
        ),
        FeedSpec(
            name="riskyUsers",
            path="/v1.0/identityProtection/riskyUsers",
            permission="IdentityRiskyUser.Read.All",
            throttle="identityProtection",
            time_field="riskLastUpdatedDateTime",
            kind="riskyUser",
            top=500,
            description="users at risk (Entra ID P2)",
        ),
        FeedSpec(
            name="signIns",
            path="/v1.0/auditLogs/signIns",
            permission="AuditLog.Read.All",
            throttle="reports",
            time_field="createdDateTime",
            kind="signIn",
            top=1000,
            description="interactive user sign-ins (Entra ID P1/P2)",
        ),
        FeedSpec(
            name="directoryAudits",
            path="/v1.0/auditLogs/directoryAudits",
            # The same permission as the sign-ins (the Graph docs list Directory.Read.All
            # beside it, as for signIns: the same licence-check note).
            permission="AuditLog.Read.All",
            throttle="reports",  # an Identity and access report: 5 requests / 10 s per app
            time_field="activityDateTime",
            kind="directoryAudit",
            top=999,  # under every documented page limit of the reports APIs
            # Audit records land within minutes (p99 5 min): two hours of re-reading
            # covers them, where 48 h of a large tenant's audits would not fit in a run.
            lookback=AUDIT_LOOKBACK,
            description="directory audits (security info, roles, apps, Conditional Access)",
        ),
        _sign_in_kind("nonInteractiveSignIns", "nonInteractiveUser"),
        _sign_in_kind("servicePrincipalSignIns", "servicePrincipal"),
        _sign_in_kind("managedIdentitySignIns", "managedIdentity"),
        FeedSpec(
            name="servicePrincipalRiskDetections",
            path="/v1.0/identityProtection/servicePrincipalRiskDetections",
            permission="IdentityRiskEvent.Read.All",
            throttle="identityProtection",
            time_field="detectedDateTime",
            kind="riskDetection",
            # No documented $top maximum for this one: let Graph pick the page size.
            description="workload identity risk detections (Workload ID Premium)",
        ),
        FeedSpec(
            name="directoryRoles",
            path="/v1.0/roleManagement/directory/roleAssignments",
            # Least privileged for listing unifiedRoleAssignments (Graph docs); not
            # Directory.Read.All, which also reads every user, group and device.
            permission="RoleManagement.Read.Directory",
            throttle="directory",
            time_field=None,
            kind=None,
            expand="principal,roleDefinition",
            description="directory role assignments, for privileged-account enrichment",
        ),
    )
}

# The one feed -> Graph application permission table (compared with the Bicep grants).
FEED_PERMISSIONS: dict[str, str] = {name: spec.permission for name, spec in FEEDS.items()}

DEFAULT_FEEDS = ("riskDetections", "riskyUsers", "signIns", "directoryAudits", "directoryRoles")


def parse_feed_names(text: str | None) -> tuple[str, ...]:
    """Parse RISKWATCH_FEEDS (comma list); an unknown name is an error naming the choices."""
    if text is None or not text.strip():
        return DEFAULT_FEEDS
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in FEEDS]
    if unknown:
        raise ValueError(
            f"RISKWATCH_FEEDS: unknown feed(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(FEEDS)}"
        )
    return names


def required_permissions(names: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The Graph permissions the given feeds need together."""
    return frozenset(FEEDS[name].permission for name in names)
