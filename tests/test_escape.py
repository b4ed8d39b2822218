"""Hostile values render as text: no link, mention or formatting survives escaping."""

from __future__ import annotations

import re

import pytest

from service.delivery.escape import (
    ZWSP,
    card_literal,
    fit,
    flatten,
    slack_code,
    slack_entities,
    slack_text,
    truncate,
)
from tests.sink_alerts import HOSTILE

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


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_card_literal_keeps_the_value_as_typed(value: str) -> None:
    literal = card_literal(value)
    # A TextRun is never markdown: nothing is escaped, the value reads as it is.
    assert literal.replace(ZWSP, "") == flatten(value)
    assert "\\" not in literal or "\\" in value
    assert "\n" not in literal and "\r" not in literal
    assert "{{" not in literal  # the renderers expand {{DATE()}} even in a TextRun


def test_card_literal_of_the_issue_examples() -> None:
    app = "Payroll *Update* <!here> [sign in](https://evil.example/p)"
    assert card_literal(app) == app
    assert card_literal("high_risk_signin_succeeded") == "high_risk_signin_succeeded"
    assert card_literal("critical (risk score 80)") == "critical (risk score 80)"


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


def test_flatten_replaces_lone_surrogates() -> None:
    # A lone surrogate cannot be encoded as UTF-8: left in, the request body would fail.
    assert flatten("a\ud800b\udfff") == "a\ufffdb\ufffd"
    flatten("x\ud83d").encode("utf-8")


def test_truncate_says_so() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 100, 30)
    assert len(cut) == 30 and cut.endswith("[truncated]")


@pytest.mark.parametrize("value", ["&" * 500, "<>&" * 200, "a&" * 300, "@here " * 100])
def test_fit_cuts_before_escaping_within_the_limit(value: str) -> None:
    fitted = fit(value, 100, slack_text)
    assert len(fitted) <= 100 and fitted.endswith("[truncated]")
    assert re.findall(r"&(?!amp;|lt;|gt;)", fitted) == []  # no escape split in two
    kept = fitted.removesuffix(" … [truncated]")
    # The escape of a cut of the raw value, the longest that fits.
    cuts = [n for n in range(len(value)) if slack_text(value[:n].rstrip()) == kept]
    assert cuts and len(slack_text(value[: max(cuts) + 1] + " … [truncated]")) > 100


def test_fit_returns_the_whole_value_when_it_fits_and_measures_with_size() -> None:
    assert fit("a&b", 10, slack_entities) == "a&amp;b"
    utf8 = fit("é" * 100, 50, str, size=lambda t: len(t.encode("utf-8")))
    assert len(utf8.encode("utf-8")) <= 50 and utf8.startswith("éé")
    assert fit("x" * 10, 3, str) == ""  # not even the marker fits
