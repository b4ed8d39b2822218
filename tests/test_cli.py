"""``riskwatch`` as a user runs it: scan, rules, run, baseline; exit codes, help, pipes."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest

from detections.registry import load_rules
from detections.rules import risk_level_passthrough
from service.cli.commands import build_parser, main
from tests.graph_server import GraphRecords
from tests.receivers import Receiver, Reply

ROOT = Path(__file__).resolve().parent.parent

REQUIRED_KEYS = {"rule_id", "severity", "title", "principal", "dedup_key", "first_seen",
                 "last_seen", "count", "event_ids", "mitre", "context"}
SEVERITIES = {"informational", "low", "medium", "high", "critical"}


def graph_sign_in(n: int, **fields: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": f"si-{n}", "createdDateTime": f"2026-11-02T09:{n:02d}:00Z",
        "userPrincipalName": "alice@contoso.com", "userId": "u-alice",
        "appDisplayName": "Office 365", "ipAddress": "203.0.113.10",
        "status": {"errorCode": 0}, "isInteractive": True,
        "riskLevelDuringSignIn": "none", "riskLevelAggregated": "none", "riskState": "none",
        "riskDetail": "none",
        "location": {"city": "Seattle", "countryOrRegion": "US",
                     "geoCoordinates": {"latitude": 47.6, "longitude": -122.3}},
    }
    record.update(fields)
    return record


def write_lines(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(list(args))
    captured = capsys.readouterr()
    alerts = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    return code, alerts, captured.err


def test_scan_writes_alerts_with_the_documented_keys(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RISKWATCH_DISABLED_RULES", raising=False)
    path = write_lines(tmp_path / "signins.jsonl", [
        graph_sign_in(1),
        graph_sign_in(2, riskLevelDuringSignIn="high", riskState="atRisk"),
    ])
    code, alerts, err = run(capsys, "scan", str(path))
    assert code == 0
    assert {a["rule_id"] for a in alerts} == {"high_risk_signin_succeeded",
                                              "risk_level_passthrough"}
    for alert in alerts:
        assert alert.keys() >= REQUIRED_KEYS
        assert alert["severity"] in SEVERITIES
        assert alert["event_ids"] == ["si-2"]
    assert "scanned 2 events" in err and "2 alerts" in err


def test_a_broken_line_is_skipped_with_its_line_and_the_rest_still_runs(tmp_path, capsys):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps(graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk")) + "\n"
        + '{"id": "broken", \n'
        + json.dumps(graph_sign_in(3, riskLevelDuringSignIn="medium", riskState="atRisk",
                                   userPrincipalName="bob@contoso.com", userId="u-bob")) + "\n",
        encoding="utf-8",
    )
    code, alerts, err = run(capsys, "scan", str(path))
    assert code == 0
    assert {a["event_ids"][0] for a in alerts} == {"si-1", "si-3"}
    assert f"skipped {path}:2" in err
    assert "1 records skipped" in err


def test_unreadable_input_exits_3_with_a_one_line_reason(tmp_path, capsys, peer_corpus):
    published = peer_corpus / "msgraph_docs" / "signin-list.v1.0.example1-response.AS-PUBLISHED.txt"
    code, alerts, err = run(capsys, "scan", str(published))
    assert code == 3 and alerts == []
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"riskwatch: cannot read {published}:")
    missing = tmp_path / "nope.json"
    code, _, err = run(capsys, "scan", str(missing))
    assert code == 3 and "nope.json" in err


def test_one_unreadable_file_among_good_ones_is_reported_not_fatal(tmp_path, capsys):
    good = write_lines(tmp_path / "a.jsonl",
                       [graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk")])
    bad = tmp_path / "b.json"
    bad.write_text("[{,]", encoding="utf-8")
    code, alerts, err = run(capsys, "scan", str(good), str(bad))
    assert code == 0 and alerts
    assert f"unreadable: {bad}" in err


def test_now_ignores_later_events(tmp_path, capsys):
    path = write_lines(tmp_path / "s.jsonl",
                       [graph_sign_in(30, riskLevelDuringSignIn="high", riskState="atRisk")])
    code, alerts, err = run(capsys, "scan", "--now", "2026-11-02T09:00:00Z", str(path))
    assert code == 0 and alerts == []
    assert "after --now" in err


def test_the_sample_tenant_raises_every_labelled_alert(capsys):
    samples = Path(__file__).resolve().parent.parent / "samples"
    code, alerts, _ = run(capsys, "scan", str(samples / "tenant"))
    assert code == 0
    labels = json.loads((samples / "labels.json").read_text(encoding="utf-8"))["stories"]
    expected = {lab["rule_id"] for lab in labels if lab["expect"] == "alert"}
    assert expected <= {a["rule_id"] for a in alerts}
    # Every rule has a story in the sample tenant, and every story names a real rule.
    rule_ids = {rule.id for rule in load_rules()}
    assert rule_ids <= expected, f"no story in samples/labels.json for {rule_ids - expected}"
    assert expected <= rule_ids, f"stories of unknown rules: {expected - rule_ids}"


def test_rules_lists_every_rule(capsys):
    assert main(["rules", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in listed] == [rule.id for rule in load_rules()]
    assert all(r["investigation"] and r["false_positives"] for r in listed)
    # Every numeric threshold shows the range that start-up enforces.
    numeric = [p for r in listed for p in r["params"] if isinstance(p["default"], int | float)]
    assert numeric
    assert all(p["minimum"] <= p["default"] <= p["maximum"] and p["valid"] for p in numeric)
    assert main(["rules"]) == 0
    assert "signin_risk_detection" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["scan"], ["bogus"], ["run"]])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_directory_marks_privileged_holders(tmp_path, capsys):
    path = write_lines(tmp_path / "s.jsonl",
                       [graph_sign_in(1, riskLevelDuringSignIn="medium", riskState="atRisk")])
    directory = tmp_path / "roles.json"
    directory.write_text(json.dumps({"value": [{
        "id": "ra-1", "principalId": "u-alice", "directoryScopeId": "/",
        "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10",
        "principal": {"id": "u-alice", "userPrincipalName": "alice@contoso.com"},
        "roleDefinition": {"id": "62e90394-69f5-4237-9190-012177145e10",
                           "displayName": "Global Administrator"},
    }]}), encoding="utf-8")
    code, plain, _ = run(capsys, "scan", str(path))
    code2, enriched, _ = run(capsys, "scan", "--directory", str(directory), str(path))
    assert code == code2 == 0
    assert plain[0]["severity"] == "medium" and "privileged" not in plain[0]["tags"]
    assert enriched[0]["severity"] == "high"
    assert "privileged" in enriched[0]["tags"]
    assert enriched[0]["context"]["privileged_roles"] == ["Global Administrator"]


@pytest.mark.azurite
def test_baseline_then_run_once_against_table_storage(
    tmp_path, capsys, monkeypatch, storage_connection, table_prefix
):
    monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
    monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)
    # Eight days of history from the US: the baseline makes the user "known".
    history = [graph_sign_in(n, id=f"h-{n}", createdDateTime=f"2026-10-{20 + n:02d}T09:00:00Z")
               for n in range(8)]
    baseline = write_lines(tmp_path / "history.jsonl", history)
    assert main(["baseline", str(baseline)]) == 0
    assert "baseline: 8 events observed" in capsys.readouterr().err
    abroad = write_lines(tmp_path / "today.jsonl", [graph_sign_in(
        1, id="today", createdDateTime="2026-11-02T09:00:00Z",
        location={"city": "Lagos", "countryOrRegion": "NG",
                  "geoCoordinates": {"latitude": 6.5, "longitude": 3.4}},
        ipAddress="198.51.100.9",
    )])
    assert main(["run", "--once", "--print", "--input", str(abroad),
                 "--now", "2026-11-02T09:05:00Z"]) == 0
    captured = capsys.readouterr()
    assert "unfamiliar_country" in captured.out
    assert "alerts_raised=1" in captured.err
    # Once more: already seen, nothing new.
    assert main(["run", "--once", "--print", "--input", str(abroad),
                 "--now", "2026-11-02T09:10:00Z"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "alerts_raised=0" in captured.err


@pytest.mark.azurite
def test_without_a_baseline_a_new_deployment_stays_quiet(
    tmp_path, capsys, monkeypatch, storage_connection, table_prefix
):
    monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
    monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)
    abroad = write_lines(tmp_path / "today.jsonl", [graph_sign_in(
        1, id="today", createdDateTime="2026-11-02T09:00:00Z",
        location={"city": "Lagos", "countryOrRegion": "NG",
                  "geoCoordinates": {"latitude": 6.5, "longitude": 3.4}},
    )])
    assert main(["run", "--once", "--input", str(abroad), "--now", "2026-11-02T09:05:00Z"]) == 0
    assert "alerts_raised=0" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"riskwatch {metadata.version('riskwatch')}\n"


def _commands(parser: argparse.ArgumentParser, path: str = "riskwatch"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, f"{path} {name}")


def test_every_argument_of_every_command_has_help_and_every_command_an_example():
    commands = dict(_commands(build_parser()))
    assert {"riskwatch scan", "riskwatch rules", "riskwatch run", "riskwatch baseline",
            "riskwatch outbox list", "riskwatch outbox retry"} <= set(commands)
    for path, parser in commands.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (path, action.dest)
        if path != "riskwatch":
            assert parser.epilog and f"example:\n  {path}" in parser.epilog, path
            assert "3  no input could be read" in parser.epilog
            assert f"{path} " in parser.format_help()  # the epilog is shown as written


def test_scan_into_a_closed_pipe_exits_0_without_a_traceback():
    """``riskwatch scan ... | head``: the reader went away; that is not an error."""
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli.commands", "scan", str(ROOT / "samples" / "tenant")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the first alert is written: every write fails
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err


def test_a_rule_failure_makes_scan_exit_1(tmp_path, capsys, monkeypatch):
    def boom(event, ctx):
        raise ValueError("rule bug \x1b[2J")  # a terminal escape: shown, never obeyed

    crashing = dataclasses.replace(risk_level_passthrough.RULE, id="crashing_rule", match=boom)
    monkeypatch.setattr("service.cli.commands.load_rules", lambda: [crashing])
    path = write_lines(tmp_path / "s.jsonl", [graph_sign_in(1)])
    code, alerts, err = run(capsys, "scan", str(path))
    assert code == 1 and alerts == []
    assert "rule crashing_rule failed on si-1" in err and "1 rule failures" in err
    assert "\x1b" not in err and "rule bug \\x1b[2J" in err


def test_invalid_settings_exit_2_with_the_setting_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "not-a-number")
    code, _, err = run(capsys, "scan", str(write_lines(tmp_path / "s.jsonl", [graph_sign_in(1)])))
    assert code == 2
    assert "RISKWATCH_BRUTE_FORCE_MIN_FAILURES" in err and "Traceback" not in err


NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _state_env(monkeypatch, storage_connection, table_prefix, **more: str) -> None:
    monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
    monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)
    monkeypatch.setenv("RISKWATCH_NOTIFY", "alerts")  # these tests count alert deliveries
    for name, value in more.items():
        monkeypatch.setenv(name, value)


@pytest.mark.azurite
def test_run_once_exits_1_with_the_reason_when_a_feed_is_forbidden(
    capsys, monkeypatch, storage_connection, table_prefix, graph_server, peer_corpus
):
    graph_server.data["/v1.0/identityProtection/riskDetections"] = [
        GraphRecords(peer_corpus).risk_detection(1, NOW - timedelta(hours=1))]
    graph_server.forbidden.add("/v1.0/auditLogs/signIns")
    _state_env(monkeypatch, storage_connection, table_prefix,
               RISKWATCH_GRAPH_BASE_URL=graph_server.base_url, RISKWATCH_GRAPH_AUTH="none",
               RISKWATCH_FEEDS="riskDetections,signIns")
    code, _, err = run(capsys, "run", "--once", "--now", NOW.isoformat())
    assert code == 1
    assert "riskDetections=1" in err  # the other feed still ran
    assert "riskwatch: feed signIns disabled:" in err and "AuditLog.Read.All" in err


@pytest.mark.azurite
def test_run_once_exits_1_when_a_sink_fails_and_0_when_all_is_well(
    tmp_path, capsys, monkeypatch, storage_connection, table_prefix
):
    risky = write_lines(tmp_path / "risky.jsonl", [
        graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk")])
    with Receiver(Reply(400, b"bad payload")) as rx:
        _state_env(monkeypatch, storage_connection, table_prefix,
                   RISKWATCH_WEBHOOK_URL=rx.url, RISKWATCH_WEBHOOK_MIN_SEVERITY="low")
        code, _, err = run(capsys, "run", "--once", "--input", str(risky),
                           "--now", "2026-11-02T09:05:00Z")
        assert code == 1
        assert "riskwatch: sink webhook: 0 to retry, 2 dead-lettered (last: HTTP 400" in err
        assert rx.token not in err  # the URL is a secret
        rx.default = Reply(200, b"")
        quiet = write_lines(tmp_path / "quiet.jsonl", [graph_sign_in(7, id="calm")])
        code, _, err = run(capsys, "run", "--once", "--input", str(quiet),
                           "--now", "2026-11-02T09:10:00Z")
    assert code == 0 and "riskwatch: " not in err.replace("riskwatch run:", "")


@pytest.mark.azurite
def test_run_once_with_no_readable_input_exits_3(
    tmp_path, capsys, monkeypatch, storage_connection, table_prefix
):
    _state_env(monkeypatch, storage_connection, table_prefix)
    code, _, err = run(capsys, "run", "--once", "--input", str(tmp_path / "missing.jsonl"))
    assert code == 3 and "riskwatch: cannot read" in err and "missing.jsonl" in err


def test_unreachable_table_storage_exits_1_naming_the_setting_and_not_the_key(
    tmp_path, capsys, monkeypatch
):
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    monkeypatch.setenv("RISKWATCH_STORAGE", (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"  # discard port: nothing listens
    ))
    events = write_lines(tmp_path / "history.jsonl", [graph_sign_in(1)])
    assert main(["baseline", str(events)]) == 1
    err = capsys.readouterr().err
    assert "Table Storage failed (ServiceRequestError)" in err and "RISKWATCH_STORAGE" in err
    assert key not in err and "127.0.0.1" not in err


def test_scan_loads_neither_the_azure_sdk_nor_an_http_client():
    """A scan reads files: the SDK and requests it never calls would be about 15 MB of its
    resident memory (bench/RESULTS.md, benchmark 3)."""
    code = (
        "import sys; from service.cli.commands import main; main(['scan', 'samples/tenant']);"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'azure', 'requests', 'urllib3'}),"
        " file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.count("\n") == 44  # the sample's alerts: the scan did run
    assert done.stderr.rstrip().endswith("[]"), done.stderr[-300:]
