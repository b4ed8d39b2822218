"""What Riskwatch would do about an incident: the response policy (pure)."""
