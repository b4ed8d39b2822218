"""Delivery: the sinks (generic webhook, Teams, Slack), the factory that builds the configured
ones, the deliverer that posts outbox rows exactly once, and the failing-sink notices."""

from __future__ import annotations

from service.delivery.factory import build_sinks, check_webhook_url

__all__ = ["build_sinks", "check_webhook_url"]
