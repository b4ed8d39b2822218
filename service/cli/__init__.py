"""The ``riskwatch`` command line (``commands``), the in-memory ``scan`` and the demo."""
