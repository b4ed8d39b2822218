"""Every input shape -> the canonical model (detections.model).

Public API (service/ and the CLI code against exactly this):

- ``decode(source, lines, *, fmt="auto", kind=None)``: text lines of one input (Graph page,
  bare array, JSON lines, diagnostic-settings records, Log Analytics JSON or CSV) ->
  an iterator of ``Event | Skip``. Raises ``InputError`` when the input cannot be read at all.
- ``normalize_record(record, *, source, line, fmt, kind)``: one decoded record -> ``Event | Skip``.
- ``Skip(where, reason)``: a record that could not be used; ``Format``: the format override.
"""

from detections.normalize.decode import decode
from detections.normalize.record import FORMATS, Format, Skip, detect_format, normalize_record

__all__ = ["FORMATS", "Format", "Skip", "decode", "detect_format", "normalize_record"]
