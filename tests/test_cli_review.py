"""``riskwatch review`` and ``riskwatch label`` end to end: files, and state (Azurite + Graph)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from service.cli.commands import main
from service.settings import load_storage_settings
from service.state.incidents import IncidentStore
from service.state.storage import table_service
from service.state.tables import Tables
from tests.graph_server import GraphRecords, GraphServer
from tests.test_review_accuracy import alert, incident

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "tenant"
SCHEMA = json.loads((ROOT / "service" / "review" / "review.schema.json").read_text())
SIGMA_ID = "0f3a6f0e-3333-4c2b-9a55-0123456789ab"
SIGMA_RULE = f"""\
title: Service principal added
id: {SIGMA_ID}
status: test
logsource:
    product: azure
    service: auditlogs
detection:
    sel:
        properties.message: Add service principal
    condition: sel
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("RISKWATCH_") and name != "RISKWATCH_STORAGE_CONNECTION":
            monkeypatch.delenv(name)


def test_a_review_of_the_sample_tenant(tmp_path, capsys):
    code = main(["review", "--since", "2026-11-02T00:00:00Z", "--until", "2026-11-12T12:00:00Z",
                 "--input", str(SAMPLES), "--out", str(tmp_path / "r")])
    assert code == 0
    assert "flagged users" in capsys.readouterr().err
    review = json.loads((tmp_path / "r" / "review.json").read_text(encoding="utf-8"))
    jsonschema.validate(review, SCHEMA)
    assert (tmp_path / "r" / "review.html").is_file()
    capsys.readouterr()
    # The flagged users are the user incidents `scan --incidents` finds in the same input.
    assert main(["scan", "--incidents", "--now", "2026-11-12T12:00:00Z", str(SAMPLES)]) == 0
    scanned = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    users = {i["principal"] for i in scanned if i["principal_type"] == "user"}
    assert {u["principal"] for u in review["users"]} == users and len(users) >= 10
    verdicts = [u["verdict"] for u in review["users"]]
    assert verdicts == sorted(verdicts, key=["high", "medium", "low"].index)
    for user in review["users"]:
        times = [e["time"] for e in user["timeline"]]
        assert times == sorted(times)
    counts = json.loads((ROOT / "samples" / "labels.json").read_text())["counts"]
    assert review["inventory"]["detections"]["total"] == counts["riskDetection"]
    assert review["inventory"]["sign_ins"]["total"] == counts["signIn"]
    assert sum(review["inventory"]["sign_ins"]["by_hour_of_week"]) == counts["signIn"]
    digests = {s["name"]: s["sha256"] for s in review["coverage"]["sources"]}
    assert len(digests) == len(list(SAMPLES.glob("*.json")))
    assert all(len(d) == 64 for d in digests.values())
    spray = next(ip for ip in review["ips"] if "password_spray" in ip["rules"])
    assert len(spray["users"]) >= 10 and spray["successes"] == 0


def test_windows_and_inputs_that_cannot_work(tmp_path, capsys):
    out = str(tmp_path / "r")
    assert main(["review", "--last", "fortnight", "--input", str(SAMPLES), "--out", out]) == 2
    assert main(["review", "--since", "2026-11-09T00:00:00Z", "--until",
                 "2026-11-02T00:00:00Z", "--input", str(SAMPLES), "--out", out]) == 2
    assert main(["review", "--last", "7d", "--input", str(tmp_path / "missing.json"),
                 "--out", out]) == 3
    assert "must be after" in capsys.readouterr().err


def test_a_review_from_state_with_labels(tmp_path, capsys, monkeypatch, storage_connection,
                                         table_prefix, peer_corpus):
    records = GraphRecords(peer_corpus)
    sigma = tmp_path / "sigma"
    sigma.mkdir()
    (sigma / "sp_added.yml").write_text(SIGMA_RULE, encoding="utf-8")
    with GraphServer() as graph:
        for name, value in {"RISKWATCH_STORAGE": storage_connection,
                            "RISKWATCH_TABLE_PREFIX": table_prefix,
                            "RISKWATCH_GRAPH_BASE_URL": graph.base_url,
                            "RISKWATCH_GRAPH_AUTH": "none",
                            "RISKWATCH_FEEDS": "riskDetections,signIns",
                            "RISKWATCH_SIGMA_RULES": str(sigma)}.items():
            monkeypatch.setenv(name, value)
        tables = Tables(table_service(load_storage_settings()[0]), table_prefix)
        case = incident("inc-1", alert("a1", "signin_risk_detection", "det-00001"))
        IncidentStore(tables).put(None, case, outboxed=True)
        at = case.first_seen
        graph.data["/v1.0/identityProtection/riskDetections"] += [
            records.risk_detection(1, at, riskLevel="high"),
            records.risk_detection(2, at - timedelta(days=20), riskLevel="high",
                                   riskState="confirmedCompromised")]
        graph.data["/v1.0/auditLogs/signIns"].append(records.sign_in(1, at))
        assert main(["label", "inc-1", "fp", "--by", "ana", "--note", "travel"]) == 0
        assert main(["label", "no-such-incident", "tp"]) == 2
        assert "unknown incident id" in capsys.readouterr().err
        until = (at + timedelta(days=1)).isoformat()
        code = main(["review", "--since", (at - timedelta(days=1)).isoformat(), "--until", until,
                     "--out", str(tmp_path / "s")])
    assert code == 0
    review = json.loads((tmp_path / "s" / "review.json").read_text(encoding="utf-8"))
    jsonschema.validate(review, SCHEMA)
    (user,) = review["users"]
    assert [lb["label"] for lb in user["labels"]] == ["fp"] and user["labels"][0]["by"] == "ana"
    high = next(r for r in review["accuracy"]["by_detection_type"] if r["risk_level"] == "high")
    # det-00001 is the labelled incident's (fp, from the analyst); det-00002 confirmed.
    assert (high["tp"], high["fp"]) == (1, 1)
    assert review["accuracy"]["sources"]["analyst"] == 1
    assert review["inventory"]["detections"]["total"] == 1  # only det-00001 is in the window
    assert {s["name"] for s in review["coverage"]["sources"]} == {"riskDetections", "signIns"}
    # The app never polled: the report says its incidents may miss events.
    assert any("not polled" in g["why"] for g in review["coverage"]["gaps"])
    # The rule versions are those of every rule the app runs, its Sigma rules included.
    versions = {r["rule_id"]: r["version"] for r in review["coverage"]["rule_versions"]}
    assert versions[f"sigma:{SIGMA_ID}"] == 1 and "password_spray" in versions
