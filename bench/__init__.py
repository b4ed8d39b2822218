"""``make bench``: the scale benchmarks of issue 7, each reported as a ratio in RESULTS.md."""
