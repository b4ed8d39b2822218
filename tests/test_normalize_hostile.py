"""``riskwatch scan`` over hostile records: each is a named skip, the rest is scanned.

The harness of issue 12: every crash class (wrong JSON types, invalid UTF-8, lone
surrogates, form feeds, deep nesting, extreme times, bad Log Analytics shapes) between good
records. stdout is a strict UTF-8 stream, as a pipe or file is, so an alert that cannot be
encoded fails here as it fails for a user.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from service.cli.commands import main
from tests.graph_server import GraphRecords
from tests.hostile_records import (
    Hostile,
    HostileFile,
    good_sign_in,
    hostile_files,
    hostile_lines,
    line,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "peer-corpus"
RECORDS = GraphRecords(CORPUS)
LINES = hostile_lines(RECORDS)
FILES = hostile_files(RECORDS)


def scan(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[dict[str, object]], str]:
    """Run ``riskwatch scan PATH`` in-process with strict UTF-8 stdout."""
    monkeypatch.delenv("RISKWATCH_DISABLED_RULES", raising=False)
    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", newline="\n")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["scan", str(path)])
    stdout.flush()
    alerts = [json.loads(text) for text in out.getvalue().decode("utf-8").splitlines() if text]
    return code, alerts, err.getvalue()


def alerted_ids(alerts: list[dict[str, object]]) -> set[str]:
    return {str(i) for a in alerts for i in a["event_ids"]}  # type: ignore[attr-defined]


def summary(err: str) -> str:
    lines = [text for text in err.splitlines() if text.startswith("scanned ")]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


@pytest.mark.parametrize("case", LINES, ids=[c.name for c in LINES])
def test_a_hostile_line_is_a_named_skip_and_its_neighbours_alert(
    case: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hostile.jsonl"
    good_1 = line(good_sign_in(RECORDS, 1))
    good_2 = line(good_sign_in(RECORDS, 9, ipAddress="198.51.100.10"))
    path.write_bytes(good_1 + b"\n" + case.line + b"\n" + good_2 + b"\n")

    code, alerts, err = scan(path, monkeypatch)

    assert code == 0, err[-2000:]
    assert {"good-1", "good-9"} <= alerted_ids(alerts)
    assert "0 rule failures" in summary(err)
    skips = [text for text in err.splitlines() if text.startswith("skipped ")]
    if case.kept:
        assert skips == []
        assert case.kept_principal in {a["principal"] for a in alerts}
        return
    assert len(skips) == 1, err
    assert skips[0].startswith(f"skipped {path}:2")
    if case.field is not None:
        assert f"field {case.field!r}" in skips[0]
    assert "1 records skipped" in summary(err)


@pytest.mark.parametrize("case", FILES, ids=[c.name for c in FILES])
def test_a_hostile_document_keeps_its_good_records(
    case: HostileFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(case.content)

    code, alerts, err = scan(path, monkeypatch)

    assert code == 0, err[-2000:]
    assert case.good <= alerted_ids(alerts)
    summary(err)
    if case.skip:
        assert any(case.skip in text for text in err.splitlines() if text.startswith("skipped"))
    else:
        assert "0 records skipped" in summary(err)


def test_the_harness_covers_every_class_of_the_issue() -> None:
    names = " ".join(c.name for c in [*LINES, *FILES])
    for needed in ("ipAddress=object", "location.city=list", "deviceDetail.browser=object",
                   "correlationId=list", "sessionId=object", "userId=list", "invalid UTF-8",
                   "lone surrogate", "form feed", "vertical tab", "100,000-deep array",
                   "document nested", "deep value in a field", "status string",
                   "additionalDetails", "dynamic column", "year 9999 with a negative offset",
                   "year 0001 with a positive offset", "tables not a list", "rows not a list",
                   "different lengths"):  # fmt: skip
        assert needed in names, needed
