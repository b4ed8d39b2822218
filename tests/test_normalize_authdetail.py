"""How a user authenticated (authenticationProtocol, transfer method, token type, resource,
Conditional Access audiences, authentication steps) from every sign-in shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detections.model import SignIn
from detections.normalize import Skip, decode, normalize_record
from tests.test_normalize_graph import graph_sign_in
from tests.test_normalize_loganalytics import signin_row, to_csv

GRAPH_ID = "00000003-0000-0000-c000-000000000000"
BROKER = "29d9ed98-a469-4536-ade2-f981bc1d605e"
BETA_FIELDS: dict[str, Any] = {
    "authenticationProtocol": "deviceCode",
    "originalTransferMethod": "deviceCodeFlow",
    "incomingTokenType": "primaryRefreshToken",
    "resourceId": GRAPH_ID,
    "userType": "member",
    "conditionalAccessAudiences": [{"applicationId": BROKER.upper()},
                                   {"applicationId": GRAPH_ID}],
    "authenticationDetails": [
        {"authenticationMethod": "Password", "succeeded": True},
        {"authenticationMethod": "Mobile app notification", "succeeded": False},
        {"authenticationMethod": "Password", "succeeded": True},
    ],
}


def check(event: object) -> None:
    assert isinstance(event, SignIn), event
    assert event.authentication_protocol == "deviceCode"
    assert event.original_transfer_method == "deviceCodeFlow"
    assert event.incoming_token_type == "primaryRefreshToken"
    assert event.resource_id == GRAPH_ID
    assert event.user_type == "member"
    assert event.conditional_access_audiences == (BROKER, GRAPH_ID)  # lower-cased, once each
    assert event.authentication_methods == ("Password",)  # the failed MFA step is not one


def test_graph_beta_object() -> None:
    check(normalize_record(graph_sign_in(**BETA_FIELDS)))


def test_graph_v1_object_without_them_is_unknown_not_none() -> None:
    event = normalize_record(graph_sign_in())
    assert isinstance(event, SignIn)
    assert event.authentication_protocol is None
    assert event.resource_id is None
    assert event.conditional_access_audiences == () and event.authentication_methods == ()


def test_diagnostic_export_record() -> None:
    record = {
        "time": "2026-11-02T09:00:05Z",
        "category": "SignInLogs",
        "operationName": "Sign-in activity",
        "resultType": "0",
        "resourceId": "/tenants/t-1/providers/Microsoft.aadiam",  # the log's, not the app's
        "properties": graph_sign_in(**BETA_FIELDS),
    }
    (event,) = decode("export.json", [json.dumps(record)], fmt="diagnostic")
    check(event)


def test_log_analytics_row_and_its_csv_export() -> None:
    row = signin_row(
        AuthenticationProtocol="deviceCode",
        OriginalTransferMethod="deviceCodeFlow",
        IncomingTokenType="primaryRefreshToken",
        ResourceId="/tenants/t-1/providers/Microsoft.aadiam",
        ResourceIdentity=GRAPH_ID,
        UserType="member",
        ConditionalAccessAudiences=json.dumps(BETA_FIELDS["conditionalAccessAudiences"]),
        AuthenticationDetails=json.dumps(BETA_FIELDS["authenticationDetails"]),
    )
    check(normalize_record(row))
    (from_csv,) = decode("export.csv", to_csv([row]))
    check(from_csv)


def test_plain_id_audiences_of_older_records() -> None:
    event = normalize_record(graph_sign_in(conditionalAccessAudiences=[BROKER, GRAPH_ID]))
    assert isinstance(event, SignIn)
    assert event.conditional_access_audiences == (BROKER, GRAPH_ID)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("authenticationDetails", {"authenticationMethod": "Password"}),
        ("authenticationDetails", ["Password"]),
        ("conditionalAccessAudiences", "not json"),
        ("conditionalAccessAudiences", [{"applicationId": {"x": 1}}]),
        ("authenticationProtocol", {"x": 1}),
    ],
)
def test_a_wrongly_typed_value_skips_the_record_naming_the_field(field: str, value: Any) -> None:
    result = normalize_record(graph_sign_in(**{field: value}), source="page.json")
    assert isinstance(result, Skip)
    assert field in str(result)
