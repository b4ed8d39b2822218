"""Incidents: one case per principal (user, attacking IP or tenant) built from its alerts.

``model`` holds the typed records, ``evidence`` turns events into compact evidence,
``breakdown`` and ``timeline`` summarise that evidence, ``scoring`` gives the verdict
with its reasons, and ``grouping`` decides which alerts join which incident and when a
revision is due. Everything here is pure: the scan and the app feed it.
"""
