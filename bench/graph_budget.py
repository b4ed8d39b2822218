"""Benchmark 5: Graph requests per run at the documented limits, and the largest tenant.

The real ``GraphClient`` (pacing in ``service.ingest.graph.throttle``) reads the default event
feeds from ``tests.graph_server.GraphServer`` on loopback. Client and server share a
``SimulatedClock`` whose sleep advances instantly, so the pacing is measured in
simulated seconds (server latency counts as zero; see the assumptions in RESULTS.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.ingest.graph.client import GraphClient
from tests.graph_server import GraphServer, SimulatedClock

SIGN_INS_PATH = "/v1.0/auditLogs/signIns"
BETA_SIGN_INS = "/beta/auditLogs/signIns"
RISK_PATH = "/v1.0/identityProtection/riskDetections"
RISKY_PATH = "/v1.0/identityProtection/riskyUsers"


@dataclass(frozen=True)
class GraphBudget:
    sign_in_pages: int
    sign_in_seconds: float  # simulated seconds to read them, pacing included
    risk_pages: int
    risk_seconds: float
    requests: int

    def pages_within(self, seconds: float) -> int:
        """Sign-in pages the measured pace fits in ``seconds`` (the first 5 go at once)."""
        burst = 5
        steady = self.sign_in_seconds / max(1, self.sign_in_pages - burst)
        return burst + int(seconds / steady)

    def sign_ins_per_day(self, budget: float, lookback: timedelta, period: timedelta) -> int:
        """The daily sign-ins whose re-read window (look-back + one period) fits the budget."""
        per_run = self.pages_within(budget) * 1000
        return int(per_run * timedelta(days=1) / (lookback + period))


def measure(day: Path, pages: int, risk_records: int) -> GraphBudget:
    clock = SimulatedClock()
    lines: list[dict[str, object]] = []
    lap = 0
    while len(lines) < pages * 1000:  # a small tenant's day is reused with fresh ids
        with day.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                record["id"] = f"{record['id']}-{lap}"
                record["signInEventTypes"] = ["interactiveUser"]  # every record is a page row
                lines.append(record)
                if len(lines) >= pages * 1000:
                    break
        lap += 1
    first = datetime.fromisoformat(str(lines[0]["createdDateTime"]).replace("Z", "+00:00"))
    risks = [
        {"id": f"r{i}", "detectedDateTime": (first + timedelta(seconds=i)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "userId": f"u{i}", "riskEventType": "unfamiliarFeatures"}
        for i in range(risk_records)
    ]  # fmt: skip
    with GraphServer(clock.time) as server:
        server.data[BETA_SIGN_INS] = lines
        server.data[SIGN_INS_PATH] = lines
        server.data[RISK_PATH] = risks
        client = GraphClient(server.base_url, lambda: "bench-token", clock=clock.time,
                             sleep=clock.sleep)  # fmt: skip
        start = first - timedelta(seconds=1)
        began = clock.time()
        got = sum(1 for _ in client.read("signIns", start=start))
        sign_in_seconds = clock.time() - began
        began = clock.time()
        risk_pages = sum(1 for _ in client.read("riskDetections", start=start))
        risk_seconds = clock.time() - began
        requests = len(server.requests)
    return GraphBudget(got, sign_in_seconds, risk_pages, risk_seconds, requests)


def run_start(day_start: datetime) -> datetime:
    return day_start.replace(tzinfo=UTC)
