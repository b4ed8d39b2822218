"""Thresholds parse strictly: ASCII whole numbers, finite reals, inside the Param's range."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from detections.params import ParamError, parse_float, parse_int
from detections.rule import Param

WINDOW = Param(name="window_minutes", default=10, description="w", minimum=1, maximum=360)
SPEED = Param(name="speed", default=800.0, description="s", minimum=50, maximum=20000)
ASNS = Param(name="ignore_asns", default="8075", description="a", minimum=1,
             maximum=4294967295, int_list=True)
TEXT = Param(name="label", default="x", description="t")


@pytest.mark.parametrize("text", ["0", "-10", "361", "99999999999999", "ten", "10.5", "1_0",
                                  "\u0661\u0660", "1e3", "", "+", "9" * 5000])
def test_a_bad_window_is_refused(text: str) -> None:
    with pytest.raises(ParamError):
        WINDOW.parse(text)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e400", "49.9", "20000.5", "0x10"])
def test_a_bad_real_is_refused(text: str) -> None:
    with pytest.raises(ParamError):
        SPEED.parse(text)


def test_good_values_parse_to_their_type() -> None:
    assert WINDOW.parse("1") == 1 and WINDOW.parse("+360") == 360
    assert SPEED.parse("900.5") == 900.5 and SPEED.parse("1e3") == 1000.0
    assert ASNS.parse(" 8075 , 12076,") == "8075,12076"
    assert ASNS.parse("none") == ""
    assert TEXT.parse("anything at all") == "anything at all"


@pytest.mark.parametrize(("text", "why"), [
    ("abc,-1", "item 1: 'abc' is not a whole number"),
    ("8075,-1", "item 2: -1 is outside 1-4294967295"),
    ("8075;8068", "item 1: '8075;8068' is not a whole number"),
    (",", "empty list (write 'none' for no items)"),
])
def test_a_bad_asn_list_names_the_item(text: str, why: str) -> None:
    with pytest.raises(ParamError) as caught:
        ASNS.parse(text)
    assert str(caught.value) == why


def test_the_range_reads_as_documented() -> None:
    assert WINDOW.range_text() == "1-360"
    assert ASNS.range_text() == "comma list of 1-4294967295"
    assert TEXT.range_text() == "any text"


@given(st.text(st.characters(exclude_categories=()), max_size=40))
@example("9" * 5000)
def test_any_text_is_a_number_or_a_param_error(text: str) -> None:
    for parse in (parse_int, parse_float, WINDOW.parse, SPEED.parse, ASNS.parse):
        with contextlib.suppress(ParamError):  # any other exception fails the test
            parse(text)


@given(st.integers())
def test_every_whole_number_round_trips_or_is_refused_by_range(number: int) -> None:
    inside = 1 <= number <= 360
    try:
        assert WINDOW.parse(str(number)) == number and inside
    except ParamError:
        assert not inside
