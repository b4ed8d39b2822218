"""Issue 20's done-when: a device-code phish followed by a new MFA method on the same account
is one incident at verdict high, from the Graph and the export shapes, through
``riskwatch scan --incidents`` and through the deployed job (Azurite, loopback Graph and
webhook)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from detections.auth_flows import BROKER_APP_ID
from detections.testing import T0
from detections.testing import directory_audit as audit_event
from detections.testing import sign_in as sign_in_event
from service.cli.commands import main
from service.delivery.slack_incident import incident_message
from service.delivery.teams import encode
from service.delivery.teams_incident import incident_card
from service.ingest.export import registration_for
from service.run.job import MainJob
from service.settings import load_settings
from synth import Config, plan
from synth.__main__ import _start
from synth.writers import write
from tests.export_support import new_export_blob
from tests.graph_server import GraphRecords, directory_audit, simulated_client
from tests.incident_support import incidents_of
from tests.sink_checks import card_of, card_texts
from tests.support_sinks import receiver

PHISH_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MFA_AT = PHISH_AT + timedelta(minutes=20)
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
VICTIM, VICTIM_ID = "victim@contoso.com", "u-victim"
SIGN_INS = "/v1.0/auditLogs/signIns"
AUDITS = "/v1.0/auditLogs/directoryAudits"
EXPECTED_RULES = {"device_code_phishing", "mfa_method_change_after_risk"}


def phish(records: GraphRecords) -> dict[str, Any]:
    """A successful device-code sign-in through the Microsoft Authentication Broker."""
    return records.sign_in(
        1, PHISH_AT, id="si-phish", userPrincipalName=VICTIM, userId=VICTIM_ID,
        appId=BROKER_APP_ID, appDisplayName="Microsoft Authentication Broker",
        authenticationProtocol="deviceCode", originalTransferMethod="deviceCodeFlow",
        ipAddress="203.0.113.66", status={"errorCode": 0, "failureReason": None},
        riskLevelDuringSignIn="none", riskLevelAggregated="none", riskState="none",
        riskDetail="none",
    )


def new_method() -> dict[str, Any]:
    """The attacker registers an authenticator on the victim's account 20 minutes later."""
    return directory_audit(2, MFA_AT, upn=VICTIM, id="Directory_mfa",
                           initiatedBy={"app": None, "user": {
                               "id": VICTIM_ID, "userPrincipalName": VICTIM,
                               "ipAddress": "203.0.113.66"}},
                           targetResources=[{"id": VICTIM_ID, "type": "User",
                                             "userPrincipalName": VICTIM}])


def export_line(category: str, obj: dict[str, Any], time_field: str) -> str:
    operation = "Sign-in activity" if category == "SignInLogs" else obj["activityDisplayName"]
    return json.dumps({"time": obj[time_field], "category": category, "tenantId": "t-1",
                       "operationName": operation, "resultType": "0", "properties": obj})


def the_incident(incidents: list[dict[str, Any]]) -> dict[str, Any]:
    victims = [i for i in incidents if i["principal"] == VICTIM]
    assert len(victims) == 1, [(i["principal"], i["rules"]) for i in incidents]
    (incident,) = victims
    assert set(incident["rules"]) >= EXPECTED_RULES
    assert (incident["principal_type"], incident["verdict"]) == ("user", "high")
    kinds = {entry["kind"] for entry in incident["timeline"]}
    assert {"signin", "audit"} <= kinds  # the sign-in and the audit are both on its timeline
    return incident


@pytest.mark.parametrize("shape", ["graph", "export"])
def test_scan_makes_one_high_incident(shape, tmp_path: Path, capsys, peer_corpus) -> None:
    records = GraphRecords(peer_corpus)
    sign_in, audit = phish(records), new_method()
    if shape == "graph":
        (tmp_path / "signIns.json").write_text(json.dumps({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
            "value": [sign_in]}))
        (tmp_path / "directoryAudits.json").write_text(json.dumps({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/"
            "directoryAudits", "value": [audit]}))
    else:  # one PT1H.json-like file of the export's JSON lines, the audit first
        (tmp_path / "PT1H.json").write_text(
            export_line("AuditLogs", audit, "activityDateTime") + "\n"
            + export_line("SignInLogs", sign_in, "createdDateTime") + "\n")
    assert main(["scan", "--incidents", "--now", NOW.isoformat(), str(tmp_path)]) == 0
    incidents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    incident = the_incident(incidents)
    assert incident["score"] >= 65


def test_without_the_phish_the_new_method_alone_raises_nothing(tmp_path, capsys) -> None:
    (tmp_path / "directoryAudits.json").write_text(json.dumps({"value": [new_method()]}))
    assert main(["scan", "--incidents", "--now", NOW.isoformat(), str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == ""


def _job_env(connection: str, prefix: str, graph_url: str, webhook_url: str,
             **extra: str) -> dict[str, str]:
    return {"RISKWATCH_STORAGE": connection, "RISKWATCH_TABLE_PREFIX": prefix,
            "RISKWATCH_NOTIFY": "incidents", "RISKWATCH_GRAPH_BASE_URL": graph_url,
            "RISKWATCH_GRAPH_AUTH": "none", "RISKWATCH_WEBHOOK_URL": webhook_url,
            "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low", **extra}


def _latest(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for body in bodies:
        incident = body["incident"]
        before = latest.get(incident["incident_id"])
        if before is None or incident["revision"] > before["revision"]:
            latest[incident["incident_id"]] = incident
    return list(latest.values())


@pytest.mark.azurite
def test_the_deployed_job_makes_one_high_incident_from_graph(
    storage_connection, table_prefix, graph_server, clock, peer_corpus
) -> None:
    records = GraphRecords(peer_corpus)
    graph_server.data[SIGN_INS] = [phish(records)]
    graph_server.data[AUDITS] = [new_method()]
    with receiver() as rx:
        settings = load_settings(_job_env(storage_connection, table_prefix,
                                          graph_server.base_url, rx.url))
        report = MainJob(settings, graph=simulated_client(graph_server, clock)).run(NOW)
        assert report.sources.events.get("directoryAudits") == 1
        assert report.sources.events.get("signIns") == 1
        the_incident(_latest(rx.bodies()))


@pytest.mark.azurite
def test_the_deployed_job_makes_one_high_incident_from_the_export(
    storage_connection, table_prefix, graph_server, clock, peer_corpus
) -> None:
    records = GraphRecords(peer_corpus)
    sign_name, sign_blob = new_export_blob(storage_connection)
    audit_name, audit_blob = new_export_blob(storage_connection,
                                             container="insights-logs-auditlogs")
    sign_blob.append_block((export_line("SignInLogs", phish(records), "createdDateTime")
                            + "\n").encode())
    audit_blob.append_block((export_line("AuditLogs", new_method(), "activityDateTime")
                             + "\n").encode())
    with receiver() as rx:
        settings = load_settings(_job_env(
            storage_connection, table_prefix, graph_server.base_url, rx.url,
            RISKWATCH_EXPORT_STORAGE=storage_connection, RISKWATCH_FEEDS="riskDetections"))
        job = MainJob(settings, graph=simulated_client(graph_server, clock))
        assert job.register_blob(registration_for("insights-logs-auditlogs", audit_name))
        assert job.register_blob(registration_for("insights-logs-signinlogs", sign_name))
        report = job.run(NOW)
        assert report.sources.events.get("export") == 2
        the_incident(_latest(rx.bodies()))


@pytest.mark.azurite
def test_an_mfa_change_read_before_its_phish_alerts_when_the_look_back_rereads_it(
    storage_connection, table_prefix, graph_server, clock, peer_corpus
) -> None:
    records = GraphRecords(peer_corpus)
    graph_server.data[AUDITS] = [new_method()]  # the audit lands first
    with receiver() as rx:
        settings = load_settings(_job_env(storage_connection, table_prefix,
                                          graph_server.base_url, rx.url))
        job = MainJob(settings, graph=simulated_client(graph_server, clock))
        first = job.run(MFA_AT + timedelta(minutes=5))
        assert first.sources.events.get("directoryAudits") == 1
        assert rx.bodies() == []  # no flag yet: nothing to say
        graph_server.data[SIGN_INS] = [phish(records)]  # the sign-in log is later
        job.run(MFA_AT + timedelta(minutes=15))
        the_incident(_latest(rx.bodies()))


def test_the_follow_up_window_is_the_audit_followup_setting(
    tmp_path: Path, capsys, peer_corpus, monkeypatch
) -> None:
    late = new_method()
    late["activityDateTime"] = "2026-11-02T11:30:00.0000000Z"  # 2.5 h after the phish
    sign_in = phish(GraphRecords(peer_corpus))
    (tmp_path / "signIns.json").write_text(json.dumps({"value": [sign_in]}))
    (tmp_path / "directoryAudits.json").write_text(json.dumps({"value": [late]}))

    def rules_raised() -> set[str]:
        assert main(["scan", "--now", "2026-11-02T12:00:00Z", str(tmp_path)]) == 0
        return {json.loads(line)["rule_id"] for line in capsys.readouterr().out.splitlines()
                if line}

    assert "mfa_method_change_after_risk" in rules_raised()  # within the default 24 hours
    monkeypatch.setenv("RISKWATCH_AUDIT_FOLLOWUP_HOURS", "2")
    assert "mfa_method_change_after_risk" not in rules_raised()
    monkeypatch.setenv("RISKWATCH_AUDIT_FOLLOWUP_HOURS", "0.5")
    assert main(["scan", str(tmp_path)]) != 0  # below the 1-720 range: named, not ignored
    assert "RISKWATCH_AUDIT_FOLLOWUP_HOURS" in capsys.readouterr().err


AUDIT_RULES = ("mfa_method_change_after_risk", "app_credential_after_risk",
               "role_assigned_outside_pim", "ca_policy_mfa_removed")


@pytest.mark.parametrize("shape", ["graph", "diagnostic"])
def test_the_sample_tenants_audit_stories_alert_from_both_shapes(
    shape: str, tmp_path: Path, capsys
) -> None:
    tenant = plan(Config(users=45, days=9, seed=11, start=_start("2026-11-02T00:00:00Z"),
                         per_day=2))
    write(tenant.records(), tmp_path, shape, stream=False)
    assert main(["scan", str(tmp_path)]) == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    for label in tenant.labels:
        if label["rule_id"] not in AUDIT_RULES:
            continue
        hits = [a for a in alerts if a["rule_id"] == label["rule_id"]
                and a["principal"] in label["users"]]
        assert bool(hits) is (label["expect"] == "alert"), label["story"]
    raised = {a["rule_id"] for a in alerts}
    assert set(AUDIT_RULES) <= raised


def test_an_audits_attacker_text_is_inert_in_the_chat_incidents() -> None:
    hostile = "Payroll <!channel> [renew](https://evil.example/r) <img src=x>"
    (incident,) = incidents_of([
        sign_in_event(id="phish", app_id=BROKER_APP_ID, authentication_protocol="deviceCode"),
        audit_event(id="mfa", time=T0 + timedelta(minutes=20),
                        activity_display_name=f"User registered security info {hostile}"),
    ])
    assert incident.verdict == "high"
    slack = json.dumps(incident_message(incident.to_dict(), "https://entra.microsoft.com"))
    assert "User registered security info" in slack
    assert "<!channel>" not in slack and "](https://evil" not in slack
    card = card_of(encode(incident_card(incident.to_dict(), "https://entra.microsoft.com")))
    # Teams shows it literally: in TextRuns (never markdown), no TextBlock carries it.
    assert any(hostile in t for t in card_texts(card["body"], frozenset({"TextRun"})))
    assert not [t for t in card_texts(card["body"], frozenset({"TextBlock"})) if hostile in t]
