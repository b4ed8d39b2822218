"""Everything that does I/O: settings, Table Storage state, the pipeline, sinks, functions."""
