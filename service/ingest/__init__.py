"""Ingest: where a run's events come from.

Graph feeds (``graph/``), the diagnostic-settings export blobs (``export/``), files named on the
command line (``input_files``), rescans and the directory read (``sources``), and the Event Grid
notifications that register blobs and request rescans (``event_grid``, ``event_grid_work``).
Sources yield batches of events with the cursor positions they would commit; they never judge.
"""
