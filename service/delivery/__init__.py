"""Delivery: the sinks (generic webhook, Teams, Slack), the factory that builds the configured
ones (``service.delivery.factory``), the deliverer that posts outbox rows exactly once, and
the failing-sink notices.

Nothing is imported here: ``riskwatch scan`` reaches ``service.delivery.escape`` and should
not load requests and every sink with it (about 10 MB of a scan's resident memory)."""
