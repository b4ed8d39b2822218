"""Alert sinks (generic webhook, Teams, Slack) and the factory that builds the configured ones."""

from __future__ import annotations

from service.sinks.factory import build_sinks, check_webhook_url

__all__ = ["build_sinks", "check_webhook_url"]
