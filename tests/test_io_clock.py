"""Dates with clock times in text columns (eisfit.io._clock): the formats instruments and
spreadsheets write, the date order, and what is not such a time."""
from __future__ import annotations

import datetime as dt

import pytest

from eisfit.io._clock import parse_clock_times

MOMENT = dt.datetime(2024, 5, 1, 16, 25, 27, 156700)


@pytest.mark.parametrize("text,day_first", [
    ("2024-05-01 16:25:27.1567", None), ("2024-05-01T16:25:27.156700", None),
    ("2024-05-01T18:25:27.1567+02:00", None),  # an offset: converted to UTC
    ("05/01/2024 16:25:27.1567", False), ("01/05/2024 16:25:27.1567", True),
    ("01.05.2024 16:25:27,1567", None),  # dots: day first; a decimal comma in the seconds
    ("5/1/2024 4:25:27.1567 PM", None), ("2024/05/01 16:25:27.1567", None)])
def test_the_formats_give_one_moment(text, day_first):
    clock = parse_clock_times([text], day_first)
    assert clock is not None and clock.moments == [MOMENT]


def test_the_date_order_comes_from_a_day_above_12_or_is_said_to_be_assumed():
    month_first = parse_clock_times(["04/30/2024 10:00:00", "05/01/2024 10:00:00"])
    assert month_first.moments[0] == dt.datetime(2024, 4, 30, 10) and month_first.note is None
    day_first = parse_clock_times(["30/04/2024 10:00:00", "01/05/2024 10:00:00"])
    assert day_first.moments[1] == dt.datetime(2024, 5, 1, 10) and day_first.note is None
    assumed = parse_clock_times(["03/02/2024 10:00:00", "04/02/2024 10:00:00"])
    assert assumed.moments[0] == dt.datetime(2024, 3, 2, 10)
    assert "'03/02/2024' read month first (no day above 12" in assumed.note
    named = parse_clock_times(["03/02/2024 10:00:00"], day_first=True)  # the file says DDMMYYYY
    assert named.moments == [dt.datetime(2024, 2, 3, 10)] and named.note is None
    assert parse_clock_times(["13/02/2024 10:00:00", "02/13/2024 10:00:00"]) is None  # both orders


@pytest.mark.parametrize("texts", [
    ["10:00:01"], ["2024-05-01"], ["31/02/2024 10:00:00"], ["2024-05-01 25:00:00"], ["ok"], [""],
    ["2024-05-01 10:00:00", "n/a"], ["13:00:00 PM 01/05/2024"], ["1.5"], []])
def test_what_is_not_a_date_with_a_clock_time(texts):
    assert parse_clock_times(texts) is None
