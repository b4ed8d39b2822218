"""``riskwatch run`` writes evidence bundles from its input files byte for byte, and
``riskwatch evidence`` fetches and verifies them against Azurite; a tampered part is named."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from service.cli.commands import main
from tests.test_cli import graph_sign_in

pytestmark = pytest.mark.azurite


@pytest.fixture
def evidence(monkeypatch, storage_connection, table_prefix):
    name = "ev" + uuid.uuid4().hex[:12]
    for key, value in {"RISKWATCH_STORAGE": storage_connection,
                       "RISKWATCH_TABLE_PREFIX": table_prefix, "RISKWATCH_NOTIFY": "incidents",
                       "RISKWATCH_EVIDENCE_CONTAINER": name}.items():
        monkeypatch.setenv(key, value)
    return BlobServiceClient.from_connection_string(storage_connection).get_container_client(name)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def risky_input(tmp_path: Path) -> tuple[Path, bytes]:
    # The record's own spacing and escapes, which a re-serialisation would lose.
    line = json.dumps(graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk",
                                    riskLevelAggregated="high",
                                    userDisplayName="Zoë \u202eevil"), indent=None,
                      separators=(" , ", " : ")).encode()
    path = tmp_path / "risky.jsonl"
    path.write_bytes(line + b"\r\n")
    return path, line


def incident_id(container) -> str:
    names = [b.name for b in container.list_blobs() if b.name.endswith("/manifest.json")]
    assert len(names) == 1, names
    return names[0].split("/", 1)[0]


def test_run_writes_a_bundle_and_evidence_verifies_it(capsys, tmp_path, evidence) -> None:
    path, line = risky_input(tmp_path)
    code, _, err = cli(capsys, "run", "--once", "--input", str(path),
                       "--now", "2026-11-02T09:05:00Z")
    assert code == 0, err
    found = incident_id(evidence)
    code, out, err = cli(capsys, "evidence", found, "--out", str(tmp_path / "case"))
    assert (code, err) == (0, "")
    assert "verified" in out and found in out
    manifest = json.loads((tmp_path / "case" / "manifest.json").read_bytes())
    (record,) = manifest["raw_records"]
    assert record["exact"] is True and record["source"] == f"file:{path}:1"
    data = (tmp_path / "case" / "raw-records.dat").read_bytes()
    # The line's bytes as read, without its "\r\n" line break.
    assert data[record["offset"]:record["offset"] + record["length"]] == line
    assert manifest["riskwatch_version"]


def test_a_tampered_part_is_named_and_exits_1(capsys, tmp_path, evidence) -> None:
    path, _ = risky_input(tmp_path)
    assert cli(capsys, "run", "--once", "--input", str(path),
               "--now", "2026-11-02T09:05:00Z")[0] == 0
    found = incident_id(evidence)
    name = next(b.name for b in evidence.list_blobs() if "/events-" in b.name)
    body = evidence.download_blob(name).readall()
    evidence.upload_blob(name, body.replace(b"203.0.113.10", b"198.51.100.1"), overwrite=True)
    code, out, err = cli(capsys, "evidence", found, "--revision", "1",
                         "--out", str(tmp_path / "case"))
    assert code == 1 and out == ""
    assert f"TAMPERED events.json ({name})" in err and "NOT intact" in err


def test_unknown_incidents_and_revisions_are_errors(capsys, tmp_path, evidence) -> None:
    evidence.create_container()
    code, _, err = cli(capsys, "evidence", "0" * 32, "--out", str(tmp_path))
    assert code == 1 and "no evidence bundle for incident" in err
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error
        main(["evidence", "0" * 32, "--revision", "0", "--out", str(tmp_path)])
    assert usage.value.code == 2 and "not a revision number" in capsys.readouterr().err
