"""Shared fixtures: the peer corpus location and a real Azurite for storage tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.graph_server import GraphServer, SimulatedClock
from tools import azurite as azurite_tool

# Property tests: a bounded, derandomized run (a fixed seed) so `make test` stays fast and
# repeatable in CI; HYPOTHESIS_PROFILE=deep explores more. Cases that ever failed are kept as
# explicit @example()s beside each property.
settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("deep", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
PEER_CORPUS = ROOT.parent / "shared" / "peer-corpus"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def peer_corpus() -> Path:
    if not PEER_CORPUS.is_dir():
        pytest.fail(f"{PEER_CORPUS} is missing: the peer corpus must sit beside the checkout")
    return PEER_CORPUS


@pytest.fixture(scope="session")
def storage_connection() -> Iterator[str]:
    """Azurite's connection string: the Makefile's instance, or one started here."""
    existing = os.environ.get(azurite_tool.ENV_NAME)
    if existing:
        yield existing
        return
    instance = azurite_tool.start()
    try:
        yield instance.connection_string
    finally:
        instance.stop()


@pytest.fixture
def table_prefix() -> str:
    """A unique table-name prefix so tests never see each other's rows."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def clock() -> SimulatedClock:
    """A clock whose sleeps pass instantly, shared by the Graph server and client."""
    return SimulatedClock()


@pytest.fixture
def graph_server(clock: SimulatedClock) -> Iterator[GraphServer]:
    with GraphServer(clock.time) as server:
        yield server
