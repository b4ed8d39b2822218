"""Hostile values render as text: no link, mention or formatting survives escaping."""

from __future__ import annotations

import re

import pytest

from service.sinks.escape import (
    ZWSP,
    card_text,
    flatten,
    slack_code,
    slack_entities,
    slack_text,
    truncate,
)
from tests.sink_alerts import HOSTILE

CARD_MARKUP = set("\\`*_~[]()<>&")
HOSTILE_VALUES = [
    HOSTILE,
    "**bold** __under__ ~~strike~~",
    "[x](javascript:alert(1)) ![img](https://evil.example/a.png)",
    "see www.evil.example or http://evil.example/login",
    "{{DATE(2017-02-14T06:08:39Z, SHORT)}}",
    "line one\n> quoted\n- item\r\n# heading",
    "user\u202egnp.exe@contoso.com",
    "a & b &amp; &lt;script&gt;",
]


def unescaped_card_markup(text: str) -> set[str]:
    """Markup characters not preceded by a backslash escape."""
    without_escapes = re.sub(r"\\.", "", text)
    return CARD_MARKUP & set(without_escapes)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_card_text_escapes_every_markup_character(value: str) -> None:
    escaped = card_text(value)
    assert unescaped_card_markup(escaped) == set()
    assert "\n" not in escaped and "\r" not in escaped
    assert "://" not in escaped and "www." not in escaped.lower()
    assert "{{" not in escaped
    # Nothing is lost: removing the escapes gives back the flattened value.
    assert re.sub(r"\\(.)", r"\1", escaped).replace(ZWSP, "") == flatten(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1. first", "1\\. first"), ("- item", "\\- item"), ("# title", "\\# title"),
     ("12) x", "12\\) x"), ("10.0.0.1", "10.0.0.1"), ("---", "\\---"),
     ("-x", "-x")],
)
def test_card_text_escapes_block_markers_at_the_start(value: str, expected: str) -> None:
    assert card_text(value) == expected


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_slack_text_leaves_no_control_sequence_or_formatting(value: str) -> None:
    escaped = slack_text(value)
    assert "<" not in escaped and ">" not in escaped
    assert "://" not in escaped
    for broadcast in ("@here", "@channel", "@everyone", "!channel"):
        assert broadcast not in escaped.lower()
    for marker in "*_~`":
        for match in re.finditer(re.escape(marker), escaped):
            i = match.start()
            assert escaped[i - 1] == ZWSP and escaped[i + 1] == ZWSP, (marker, escaped)
    # Entities decode back to the original text.
    plain = escaped.replace(ZWSP, "").replace("&lt;", "<").replace("&gt;", ">")
    assert plain.replace("&amp;", "&") == flatten(value)


def test_slack_code_is_one_literal_span() -> None:
    code = slack_code(HOSTILE)
    assert code.startswith("`") and code.endswith("`")
    assert code.count("`") == 2  # the value's backticks cannot close the span
    assert "<" not in code and ">" not in code
    assert "&lt;!channel&gt;" in code
    assert slack_code("") == "-"
    assert slack_code("alice_smith@contoso.com") == "`alice_smith@contoso.com`"


def test_slack_entities_escapes_ampersand_first() -> None:
    assert slack_entities("<a&b>") == "&lt;a&amp;b&gt;"


def test_flatten_drops_newlines_controls_and_bidi_overrides() -> None:
    assert flatten("a\nb\r\nc\td\x00e") == "a b c d e"
    assert flatten("user\u202egnp.exe") == "usergnp.exe"
    assert flatten(None) == ""


def test_truncate_says_so() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 100, 30)
    assert len(cut) == 30 and cut.endswith("[truncated]")
