"""Every input shape -> the canonical model (detections.model).

Public API (service/ and the CLI code against exactly this):

- ``decode(source, lines, *, fmt="auto", kind=None)``: text lines of one input (Graph page,
  bare array, JSON lines, diagnostic-settings records, Log Analytics JSON or CSV) ->
  an iterator of ``Event | Skip``. Raises ``InputError`` when the input cannot be read at all.
- ``decode_json_line(source, line, text, *, fmt="auto", kind=None)``: one JSON line (an
  export blob's) -> ``Event | Skip``s, never raising.
- ``normalize_record(record, *, source, line, fmt, kind)``: one decoded record -> ``Event | Skip``.
- ``UndecodableLine``: what a reader hands ``decode`` for a line that is not UTF-8.
- ``Skip(where, reason)``: a record that could not be used; ``Format``: the format override.
"""

from detections.normalize.decode import decode, decode_json_line
from detections.normalize.lines import UndecodableLine
from detections.normalize.record import FORMATS, Format, Skip, detect_format, normalize_record

__all__ = [
    "FORMATS",
    "Format",
    "Skip",
    "UndecodableLine",
    "decode",
    "decode_json_line",
    "detect_format",
    "normalize_record",
]
