"""Response to incidents: evidence bundles first (``bundles``), then actions by policy or
by a person's command, each in the audit log."""
