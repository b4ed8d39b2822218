"""RISKWATCH_SCHEDULE is checked field by field the way NCrontab reads it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.settings.cron import FIELDS, ncrontab_problem

VALID = [
    "0 */5 * * * *",
    "0 0 9 * * Mon-Fri",
    "*/30 * * * * *",
    "0 0 0 1 Jan *",
    "0 30 9 * * 1-5",
    "0 0 */2 * * *",
    "5/15 * * * * *",
    "0 0 0 * * Sunday",
    "0 0,15,30,45 8-18/2 1-31 1-12 0-6",
    "  0  */5 * * * *  ",
]
INVALID = {
    "99 99 99 99 99 99": "second field '99': 99 is outside 0-59",
    "0 */0 * * * *": "minute field '*/0': step 0 is outside 1-60",
    "0 5-1 * * * *": "minute field '5-1': range 5-1 runs backwards",
    "0 0 24 * * *": "hour field '24': 24 is outside 0-23",
    "0 0 0 0 * *": "day field '0': 0 is outside 1-31",
    "0 0 0 * 13 *": "month field '13': 13 is outside 1-12",
    "0 0 0 * * 7": "day-of-week field '7': 7 is outside 0-6",
    "0 ,, * * * *": "minute field ',,': empty list item",
    "0 */5/2 * * * *": "minute field '*/5/2': step '5/2' is not a number",
    "0 0 0 * Foo *": "month field 'Foo': 'Foo' is not a number or a name like Jan",
    "0 0 0 * * */99999999999":
        "day-of-week field '*/99999999999': step '9999999999' is not a number",
    "*/5 * * * *": "has 5 fields, needs 6 (second minute hour day month day-of-week)",
    "": "has 0 fields, needs 6 (second minute hour day month day-of-week)",
}


@pytest.mark.parametrize("expression", VALID)
def test_valid_schedules_pass(expression: str) -> None:
    assert ncrontab_problem(expression) is None


@pytest.mark.parametrize(("expression", "problem"), INVALID.items())
def test_invalid_schedules_say_which_field_and_why(expression: str, problem: str) -> None:
    assert ncrontab_problem(expression) == problem


def _item(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    step = st.integers(1, high - low + 1)
    single = value.map(str)
    ranged = st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}")
    base = st.one_of(st.just("*"), single, ranged)
    return st.one_of(base, st.tuples(base, step).map(lambda p: f"{p[0]}/{p[1]}"))


VALID_FIELD = [st.lists(_item(f.low, f.high), min_size=1, max_size=3).map(",".join)
               for f in FIELDS]


@given(st.tuples(*VALID_FIELD))
def test_any_expression_of_in_range_items_passes(fields: tuple[str, ...]) -> None:
    assert ncrontab_problem(" ".join(fields)) is None


@given(st.tuples(*VALID_FIELD), st.integers(0, 5), st.integers(60, 10**6))
def test_one_out_of_range_value_is_named(fields: tuple[str, ...], index: int, value: int) -> None:
    bad = list(fields)
    bad[index] = str(value)
    problem = ncrontab_problem(" ".join(bad))
    assert problem is not None and problem.startswith(f"{FIELDS[index].name} field")


@given(st.text(st.characters(exclude_categories=()), max_size=40))
def test_any_text_gives_none_or_a_reason_never_an_exception(text: str) -> None:
    result = ncrontab_problem(text)
    assert result is None or (isinstance(result, str) and result)
