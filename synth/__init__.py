"""Deterministic synthetic Entra ID tenant: ordinary sign-ins, risk, and labelled stories.

``python -m synth --help`` writes one; ``plan(Config(...)).records()`` streams one.
The same seed and arguments give byte-identical output.
"""

from synth.generate import Config, Tenant, plan

__all__ = ["Config", "Tenant", "plan"]
