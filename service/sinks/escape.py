"""Escaping attacker-chosen text (UPNs, app names, cities, user agents) for chat formats.

The goal is that a hostile value renders as the text it is: never a link, a mention or
formatting. Each format gets two layers, because renderers differ (Teams mobile clients
have had backslash-escape bugs, Slack has no escape for ``*_~``):

* Adaptive Card markdown (Teams): CommonMark backslash escapes for every markup
  character, plus a zero-width space that breaks what renderers detect outside the
  markdown parser: bare URLs (``://``, ``www.``) and the ``{{DATE()}}`` functions.
* Slack mrkdwn: ``& < >`` as entities (Slack's only documented escapes, which also
  defuse ``<!channel>``, ``<@U1>`` and ``<url|text>``), and a zero-width space on both
  sides of ``* _ ~ ` `` so they cannot open or close a span. ``slack_code`` instead puts
  an identifier in an inline code span, where Slack applies no formatting, so a
  responder can copy the exact value.

Both first flatten the value: control characters and newlines become spaces (a newline
could start a quote or a list) and bidirectional overrides are dropped (they can make
``evil.example`` display as something else).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")

# CommonMark treats any escaped ASCII punctuation as a literal; these are the ones that
# Adaptive Card markdown, or a renderer's HTML step, could interpret.
_CARD_SPECIAL = re.compile(r"([\\`*_~\[\]()<>&])")
# A list, heading or quote marker at the start of a block.
_CARD_BLOCK_START = re.compile(r"^(?:[-+#=]+|(\d+)[.)])(?=\s|$)")
_URL_MARKERS = re.compile(r"(?i)(://|www\.)")
_SLACK_FORMAT = re.compile(r"([*_~`])")
_SLACK_BROADCAST = re.compile(r"(?i)([@!])(here|channel|everyone)\b")


def flatten(value: object) -> str:
    """One line of plain text: no control characters, newlines or bidi overrides."""
    text = "" if value is None else str(value)
    text = text.translate(_BIDI)
    return _CONTROL.sub(" ", text).strip()


def card_text(value: object) -> str:
    """A value as literal text inside Adaptive Card markdown (TextBlock, Fact value)."""
    text = flatten(value)
    text = _CARD_SPECIAL.sub(r"\\\1", text)
    text = _CARD_BLOCK_START.sub(_escape_block_start, text)
    # Break auto-linking and the {{DATE}}/{{TIME}} functions, which run outside markdown.
    text = _break_urls(text)
    return text.replace("{", "{" + ZWSP)


def _escape_block_start(match: re.Match[str]) -> str:
    marker = match.group(0)
    digits = match.group(1)
    return f"{digits}\\{marker[-1]}" if digits else f"\\{marker}"


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


def truncate(text: str, limit: int, marker: str = " … [truncated]") -> str:
    """``text`` cut to at most ``limit`` characters, saying so when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker
