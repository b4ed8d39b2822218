"""Malformed and hostile inputs, one per crash class of issue 12, built on real records.

Each ``Hostile`` is one physical line that goes between good lines of a JSON-lines file;
each ``HostileFile`` is a whole input. Bases are the Microsoft Graph documentation samples
(peer corpus) through ``tests.graph_server.GraphRecords``, changed at one field path.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.graph_server import GraphRecords, iso, risky_user

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEEP = 100_000  # levels: far past json's recursion limit (about 1,000)
WRONG_TYPES: dict[str, object] = {"object": {"a": 1}, "list": ["x", 1], "boolean": True}
SIGN_IN_TEXT_FIELDS = (
    "ipAddress", "correlationId", "sessionId", "userId", "userPrincipalName", "userDisplayName",
    "appId", "appDisplayName", "resourceDisplayName", "servicePrincipalName", "riskDetail",
    "conditionalAccessStatus", "authenticationRequirement", "userAgent", "clientAppUsed",
    "tenantId", "id", "location.city", "location.state", "location.countryOrRegion",
    "deviceDetail.deviceId", "deviceDetail.displayName", "deviceDetail.operatingSystem",
    "deviceDetail.browser", "deviceDetail.trustType", "status.failureReason",
    "riskLevelDuringSignIn", "riskLevelAggregated", "riskState", "createdDateTime",
)
DETECTION_TEXT_FIELDS = (
    "id", "riskEventType", "riskLevel", "riskState", "riskDetail", "userId",
    "userPrincipalName", "ipAddress", "correlationId", "source", "activity", "location.city",
)
RISKY_USER_TEXT_FIELDS = ("id", "userPrincipalName", "riskLevel", "riskState", "riskDetail")


@dataclass(frozen=True)
class Hostile:
    """One hostile line; the scan must skip it naming ``field`` (or keep it: ``kept``)."""

    name: str
    line: bytes
    field: str | None = None  # None: the skip names the line only
    kept: bool = False  # normalized (repaired), not skipped
    kept_principal: str | None = None  # the principal of the kept record's alert


@dataclass(frozen=True)
class HostileFile:
    """A whole hostile input; ``good`` event ids must alert, ``skip`` must be named."""

    name: str
    content: bytes
    good: frozenset[str]
    skip: str  # text the skip line on stderr must contain


def set_path(record: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of ``record`` with ``value`` at the dotted ``path``."""
    out = copy.deepcopy(record)
    target = out
    *parents, last = path.split(".")
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[last] = value
    return out


def good_sign_in(records: GraphRecords, n: int, **overrides: Any) -> dict[str, Any]:
    """A risky sign-in that alerts (high_risk_signin_succeeded), from the Graph sample."""
    fields: dict[str, Any] = {
        "riskLevelDuringSignIn": "high", "riskState": "atRisk", "riskDetail": "none",
        "userPrincipalName": "bob@contoso.com", "userId": "u-bob", "ipAddress": "198.51.100.9",
    }
    fields.update(overrides)
    return records.sign_in(n, T0 + timedelta(minutes=n), id=f"good-{n}", **fields)


def line(record: object) -> bytes:
    return json.dumps(record).encode()


def deep_array(levels: int = DEEP) -> str:
    return "[" * levels + "]" * levels


def hostile_lines(records: GraphRecords) -> list[Hostile]:
    """Every crash class of a single line, with the field the skip must name."""
    sign_in = records.sign_in(5, T0 + timedelta(minutes=5), riskLevelDuringSignIn="high",
                              riskState="atRisk", riskDetail="none")
    detection = records.risk_detection(5, T0 + timedelta(minutes=5))
    user = risky_user(5, T0 + timedelta(minutes=5))
    cases: list[Hostile] = []
    bases = (("signIn", sign_in, SIGN_IN_TEXT_FIELDS),
             ("riskDetection", detection, DETECTION_TEXT_FIELDS),
             ("riskyUser", user, RISKY_USER_TEXT_FIELDS))
    for kind, base, paths in bases:
        for path in paths:
            for type_name, value in WRONG_TYPES.items():
                cases.append(Hostile(f"{kind}.{path}={type_name}",
                                     line(set_path(base, path, value)), path))
    created = sign_in["createdDateTime"]
    cases += [
        Hostile("invalid UTF-8", line(sign_in).replace(b"Graph explorer", b"Graph \xff\xfe")),
        Hostile("lone surrogate in the UPN",
                line(dict(sign_in, userPrincipalName="\ud800@contoso.com", id="surrogate")),
                kept=True, kept_principal="\ufffd@contoso.com"),
        Hostile("form feed between two records on one line",
                line(dict(sign_in, id="ff-1", userPrincipalName="ff1@contoso.com")) + b"\f"
                + line(dict(sign_in, id="ff-2", userPrincipalName="ff2@contoso.com")),
                kept=True, kept_principal="ff2@contoso.com"),
        Hostile("vertical tab before a record",
                b"\v" + line(dict(sign_in, id="vt", userPrincipalName="vt@contoso.com")),
                kept=True, kept_principal="vt@contoso.com"),
        Hostile("a 100,000-deep array as a line", deep_array().encode(), "[0][0][0]..."),
        Hostile("a 100,000-deep object as a line",
                ('{"a":' * DEEP + "1" + "}" * DEEP).encode(), "a.a.a..."),
        Hostile("a deep value in a field",
                line(sign_in)[:-1] + b', "extra": ' + deep_array().encode() + b"}",
                "extra[0][0]..."),
        Hostile("deep JSON inside the status string",
                line(dict(sign_in, status=deep_array())), "status"),
        Hostile("deep JSON inside status.additionalDetails",
                line({k: v for k, v in sign_in.items() if k != "status"})[:-1]
                + b', "status": {"additionalDetails": ' + deep_array().encode() + b"}}",
                "status.additionalDetails[0]..."),
        Hostile("deep JSON inside additionalInfo",
                line(dict(detection, additionalInfo=deep_array())), "additionalInfo"),
        Hostile("deep JSON in a Log Analytics dynamic column",
                line({"Type": "SigninLogs", "TimeGenerated": created, "Id": "la-deep",
                      "UserPrincipalName": "x@contoso.com", "Status": deep_array()}),
                "Status"),
        Hostile("deep JSON in Log Analytics LocationDetails",
                line({"Type": "SigninLogs", "TimeGenerated": created, "Id": "la-deep-loc",
                      "UserPrincipalName": "x@contoso.com", "LocationDetails": deep_array()}),
                "LocationDetails"),
        Hostile("year 9999 with a negative offset",
                line(dict(sign_in, createdDateTime="9999-12-31T23:00:00-05:00")),
                "createdDateTime"),
        Hostile("year 0001 with a positive offset",
                line(dict(sign_in, createdDateTime="0001-01-01T01:00:00+05:00")),
                "createdDateTime"),
        Hostile("year 9999 in UTC",
                line(dict(sign_in, createdDateTime="9999-12-31T23:59:59Z")), "createdDateTime"),
        Hostile("year 0001 in UTC",
                line(dict(sign_in, createdDateTime="0001-01-01T00:00:00Z")), "createdDateTime"),
        Hostile("a detection in year 9999",
                line(dict(detection, activityDateTime="9999-12-31T23:00:00-05:00")),
                "activityDateTime"),
        Hostile("Log Analytics tables not a list", line({"tables": {"name": "x"}}), "tables"),
        Hostile("Log Analytics rows not a list",
                line({"tables": [{"columns": [{"name": "Type"}], "rows": 5}]}),
                "tables[0].rows"),
        Hostile("Log Analytics row not a list",
                line({"tables": [{"columns": [{"name": "Type"}], "rows": [5]}]}),
                "tables[0].rows[0]"),
        Hostile("Log Analytics columns and rows of different lengths",
                line({"tables": [{"columns": [{"name": "Type"}, {"name": "TimeGenerated"}],
                                  "rows": [["SigninLogs"]]}]}),
                "tables[0].rows[0]"),
        Hostile("an error code of 5,000 digits",
                line(sign_in)[:-1] + b', "status": {"errorCode": ' + b"9" * 5000 + b"}}"),
        Hostile("an error code out of range", line(dict(sign_in, status={"errorCode": 10**30})),
                "status.errorCode"),
        Hostile("@odata.type as a list", line({**sign_in, "@odata.type": ["x"]}), "@odata.type"),
        Hostile("signInEventTypes as an object",
                line(dict(sign_in, signInEventTypes={"a": 1})), "signInEventTypes"),
        Hostile("riskEventTypes_v2 holding an object",
                line(dict(sign_in, riskEventTypes_v2=[{"a": 1}])), "riskEventTypes[0]"),
    ]
    return cases


def hostile_files(records: GraphRecords) -> list[HostileFile]:
    """Whole documents: deep ones, separators, shapes only a document can have."""
    good = [good_sign_in(records, 1), good_sign_in(records, 2, ipAddress="198.51.100.10")]
    ids = frozenset({"good-1", "good-2"})
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns"}
    deep = deep_array()
    return [
        HostileFile("a document nested 100,000 deep", deep.encode(), frozenset(),
                    "nested too deeply"),
        HostileFile("a page with one record nested too deeply",
                    (f'{{"@odata.context": "{page["@odata.context"]}", "value": '
                     f'[{json.dumps(good[0])}, {{"a": {deep}}}, {json.dumps(good[1])}]}}'
                     ).encode(), ids, "value[1]: nested too deeply"),
        HostileFile("a pretty array with a record nested too deeply",
                    ("[\n" + json.dumps(good[0]) + ",\n" + deep + ",\n" + json.dumps(good[1])
                     + "\n]\n").encode(), ids, "the array[1]: nested too deeply"),
        HostileFile("records separated by form feeds only",
                    b"\f".join(line(r) for r in good), ids, ""),
        HostileFile("records separated by vertical tabs only",
                    b"\v".join(line(r) for r in good), ids, ""),
        HostileFile("a document with form feeds between its elements",
                    b"[" + b",\f".join(line(r) for r in good) + b"]", ids, ""),
        HostileFile("invalid UTF-8 on the first line",
                    b"\xff" + line(good[0]) + b"\n" + line(good[1]) + b"\n",
                    frozenset({"good-2"}), ":1: not valid UTF-8"),
        HostileFile("a query response with a short row among good ones",
                    line({"tables": [{"name": "PrimaryResult",
                                      "columns": [{"name": n} for n in LA_COLUMNS],
                                      "rows": [la_row(1), la_row(2)[:-1], la_row(3)]}]}),
                    frozenset({"la-1", "la-3"}), "tables[0].rows[1]"),
    ]


LA_COLUMNS = ("TimeGenerated", "Type", "Id", "UserPrincipalName", "UserId", "IPAddress",
              "RiskLevelDuringSignIn", "RiskState", "RiskDetail", "ResultType")


def la_row(n: int) -> list[object]:
    return [iso(T0 + timedelta(minutes=n)), "SigninLogs", f"la-{n}", f"la{n}@contoso.com",
            f"u-la{n}", "198.51.100.20", "high", "atRisk", "none", "0"]
