"""``--sigma DIR`` on ``riskwatch rules``, ``scan`` and ``run --once``; RISKWATCH_SIGMA_RULES."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from service.cli.commands import main
from service.run.job import MainJob
from service.settings import load_settings


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def _sigma_id(peer_corpus: Path, name: str) -> str:
    return "sigma:" + str(yaml.safe_load((peer_corpus / "sigma" / name).read_text())["id"])


def test_rules_sigma_json_lists_every_rule_with_its_status(capsys, peer_corpus: Path) -> None:
    assert main(["rules", "--sigma", str(peer_corpus / "sigma"), "--json"]) == 0
    rows = _lines(capsys.readouterr().out)
    assert len(rows) == 81
    assert all(set(r) == {"id", "title", "status", "reason", "level", "service", "file"}
               for r in rows)
    assert sum(r["status"] == "supported" for r in rows) == 78
    legacy = next(r for r in rows if r["file"] == "signin_logs/"
                  "azure_legacy_authentication_protocols.yml")
    assert legacy["status"] == "unsupported" and "ActivityDetails" in str(legacy["reason"])
    assert all(r["reason"] == "" for r in rows if r["status"] == "supported")


def test_rules_sigma_text_and_a_missing_folder(capsys, tmp_path: Path, peer_corpus) -> None:
    assert main(["rules", "--sigma", str(peer_corpus / "sigma")]) == 0
    out = capsys.readouterr().out
    assert "unsupported" in out and "not mapped for signinlogs" in out
    assert main(["rules", "--sigma", str(tmp_path / "absent")]) == 3
    assert "not a folder of Sigma rules" in capsys.readouterr().err


def test_scan_sigma_alerts_from_graph_and_export_shapes(capsys, tmp_path, peer_corpus) -> None:
    graph = tmp_path / "graph-risk.json"  # a Graph riskDetections page
    shutil.copy(peer_corpus / "msgraph_docs" / "riskdetection-list.v1.0.example-response.json",
                graph)
    export = tmp_path / "export-risk.log"  # diagnostic-settings records (UserRiskEvents)
    shutil.copy(peer_corpus / "elastic_integrations" / "identity_protection" /
                "test-userriskevents-raw.log", export)
    code = main(["scan", "--sigma", str(peer_corpus / "sigma"), str(graph), str(export)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "sigma: 78 of 81 rules" in captured.err
    alerts = _lines(captured.out)
    fired = {a["rule_id"] for a in alerts}
    name = "identity_protection/azure_identity_protection_{}.yml"
    assert _sigma_id(peer_corpus, name.format("unfamilar_sign_in")) in fired  # Graph shape
    assert _sigma_id(peer_corpus, name.format("anonymous_ip_address")) in fired  # export
    assert _sigma_id(peer_corpus, name.format("password_spray")) in fired  # export
    sigma = [a for a in alerts if str(a["rule_id"]).startswith("sigma:")]
    assert all(a["context"]["sigma_file"].startswith("identity_protection/") for a in sigma)
    assert any(not str(a["rule_id"]).startswith("sigma:") for a in alerts)  # built-ins too


def test_scan_incidents_group_sigma_alerts_with_the_built_in_ones(capsys, tmp_path,
                                                                  peer_corpus) -> None:
    export = tmp_path / "export-risk.log"
    shutil.copy(peer_corpus / "elastic_integrations" / "identity_protection" /
                "test-userriskevents-raw.log", export)
    assert main(["scan", "--incidents", "--sigma", str(peer_corpus / "sigma"), str(export)]) == 0
    incidents = _lines(capsys.readouterr().out)
    assert incidents
    for incident in incidents:
        rules = [str(r) for r in incident["rules"]]
        assert any(r.startswith("sigma:") for r in rules)
        assert any(not r.startswith("sigma:") for r in rules)  # the same case, not a new one


def test_the_app_loads_its_setting_once_and_run_once_takes_sigma(
    capsys, tmp_path, monkeypatch, storage_connection, table_prefix, peer_corpus
) -> None:
    monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
    monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)
    monkeypatch.setenv("RISKWATCH_NOTIFY", "alerts")
    monkeypatch.setenv("RISKWATCH_SIGMA_RULES", str(peer_corpus / "sigma"))
    settings = load_settings()
    assert settings.sigma_rules == str(peer_corpus / "sigma")
    job = MainJob(settings, sinks=[])
    assert len(job.sigma_rules) == 78
    monkeypatch.delenv("RISKWATCH_SIGMA_RULES")
    export = tmp_path / "export-risk.log"
    shutil.copy(peer_corpus / "elastic_integrations" / "identity_protection" /
                "test-userriskevents-raw.log", export)
    code = main(["run", "--once", "--json", "--sigma", str(peer_corpus / "sigma"),
                 "--input", str(export), "--now", "2026-11-02T12:00:00Z"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    fired = {a["rule_id"] for a in _lines(captured.out)}
    assert _sigma_id(peer_corpus, "identity_protection/"
                     "azure_identity_protection_password_spray.yml") in fired
