"""The periodic review's content (issue 15), pure: inventory, flagged users, attacking IPs,
and the detection accuracy assessment. ``service.review`` gathers the inputs and writes files."""
