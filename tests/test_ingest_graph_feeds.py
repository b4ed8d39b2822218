"""The feed table, the permission table and the query URLs built from them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from service.ingest.graph.client import build_feed_url
from service.ingest.graph.feeds import (
    DEFAULT_FEEDS,
    FEED_PERMISSIONS,
    FEEDS,
    parse_feed_names,
    required_permissions,
)

# The RISKWATCH_FEEDS names agreed in COMMON.md.
AGREED = [
    "riskDetections",
    "riskyUsers",
    "signIns",
    "nonInteractiveSignIns",
    "servicePrincipalSignIns",
    "managedIdentitySignIns",
    "servicePrincipalRiskDetections",
    "directoryAudits",
    "directoryRoles",
]


def test_every_agreed_feed_has_exactly_one_permission():
    assert sorted(FEED_PERMISSIONS) == sorted(AGREED)
    assert FEED_PERMISSIONS["riskDetections"] == "IdentityRiskEvent.Read.All"
    assert FEED_PERMISSIONS["servicePrincipalRiskDetections"] == "IdentityRiskEvent.Read.All"
    assert FEED_PERMISSIONS["riskyUsers"] == "IdentityRiskyUser.Read.All"
    assert {FEED_PERMISSIONS[f] for f in AGREED
            if "SignIns" in f or f in ("signIns", "directoryAudits")} == {"AuditLog.Read.All"}
    # Least privileged for GET /roleManagement/directory/roleAssignments (Graph docs).
    assert FEED_PERMISSIONS["directoryRoles"] == "RoleManagement.Read.Directory"
    assert "Directory.Read.All" not in FEED_PERMISSIONS.values()


def test_default_feeds_and_their_permissions():
    assert parse_feed_names(None) == DEFAULT_FEEDS == parse_feed_names("  ")
    assert required_permissions(DEFAULT_FEEDS) == {
        "IdentityRiskEvent.Read.All", "IdentityRiskyUser.Read.All", "AuditLog.Read.All",
        "RoleManagement.Read.Directory",
    }


def test_feed_names_parse_dedupe_and_reject_unknown():
    assert parse_feed_names("signIns, riskDetections,signIns") == ("signIns", "riskDetections")
    with pytest.raises(ValueError, match=r"unknown feed\(s\) 'signins'.*choose from"):
        parse_feed_names("signins")


def test_identity_protection_and_report_limits_are_classified():
    assert {n for n, s in FEEDS.items() if s.throttle == "identityProtection"} == {
        "riskDetections", "riskyUsers", "servicePrincipalRiskDetections"
    }
    assert all(FEEDS[n].path.startswith("/beta/") for n in AGREED if n.endswith("SignIns")
               and n != "signIns")


def test_urls_encode_filters_in_utc_with_percent20():
    start = datetime(2024, 6, 20, 7, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    url = build_feed_url("https://graph.microsoft.com/", FEEDS["riskyUsers"], start)
    assert url == (
        "https://graph.microsoft.com/v1.0/identityProtection/riskyUsers"
        "?$filter=riskLastUpdatedDateTime%20ge%202024-06-20T05:30:15Z&$top=500"
    )
    beta = build_feed_url("https://graph.microsoft.us", FEEDS["managedIdentitySignIns"], start)
    assert beta.startswith("https://graph.microsoft.us/beta/auditLogs/signIns?$filter=")
    assert "%20and%20signInEventTypes/any(t:%20t%20eq%20'managedIdentity')&$top=1000" in beta
    roles = build_feed_url("https://graph.microsoft.com", FEEDS["directoryRoles"], start)
    assert roles.endswith("/roleAssignments?$expand=principal,roleDefinition")
    with pytest.raises(ValueError, match="timezone-aware"):
        build_feed_url("https://g", FEEDS["signIns"], datetime(2024, 1, 1))  # noqa: DTZ001
    assert "ge" not in build_feed_url("https://g", FEEDS["signIns"], None)


def test_directory_audits_are_a_default_report_feed_with_their_own_look_back():
    spec = FEEDS["directoryAudits"]
    assert "directoryAudits" in DEFAULT_FEEDS
    assert (spec.throttle, spec.time_field, spec.kind) == ("reports", "activityDateTime",
                                                           "directoryAudit")
    assert spec.lookback == timedelta(hours=2)
    start = datetime(2024, 6, 20, 5, 0, tzinfo=timezone(timedelta(0)))
    assert build_feed_url("https://graph.microsoft.com", spec, start) == (
        "https://graph.microsoft.com/v1.0/auditLogs/directoryAudits"
        "?$filter=activityDateTime%20ge%202024-06-20T05:00:00Z&$top=999"
    )
