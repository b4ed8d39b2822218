"""Riskwatch state in Azure Table Storage: dedup claims, event ledger, outbox, cursors, sweep."""
