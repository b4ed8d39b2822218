from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from detections.directory import PRIVILEGED_ROLES, PrivilegedMap, parse_role_assignments
from detections.engine import Engine
from detections.enrich import BusinessHours, Enricher
from detections.errors import InputError
from detections.model import Location, Severity
from detections.rules import brute_force, password_spray
from detections.testing import T0, sign_in

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
READER = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"  # Directory Readers: not privileged

# The shape Graph returns for roleAssignments?$expand=principal,roleDefinition.
RESPONSE = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/"
    "roleAssignments(principal(),roleDefinition())",
    "value": [
        {
            "id": "a1", "principalId": "u-alice", "roleDefinitionId": GLOBAL_ADMIN,
            "directoryScopeId": "/",
            "principal": {"@odata.type": "#microsoft.graph.user", "id": "u-alice",
                          "userPrincipalName": "Alice@Contoso.com"},
            "roleDefinition": {"id": GLOBAL_ADMIN, "templateId": GLOBAL_ADMIN,
                               "displayName": "Global Administrator", "isBuiltIn": True},
        },
        {
            "id": "a2", "principalId": "u-alice", "roleDefinitionId": EXCHANGE_ADMIN,
            "directoryScopeId": "/",
            "principal": {"@odata.type": "#microsoft.graph.user", "id": "u-alice",
                          "userPrincipalName": "Alice@Contoso.com"},
            "roleDefinition": {"templateId": EXCHANGE_ADMIN},
        },
        {  # a role-assignable group
            "id": "a3", "principalId": "g-admins", "roleDefinitionId": USER_ADMIN,
            "directoryScopeId": "/",
            "principal": {"@odata.type": "#microsoft.graph.group", "id": "g-admins"},
            "roleDefinition": {"templateId": USER_ADMIN},
        },
        {  # scoped to an administrative unit: not tenant control
            "id": "a4", "principalId": "u-bob", "roleDefinitionId": USER_ADMIN,
            "directoryScopeId": "/administrativeUnits/au-1",
            "principal": {"id": "u-bob", "userPrincipalName": "bob@contoso.com"},
            "roleDefinition": {"templateId": USER_ADMIN},
        },
        {
            "id": "a5", "principalId": "u-carol", "roleDefinitionId": READER,
            "directoryScopeId": "/",
            "principal": {"id": "u-carol", "userPrincipalName": "carol@contoso.com"},
            "roleDefinition": {"templateId": READER},
        },
    ],
}


def test_parse_role_assignments() -> None:
    privileged = parse_role_assignments([RESPONSE])
    both = ("Exchange Administrator", "Global Administrator")
    assert privileged.roles_of("u-alice", None) == both
    assert privileged.roles_of(None, "alice@contoso.com") == (
        "Exchange Administrator", "Global Administrator",
    )
    assert privileged.roles_of("g-admins", None) == ("User Administrator",)
    assert privileged.roles_of("u-bob", "bob@contoso.com") == ()
    assert privileged.roles_of("u-carol", "carol@contoso.com") == ()
    assert PrivilegedMap.from_dict(privileged.to_dict()) == privileged


def test_tier0_table_has_the_seed_roles() -> None:
    names = set(PRIVILEGED_ROLES.values())
    assert {"Global Administrator", "Privileged Role Administrator", "Exchange Administrator",
            "Security Administrator"} <= names
    assert "Billing Administrator" not in names


def test_bad_response_names_the_field() -> None:
    with pytest.raises(InputError, match=r"roles.json:1: field 'value\[0\]\.principalId'"):
        parse_role_assignments([{"value": [{"roleDefinitionId": GLOBAL_ADMIN}]}], "roles.json")
    with pytest.raises(InputError, match="expected a list"):
        parse_role_assignments([{"value": "nope"}], "roles.json")


def _brute_force_match(enricher: Enricher, **overrides: object):  # type: ignore[no-untyped-def]
    engine = Engine([brute_force.RULE], enricher=enricher)
    events = [sign_in(id=f"f{i}", time=T0 + timedelta(seconds=i), success=False,
                      error_code=50126, **overrides) for i in range(10)]
    matches = [m for batch, _ in engine.run(events) for m in batch]
    assert len(matches) == 1
    return matches[0]


def test_privileged_holder_is_at_least_high_and_tagged() -> None:
    enricher = Enricher(parse_role_assignments([RESPONSE]))
    match = _brute_force_match(enricher)
    assert match.severity is Severity.HIGH  # brute force is medium by default
    assert "privileged" in match.finding.tags
    assert match.finding.context["privileged_roles"] == [
        "Exchange Administrator", "Global Administrator",
    ]
    ordinary = _brute_force_match(enricher, user_id="u-dan", user_principal_name="dan@contoso.com")
    assert ordinary.severity is Severity.MEDIUM
    assert "privileged_roles" not in ordinary.finding.context


def test_spray_on_a_privileged_target_is_high() -> None:
    enricher = Enricher(parse_role_assignments([RESPONSE]))
    engine = Engine([password_spray.RULE], enricher=enricher)
    events = [sign_in(id=f"s{i}", time=T0 + timedelta(seconds=i), success=False, error_code=50126,
                      user_id=f"u-{i}" if i else "u-alice") for i in range(10)]
    matches = [m for batch, _ in engine.run(events) for m in batch]
    assert matches and matches[0].severity is Severity.HIGH


def test_off_hours_in_the_business_time_zone() -> None:
    hours = BusinessHours(tz=timezone(timedelta(hours=-8)), start=time(8), end=time(18))
    monday_9_utc = hours.describe(T0)  # 01:00 local on Monday
    assert monday_9_utc["outside_business_hours"] is True and monday_9_utc["weekend"] is False
    assert hours.describe(T0 + timedelta(hours=8))["outside_business_hours"] is False
    saturday = hours.describe(datetime(2026, 11, 7, 20, 0, tzinfo=UTC))
    assert saturday["weekend"] is True and saturday["weekday"] == "Sat"
    assert hours.describe(T0 + timedelta(hours=26))["outside_business_hours"] is True  # 18:00


def test_location_confidence_in_context() -> None:
    enricher = Enricher()
    high = _brute_force_match(enricher)
    low = _brute_force_match(enricher, location=Location(country="US"))
    assert high.finding.context["location_confidence"] == "high"
    assert low.finding.context["location_confidence"] == "low"
    assert high.finding.context["off_hours"]["weekday"] == "Mon"


# --- the privileged lookup: object id first, UPN only for events without one ---

# What Graph returns with RoleManagement.Read.Directory alone: the expansion of a principal
# the app may not read comes back with limited properties, here without a UPN.
LIMITED = {"value": [
    {"id": "a1", "principalId": "U-Erin", "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/",
     "principal": {"@odata.type": "#microsoft.graph.user", "id": "u-erin"}},
    {"id": "a2", "principalId": "sp-automation", "roleDefinitionId": EXCHANGE_ADMIN,
     "directoryScopeId": "/",
     "principal": {"@odata.type": "#microsoft.graph.servicePrincipal", "id": "sp-automation"}},
]}


def test_the_object_id_decides_when_the_event_carries_one() -> None:
    """Another account that signs in with a renamed or reused admin UPN is not the admin."""
    privileged = parse_role_assignments([RESPONSE])
    assert privileged.roles_of("u-dan", "alice@contoso.com") == ()
    assert privileged.roles_of("U-ALICE", "someone@contoso.com") == (
        "Exchange Administrator", "Global Administrator",
    )
    enricher = Enricher(privileged)
    impostor = _brute_force_match(enricher, user_id="u-dan",
                                  user_principal_name="Alice@Contoso.com")
    assert impostor.severity is Severity.MEDIUM and "privileged" not in impostor.finding.tags


def test_a_holder_without_a_upn_in_the_expansion_is_found_by_id() -> None:
    enricher = Enricher(parse_role_assignments([LIMITED]))
    match = _brute_force_match(enricher, user_id="u-erin", user_principal_name="erin@contoso.com")
    assert match.finding.context["privileged_roles"] == ["Global Administrator"]


def test_the_upn_is_the_fallback_only_for_events_without_an_object_id() -> None:
    privileged = parse_role_assignments([RESPONSE])
    assert privileged.roles_of(None, " Alice@Contoso.com ") == (
        "Exchange Administrator", "Global Administrator",
    )
    assert privileged.roles_of("", "alice@contoso.com") == (  # a blank id is no id
        "Exchange Administrator", "Global Administrator",
    )
    enricher = Enricher(privileged)
    no_id = _brute_force_match(enricher, user_id=None, user_principal_name="alice@contoso.com")
    assert no_id.severity is Severity.HIGH
    other_id = _brute_force_match(enricher, user_id="u-dan",
                                  user_principal_name="alice@contoso.com")
    assert other_id.severity is Severity.MEDIUM


def test_spray_target_keys_are_ids_or_upns_never_both() -> None:
    privileged = parse_role_assignments([RESPONSE])
    assert privileged.roles_of_key("u-alice") == ("Exchange Administrator", "Global Administrator")
    assert privileged.roles_of_key("alice@contoso.com") == privileged.roles_of_key("u-alice")
    assert privileged.roles_of_key("u-dan") == ()
    enricher = Enricher(privileged)
    engine = Engine([password_spray.RULE], enricher=enricher)
    events = [sign_in(id=f"s{i}", time=T0 + timedelta(seconds=i), success=False, error_code=50126,
                      user_id=None, user_principal_name=f"user{i}@contoso.com" if i
                      else "alice@contoso.com") for i in range(10)]
    matches = [m for batch, _ in engine.run(events) for m in batch]
    assert matches and matches[0].severity is Severity.HIGH


def test_a_privileged_service_principal_is_found_by_its_own_id() -> None:
    app_sign_in = sign_in(category="servicePrincipal", user_id=None, user_principal_name=None,
                          service_principal_id="sp-automation", service_principal_name="automation")
    plain = replace(_brute_force_match(Enricher()), event=app_sign_in)  # any rule's match
    enriched = Enricher(parse_role_assignments([LIMITED]))(plain)
    assert enriched.finding.context["privileged_roles"] == ["Exchange Administrator"]
    assert enriched.severity is Severity.HIGH
