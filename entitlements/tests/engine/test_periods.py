"""Metric windows and resets (PROTOCOL.md §4.6), pinned against Schematic's engine around every boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from entitlements.engine.periods import window_reset_at, window_start

UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (at(2026, 11, 21, 7, 49, 52), at(2026, 11, 21), at(2026, 11, 22)),
        (at(2026, 11, 21, 23, 59, 59), at(2026, 11, 21), at(2026, 11, 22)),
        (at(2026, 11, 22), at(2026, 11, 22), at(2026, 11, 23)),
        (at(2026, 12, 31, 23, 59, 59), at(2026, 12, 31), at(2027, 1, 1)),
    ],
)
def test_window__current_day__utc_midnight_half_open(now: dt.datetime, start: dt.datetime, reset: dt.datetime) -> None:
    assert window_start("current_day", "first_of_month", now) == start
    assert window_reset_at("current_day", "first_of_month", now) == reset


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (at(2026, 11, 21, 12), at(2026, 11, 15), at(2026, 11, 22)),  # Saturday
        (at(2026, 11, 21, 23, 59, 59), at(2026, 11, 15), at(2026, 11, 22)),
        (at(2026, 11, 22), at(2026, 11, 22), at(2026, 11, 29)),  # Sunday midnight opens the next week
        (at(2026, 12, 31, 23, 59, 59), at(2026, 12, 27), at(2027, 1, 3)),
    ],
)
def test_window__current_week__starts_sunday(now: dt.datetime, start: dt.datetime, reset: dt.datetime) -> None:
    assert window_start("current_week", "first_of_month", now) == start
    assert window_reset_at("current_week", "first_of_month", now) == reset


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (at(2026, 11, 21, 12), at(2026, 11, 1), at(2026, 12, 1)),
        (at(2026, 12, 31, 23, 59, 59), at(2026, 12, 1), at(2027, 1, 1)),
        (at(2024, 2, 29, 5), at(2024, 2, 1), at(2024, 3, 1)),
        (at(2027, 1, 1), at(2027, 1, 1), at(2027, 2, 1)),
    ],
)
def test_window__current_month_first_of_month__calendar_month(
    now: dt.datetime, start: dt.datetime, reset: dt.datetime
) -> None:
    assert window_start("current_month", "first_of_month", now) == start
    assert window_reset_at("current_month", "first_of_month", now) == reset


def test_window__all_time__no_start_no_reset() -> None:
    assert window_start("all_time", "first_of_month", at(2026, 11, 21)) is None
    assert window_reset_at("all_time", "billing_cycle", at(2026, 11, 21), at(2026, 1, 1), at(2027, 1, 1)) is None


def test_window__billing_cycle_without_subscription__calendar_month() -> None:
    assert window_start("current_month", "billing_cycle", at(2026, 11, 21)) == at(2026, 11, 1)
    assert window_reset_at("current_month", "billing_cycle", at(2026, 11, 21)) == at(2026, 12, 1)


def test_window__billing_cycle_mid_period__anchor_day_and_time() -> None:
    anchor, end = at(2026, 10, 12, 7, 49, 52), at(2027, 10, 12, 7, 49, 52)

    assert window_start("current_month", "billing_cycle", at(2026, 11, 21, 12), anchor, end) == at(
        2026, 11, 12, 7, 49, 52
    )
    assert window_reset_at("current_month", "billing_cycle", at(2026, 11, 21, 12), anchor, end) == at(
        2026, 12, 12, 7, 49, 52
    )


def test_window__billing_cycle_at_the_anchor_instant__new_window_opens() -> None:
    anchor, end = at(2026, 10, 12, 7, 49, 52), at(2027, 10, 12)
    now = at(2026, 11, 12, 7, 49, 52)

    assert window_start("current_month", "billing_cycle", now, anchor, end) == now
    assert window_reset_at("current_month", "billing_cycle", now, anchor, end) == at(2026, 12, 12, 7, 49, 52)
    just_before = now - dt.timedelta(seconds=1)
    assert window_reset_at("current_month", "billing_cycle", just_before, anchor, end) == now


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (at(2026, 1, 31, 12), at(2026, 1, 31, 10), at(2026, 2, 28, 10)),
        (at(2026, 2, 27, 12), at(2026, 1, 31, 10), at(2026, 2, 28, 10)),
        (at(2026, 2, 28, 12), at(2026, 2, 28, 10), at(2026, 3, 31, 10)),  # the 31st comes back in March
        (at(2026, 3, 4, 12), at(2026, 2, 28, 10), at(2026, 3, 31, 10)),
        (at(2026, 4, 30, 12), at(2026, 4, 30, 10), at(2026, 5, 31, 10)),
    ],
)
def test_window__billing_cycle_31st_anchor__clamped_to_short_months(
    now: dt.datetime, start: dt.datetime, reset: dt.datetime
) -> None:
    anchor, end = at(2025, 12, 31, 10), at(2026, 12, 31, 10)

    assert window_start("current_month", "billing_cycle", now, anchor, end) == start
    assert window_reset_at("current_month", "billing_cycle", now, anchor, end) == reset


def test_window__billing_cycle_leap_february__29th_then_anchor_day() -> None:
    anchor, end = at(2027, 12, 30, 10), at(2028, 12, 31, 10)

    assert window_reset_at("current_month", "billing_cycle", at(2028, 2, 15, 12), anchor, end) == at(2028, 2, 29, 10)
    assert window_reset_at("current_month", "billing_cycle", at(2028, 2, 29, 12), anchor, end) == at(2028, 3, 30, 10)
    assert window_start("current_month", "billing_cycle", at(2028, 3, 1), anchor, end) == at(2028, 2, 29, 10)


def test_window__billing_cycle_anchor_after_period_end__reset_capped_at_end() -> None:
    anchor = at(2026, 10, 12, 7, 49, 52)

    assert window_reset_at("current_month", "billing_cycle", at(2026, 11, 21), anchor, at(2026, 11, 30)) == at(
        2026, 11, 30
    )
    # A period that already ended reports its end, in the past, as Schematic's engine does.
    assert window_reset_at("current_month", "billing_cycle", at(2026, 11, 21), anchor, at(2026, 11, 20)) == at(
        2026, 11, 20
    )


def test_window__billing_cycle_not_started_yet__calendar_month_until_the_start() -> None:
    now = at(2026, 11, 21, 12)

    assert window_start("current_month", "billing_cycle", now, at(2026, 12, 5), at(2027, 12, 5)) == at(2026, 11, 1)
    assert window_reset_at("current_month", "billing_cycle", now, at(2026, 12, 5), at(2027, 12, 5)) == at(2026, 12, 1)
    assert window_reset_at("current_month", "billing_cycle", now, at(2026, 11, 21, 13), at(2027, 1, 1)) == at(
        2026, 11, 21, 13
    )


def test_window__billing_cycle_started_this_instant__starts_now() -> None:
    now = at(2026, 11, 21, 12)

    assert window_start("current_month", "billing_cycle", now, now, at(2027, 11, 21, 12)) == now
    assert window_reset_at("current_month", "billing_cycle", now, now, at(2027, 11, 21, 12)) == at(2026, 12, 21, 12)


def test_window__billing_cycle_other_offset_and_microseconds__kept_in_utc() -> None:
    anchor = dt.datetime(2026, 10, 12, 7, 49, 52, 500_000, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    reset = window_reset_at("current_month", "billing_cycle", at(2026, 11, 21, 12), anchor, at(2027, 10, 12))

    assert reset == at(2026, 12, 12, 5, 49, 52).replace(microsecond=500_000)
    assert reset is not None and reset.tzinfo == UTC


def test_window__billing_reset_for_day_period__ignored() -> None:
    anchor, end = at(2026, 10, 12, 7, 49, 52), at(2027, 10, 12)

    assert window_reset_at("current_day", "billing_cycle", at(2026, 11, 21, 12), anchor, end) == at(2026, 11, 22)


def test_window__naive_datetime__refused() -> None:
    naive = dt.datetime(2026, 11, 21, 12)

    with pytest.raises(ValueError, match="timezone-aware"):
        window_start("current_day", "first_of_month", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        window_reset_at("current_month", "billing_cycle", at(2026, 11, 21), naive, at(2027, 1, 1))


def test_window__unknown_period__refused() -> None:
    with pytest.raises(ValueError, match="period"):
        window_start("current_year", "first_of_month", at(2026, 11, 21))
