"""Escaping attacker-chosen text (UPNs, app names, cities, user agents) for chat formats.

The goal is that a hostile value renders as the text it is: never a link, a mention or
formatting.

* Adaptive Cards (Teams): attacker text goes only into ``TextRun`` elements, which the
  renderers never run through markdown, so ``card_literal`` does not escape anything a
  reader would see (a backslash escape would be shown as typed). It only breaks ``{{``
  with a zero-width space, because the renderers expand ``{{DATE(...)}}`` and
  ``{{TIME(...)}}`` even in a ``TextRun``.
* Slack mrkdwn: ``& < >`` as entities (Slack's only documented escapes, which also
  defuse ``<!channel>``, ``<@U1>`` and ``<url|text>``), and a zero-width space on both
  sides of ``* _ ~ ` `` so they cannot open or close a span. ``slack_code`` instead puts
  an identifier in an inline code span, where Slack applies no formatting, so a
  responder can copy the exact value.

Both first flatten the value: control characters and newlines become spaces (a newline
could start a quote or a list), bidirectional overrides are dropped (they can make
``evil.example`` display as something else) and a lone surrogate becomes U+FFFD (it
cannot be encoded as UTF-8, so it would make the request body fail to encode).

Limits are on the escaped text, so values are cut with ``fit``: it cuts the raw value and
escapes the cut, which can never split an escape (``&amp;``) in two.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ZWSP = "\u200b"
TRUNCATED = " … [truncated]"
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")

_DOUBLE_BRACE = re.compile(r"\{(?=\{)")  # every "{" followed by another, so "{{{" too
_URL_MARKERS = re.compile(r"(?i)(://|www\.)")
_SLACK_FORMAT = re.compile(r"([*_~`])")
_SLACK_BROADCAST = re.compile(r"(?i)([@!])(here|channel|everyone)\b")


def terminal_text(value: object) -> str:
    """``value`` for a terminal: control and format characters (C0, C1, DEL, bidi overrides)
    shown as escapes, so record text cannot move the cursor, recolour or reorder a line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def flatten(value: object) -> str:
    """One line of plain text: no control characters, newlines or bidi overrides."""
    text = "" if value is None else str(value)
    text = _LONE_SURROGATE.sub("\ufffd", text.translate(_BIDI))
    return _CONTROL.sub(" ", text).strip()


def card_literal(value: object) -> str:
    """A value for an Adaptive Card ``TextRun``: shown exactly as received, one line."""
    return _DOUBLE_BRACE.sub("{" + ZWSP, flatten(value))


def _break_urls(text: str) -> str:
    return _URL_MARKERS.sub(lambda m: m.group(1)[0] + ZWSP + m.group(1)[1:], text)


def slack_entities(value: object) -> str:
    """Slack's three reserved characters as entities (valid in mrkdwn and plain text)."""
    text = flatten(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(value: object) -> str:
    """A value as literal text inside Slack mrkdwn."""
    text = slack_entities(value)
    text = _SLACK_FORMAT.sub(ZWSP + r"\1" + ZWSP, text)
    text = _SLACK_BROADCAST.sub(lambda m: m.group(1) + ZWSP + m.group(2), text)
    return _break_urls(text)


def slack_code(value: object) -> str:
    """A value as an inline code span in mrkdwn: literal, monospaced, copyable."""
    text = flatten(value)
    if not text:
        return "-"
    # A backtick would close the span early; U+02CB looks the same and cannot.
    return "`" + _break_urls(slack_entities(text.replace("`", "\u02cb"))) + "`"


def truncate(text: str, limit: int, marker: str = TRUNCATED) -> str:
    """``text`` cut to at most ``limit`` characters, saying so when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def fit(
    value: str,
    limit: int,
    render: Callable[[str], str],
    *,
    size: Callable[[str], int] = len,
    marker: str = TRUNCATED,
) -> str:
    """``render(value)`` if its ``size`` is within ``limit``, else ``render`` of the
    longest cut of ``value`` (at most ``limit`` characters) plus ``marker`` that is.

    The cut is made on the raw value, before ``render`` escapes it, so an escape is
    never split. The escaped size grows with the cut's length (escaping a longer prefix
    never gives a shorter text), so a binary search finds the longest cut. Returns ""
    when even ``render(marker)`` alone is too big.
    """
    whole = render(value)
    if size(whole) <= limit:
        return whole
    best = ""
    # The whole value is known not to fit. A longer cut than ``limit`` could only fit if
    # flattening dropped characters; not searching there keeps a 100 KB value cheap.
    low, high = 0, min(len(value) - 1, limit)
    while low <= high:
        middle = (low + high) // 2
        candidate = render(value[:middle].rstrip() + marker)
        if size(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best
