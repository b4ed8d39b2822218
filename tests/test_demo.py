"""``make demo``: the main job twice over the bundled sample tenant, against Azurite."""

from __future__ import annotations

import os

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
    assert out.rstrip().splitlines()[-1].startswith("OK: ")
