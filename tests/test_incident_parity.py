"""Issue 14's stable-id promise: ``riskwatch scan --incidents`` and the deployed pipeline
(``riskwatch run --once --input`` with RISKWATCH_NOTIFY=incidents, Azurite, a loopback
webhook) give the same incidents for the same input: per incident the same
incident_id, principal, principal_type, verdict, rules and alerts."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from service.cli.commands import main
from service.cli.demo import sample_now
from service.cli.scan import expand_paths
from tests.support_sinks import receiver

pytestmark = pytest.mark.azurite
TENANT = Path(__file__).resolve().parent.parent / "samples" / "tenant"

Summary = tuple[str, str, str, frozenset[str], frozenset[str]]


def _summary(incident: dict) -> tuple[str, Summary]:
    return incident["incident_id"], (
        incident["principal"], incident["principal_type"], incident["verdict"],
        frozenset(incident["rules"]), frozenset(a["alert_id"] for a in incident["alerts"]),
    )


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RISKWATCH_") and name != "RISKWATCH_STORAGE_CONNECTION":
            monkeypatch.delenv(name)


def _scanned(capsys: pytest.CaptureFixture[str], inputs: Path, now: str) -> dict[str, Summary]:
    capsys.readouterr()
    assert main(["scan", "--incidents", "--now", now, str(inputs)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    return dict(_summary(i) for i in lines)


def _deployed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
              inputs: Path, now: str, connection: str, prefix: str) -> dict[str, Summary]:
    with receiver() as rx:
        monkeypatch.setenv("RISKWATCH_STORAGE", connection)
        monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", prefix)
        monkeypatch.setenv("RISKWATCH_NOTIFY", "incidents")
        monkeypatch.setenv("RISKWATCH_WEBHOOK_URL", rx.url)
        monkeypatch.setenv("RISKWATCH_WEBHOOK_MIN_SEVERITY", "low")
        assert main(["run", "--once", "--input", str(inputs), "--now", now]) == 0
        bodies = rx.bodies()
    capsys.readouterr()
    latest: dict[str, dict] = {}  # the last revision told of each incident
    for body in bodies:
        incident = body["incident"]
        before = latest.get(incident["incident_id"])
        if before is None or incident["revision"] > before["revision"]:
            latest[incident["incident_id"]] = incident
    return dict(_summary(i) for i in latest.values())


def _shuffled_copy(target: Path) -> Path:
    """The tenant's records in a random order, split over differently named files."""
    records: list[str] = []
    contexts: dict[str, str] = {}  # the Graph @odata.context says what a file holds
    for path in expand_paths([str(TENANT)]):
        document = json.loads(path.read_text(encoding="utf-8"))
        kind = path.name.split("-")[0]
        contexts[kind] = document["@odata.context"]
        records += [json.dumps({"kind": kind, "item": item}) for item in document["value"]]
    random.Random(14).shuffle(records)  # noqa: S311 - a fixed test order, not a secret
    target.mkdir()
    for n in range(3):
        chosen = [json.loads(r) for r in records[n::3]]
        for kind in {c["kind"] for c in chosen}:
            items = [c["item"] for c in chosen if c["kind"] == kind]
            (target / f"{kind}-shuffled-{n}.json").write_text(json.dumps(
                {"@odata.context": contexts[kind], "value": items}))
    return target


@pytest.mark.parametrize("shuffled", [False, True], ids=["as-bundled", "shuffled"])
def test_scan_and_the_deployed_pipeline_give_the_same_incidents(
    shuffled, tmp_path, capsys, monkeypatch, storage_connection, table_prefix
):
    _clean_env(monkeypatch)
    inputs = _shuffled_copy(tmp_path / "tenant") if shuffled else tmp_path / "tenant"
    if not shuffled:
        shutil.copytree(TENANT, inputs)
    now = sample_now(expand_paths([str(TENANT)])).isoformat()
    scanned = _scanned(capsys, inputs, now)
    deployed = _deployed(capsys, monkeypatch, inputs, now, storage_connection, table_prefix)
    assert len(scanned) >= 10  # the sample tenant: one case per attacked user or IP
    assert set(deployed) == set(scanned)
    for incident_id, summary in scanned.items():
        assert deployed[incident_id] == summary, incident_id
