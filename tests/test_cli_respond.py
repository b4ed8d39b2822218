"""``riskwatch respond``: a person's command (exit 4 without --yes, never prompts), the
exclusions, and ``--plan`` offline and from state; against Azurite and the loopback Graph."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from detections.incidents.model import Incident
from service.cli.commands import main
from service.cli.terminal import EXIT_NO_INPUT, EXIT_OK, EXIT_USAGE, EXIT_WOULD_ACT
from service.response.bundles import evidence_store
from service.settings import load_settings
from service.state.audit import AuditLog
from service.state.incidents import TABLE as INCIDENTS
from service.state.incidents import IncidentStore
from service.state.tables import Tables, row_key_hash
from tests.graph_actions_server import GraphActionsServer
from tests.test_response_policy import incident_of

pytestmark = pytest.mark.azurite
ROOT = Path(__file__).resolve().parent.parent
INCIDENT = incident_of("anomalousToken")
NOW = "2026-11-02T10:00:00+00:00"


@pytest.fixture
def server() -> Iterator[GraphActionsServer]:
    with GraphActionsServer() as running:
        running.add_user("u-alice", "alice@contoso.com")
        yield running


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, storage_connection: str, table_prefix: str,
        server: GraphActionsServer) -> Tables:
    for name, value in {"RISKWATCH_STORAGE": storage_connection,
                        "RISKWATCH_TABLE_PREFIX": table_prefix,
                        "RISKWATCH_GRAPH_BASE_URL": server.base_url,
                        "RISKWATCH_GRAPH_AUTH": "none",
                        "RISKWATCH_EVIDENCE_CONTAINER": "ev" + uuid.uuid4().hex[:12]}.items():
        monkeypatch.setenv(name, value)
    return Tables(TableServiceClient.from_connection_string(storage_connection), table_prefix)


def stored(tables: Tables, incident: Incident = INCIDENT, bundle: bool = True) -> Incident:
    IncidentStore(tables).put(None, incident, outboxed=True)
    if bundle:
        evidence_store(load_settings()).write(incident, [], [], incident.last_seen)
    return incident


def respond(*args: str) -> list[str]:
    return ["respond", *args, "--now", NOW]


def test_without_yes_it_prints_the_call_and_exits_4(env: Tables, server: GraphActionsServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    stored(env)
    code = main(respond(INCIDENT.incident_id, "--action", "revoke", "--reason", "phish",
                        "--by", "ana"))
    out = capsys.readouterr().out
    assert code == EXIT_WOULD_ACT == 4
    assert f"POST {server.base_url}/v1.0/users/alice@contoso.com/revokeSignInSessions" in out
    assert server.calls() == [] and AuditLog(env).records() == []


def test_with_yes_it_acts_once_and_audits_the_person(env: Tables, server: GraphActionsServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    stored(env)
    args = respond(INCIDENT.incident_id, "--action", "disable", "--reason", "confirmed by "
                   "phone", "--by", "ana", "--yes")
    assert main(args) == EXIT_OK
    assert main(args) == EXIT_OK  # again: already done, not called again
    assert "already taken" in capsys.readouterr().out
    assert [(a.method, a.body) for a in server.calls()] == [
        ("PATCH", {"accountEnabled": False})]
    assert server.users["u-alice"].enabled is False
    assert main(["audit"]) == EXIT_OK
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert list(record) == ["time", "actor", "action", "target", "incident_id", "revision",
                            "evidence", "reason", "policy_rule", "graph_request_id",
                            "outcome", "error"]
    assert (record["actor"], record["action"], record["outcome"], record["policy_rule"]) == (
        "ana", "disable", "done", None)
    assert record["evidence"]["prefix"] and record["graph_request_id"]
    assert main(["audit", "--since", "2026-11-03T00:00:00Z"]) == EXIT_OK
    assert capsys.readouterr().out == ""


def test_an_excluded_account_is_an_error_naming_it(env: Tables, server: GraphActionsServer,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    stored(env)
    monkeypatch.setenv("RISKWATCH_RESPONSE_EXCLUDE", "breakglass@contoso.com,ALICE@contoso.com")
    code = main(respond(INCIDENT.incident_id, "--action", "revoke", "--reason", "x", "--by",
                        "ana", "--yes"))
    assert code == EXIT_USAGE
    assert "alice@contoso.com" in capsys.readouterr().err.lower()
    assert server.calls() == []


def test_no_evidence_no_action(env: Tables, server: GraphActionsServer,
                               capsys: pytest.CaptureFixture[str]) -> None:
    stored(env, bundle=False)
    code = main(respond(INCIDENT.incident_id, "--action", "revoke", "--reason", "x", "--by",
                        "ana", "--yes"))
    assert code == 1 and "no evidence bundle" in capsys.readouterr().err
    assert server.calls() == []


def test_usage_errors(env: Tables, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(respond("--plan", "abc")) == EXIT_USAGE
    assert main(respond("abc", "--action", "revoke")) == EXIT_USAGE  # no --reason, --by
    assert main(respond("0" * 32, "--action", "revoke", "--reason", "r", "--by", "b")) == 2
    assert "unknown incident" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(respond("abc", "--action", "reset-password"))
    assert stopped.value.code == EXIT_USAGE


def test_plan_offline_lists_the_sample_tenants_actions(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RISKWATCH_RESPONSE_EXCLUDE", "wei.patel@contoso.com")
    assert main(["respond", "--plan", "--input", str(ROOT / "samples" / "tenant")]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and {"incident_id", "principal", "action", "reason", "verdict"} <= set(lines[0])
    assert {p["action"] for p in lines} == {"revoke", "confirm-compromised"}
    assert all(p["verdict"] == "high" for p in lines)
    assert "wei.patel@contoso.com" not in {p["principal"] for p in lines}


def test_plan_offline_knows_object_ids_from_the_alerts(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """wei.patel listed by object id only (the id in samples/tenant): never proposed; the
    other users, whose ids the alerts carry, still are."""
    monkeypatch.setenv("RISKWATCH_RESPONSE_EXCLUDE", "e8566431-e258-4268-8806-d26f27401fa0")
    assert main(["respond", "--plan", "--input", str(ROOT / "samples" / "tenant")]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    principals = {p["principal"] for p in lines}
    assert principals and "wei.patel@contoso.com" not in principals
    assert all(p["user_id"] for p in lines)


def test_plan_from_state_reads_incidents_and_labels(env: Tables,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    stored(env)
    medium = replace(incident_of("unfamiliarFeatures"), incident_id="b" * 32,
                     principal="bob@contoso.com")
    stored(env, medium, bundle=False)
    assert main(["respond", "--plan"]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["incident_id"], p["action"]) for p in lines] == [
        (INCIDENT.incident_id, "revoke"), (INCIDENT.incident_id, "confirm-compromised")]
    assert main(["label", INCIDENT.incident_id, "fp", "--by", "ana"]) == EXIT_OK
    capsys.readouterr()
    assert main(["respond", "--plan"]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["action"] for p in lines] == ["dismiss"]


def test_plan_from_state_reports_an_unreadable_row_and_goes_on(
        env: Tables, capsys: pytest.CaptureFixture[str]) -> None:
    broken = {"PartitionKey": "user", "RowKey": row_key_hash("bob@contoso.com"), "n": 1,
              "d0": "{not json", "incident_id": "b" * 32}
    env.table(INCIDENTS).create_entity(broken)
    assert main(["respond", "--plan"]) == EXIT_NO_INPUT  # the only row: nothing was read
    err = capsys.readouterr().err
    assert f"unreadable: incidents/user/{broken['RowKey']}" in err
    stored(env)
    assert main(["respond", "--plan"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert [json.loads(line)["action"] for line in out.splitlines()] == [
        "revoke", "confirm-compromised"]
    assert f"unreadable: incidents/user/{broken['RowKey']}" in err
