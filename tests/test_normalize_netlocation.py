"""networkLocationDetails -> SignIn.trusted_location and named_networks, in all three shapes
(Graph object, the diagnostic export's properties, Log Analytics' JSON-text column)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detections.model import SignIn
from detections.normalize import Skip, decode, normalize_record
from tests.test_normalize_graph import graph_sign_in
from tests.test_normalize_loganalytics import signin_row, to_csv

TRUSTED = [{"networkType": "trustedNamedLocation", "networkNames": ["Seattle office"]}]
DOCUMENTED = [{"networkType": "trusted", "networkNames": ["Corporate VPN"]}]
NAMED_ONLY = [{"networkType": "namedNetwork", "networkNames": ["Blocked countries"]}]


def sign_in_of(result: object) -> SignIn:
    assert isinstance(result, SignIn), result
    return result


@pytest.mark.parametrize(
    ("details", "trusted", "names"),
    [
        (TRUSTED, True, ("Seattle office",)),
        (DOCUMENTED, True, ("Corporate VPN",)),
        (NAMED_ONLY, False, ("Blocked countries",)),  # a named location may be a block list
        (NAMED_ONLY + DOCUMENTED, True, ("Blocked countries", "Corporate VPN")),
        ([], None, ()),
    ],
)
def test_graph_object(details: list[dict[str, Any]], trusted: bool | None,
                      names: tuple[str, ...]) -> None:
    event = sign_in_of(normalize_record(graph_sign_in(networkLocationDetails=details)))
    assert (event.trusted_location, event.named_networks) == (trusted, names)


def test_absent_is_unknown() -> None:
    event = sign_in_of(normalize_record(graph_sign_in()))
    assert event.trusted_location is None and event.named_networks == ()


def test_diagnostic_export_properties() -> None:
    record = {"time": "2026-11-02T09:00:05Z", "category": "SignInLogs", "resultType": "0",
              "operationName": "Sign-in activity",
              "properties": graph_sign_in(networkLocationDetails=TRUSTED)}
    (event,) = decode("export.json", [json.dumps(record)], fmt="diagnostic")
    assert sign_in_of(event).trusted_location is True


def test_log_analytics_column_is_json_text_and_its_csv_export() -> None:
    row = signin_row(NetworkLocationDetails=json.dumps(DOCUMENTED))
    event = sign_in_of(normalize_record(row))
    assert (event.trusted_location, event.named_networks) == (True, ("Corporate VPN",))
    (from_csv,) = decode("export.csv", to_csv([row]))
    assert sign_in_of(from_csv).trusted_location is True
    assert sign_in_of(normalize_record(signin_row(NetworkLocationDetails="[]"))).trusted_location \
        is None


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"networkType": "trusted"}, "networkLocationDetails"),
        ("not json", "networkLocationDetails"),
        (["trusted"], "networkLocationDetails[0]"),
        ([{"networkType": {"x": 1}}], "networkLocationDetails[0].networkType"),
        ([{"networkType": "trusted", "networkNames": "office"}],
         "networkLocationDetails[0].networkNames"),
        ([{"networkType": "trusted", "networkNames": [["office"]]}],
         "networkLocationDetails[0].networkNames[0]"),
    ],
)
def test_a_wrongly_typed_value_skips_the_record_naming_the_field(value: object,
                                                                 field: str) -> None:
    result = normalize_record(graph_sign_in(networkLocationDetails=value), source="page.json")
    assert isinstance(result, Skip)
    assert result.where.field == field


def test_names_are_bounded() -> None:
    many = [{"networkType": "namedNetwork", "networkNames": [f"n{i}" for i in range(100)]}]
    event = sign_in_of(normalize_record(graph_sign_in(networkLocationDetails=many)))
    assert len(event.named_networks) == 16 and event.trusted_location is False
