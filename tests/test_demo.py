"""``make demo``: the main job twice over the bundled sample tenant, against Azurite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from service.cli import demo

pytestmark = pytest.mark.azurite


def test_the_demo_delivers_once_and_nothing_twice(monkeypatch, capsys, storage_connection,
                                                 table_prefix):
    for name in list(os.environ):
        if name.startswith("RISKWATCH_") and name != "RISKWATCH_STORAGE_CONNECTION":
            monkeypatch.delenv(name)
    monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
    monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert f"{len(demo.expand_paths([str(demo.SAMPLES)]))} sample files" in out
    first, second = (line for line in out.splitlines() if line.startswith("riskwatch run:"))
    assert "alerts_raised=0" not in first and "delivered=0" not in first
    assert "alerts_raised=0" in second and " delivered=0" in second
    *_, evidence, ok, _blank, review = out.rstrip().splitlines()
    # The response policy's plan for the sample tenant (plan mode: nothing called).
    plan = out[out.index("Response plan (plan mode: nothing was called): "):].splitlines()
    proposed = int(plan[0].split("called): ", 1)[1].split()[0])
    assert proposed >= 2 and len([p for p in plan[1:] if p.startswith("  ")]) == proposed
    assert {p.split()[0] for p in plan[1:1 + proposed]} == {"revoke", "confirm-compromised"}
    assert ok.startswith("OK: ")
    # The sample tenant's evidence bundles are in Azurite, every one verified.
    written = int(evidence.removeprefix("Evidence: ").split()[0])
    assert written >= 1 and f"({written} verified intact)" in evidence
    # make demo ends with a review of the sample tenant, outside the checkout.
    html = Path(review.removeprefix("Review of the sample tenant: "))
    assert review.startswith("Review of the sample tenant: ") and html.is_file()
    assert not html.resolve().is_relative_to(Path(demo.__file__).resolve().parents[2])
    data = json.loads((html.parent / "review.json").read_text(encoding="utf-8"))
    assert data["schema"] == "riskwatch.review.v1" and data["users"]
    assert "<html" in html.read_text(encoding="utf-8").lower()
