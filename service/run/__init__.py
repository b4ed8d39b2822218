"""The run: ``job`` walks a run forward (sources → pipeline → cursors → delivery → sweep);
``pipeline`` judges a batch (rules, dedup claims, outbox); ``report`` is what a run did."""
