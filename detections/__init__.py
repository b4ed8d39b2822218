"""Riskwatch detections: the pure rule module (no I/O, no clock, no environment)."""
