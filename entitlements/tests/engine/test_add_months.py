"""Calendar arithmetic for billing periods."""

from __future__ import annotations

import datetime as dt

import pytest

from entitlements.engine.periods import add_months

UTC = dt.UTC


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (dt.datetime(2025, 1, 31, 9, tzinfo=UTC), 1, dt.datetime(2025, 2, 28, 9, tzinfo=UTC)),
        (dt.datetime(2024, 1, 31, tzinfo=UTC), 1, dt.datetime(2024, 2, 29, tzinfo=UTC)),
        (dt.datetime(2025, 12, 15, tzinfo=UTC), 1, dt.datetime(2026, 1, 15, tzinfo=UTC)),
        (dt.datetime(2025, 3, 31, tzinfo=UTC), 12, dt.datetime(2026, 3, 31, tzinfo=UTC)),
        (dt.datetime(2025, 3, 31, tzinfo=UTC), -1, dt.datetime(2025, 2, 28, tzinfo=UTC)),
    ],
)
def test_add_months__day_past_month_end__clamped(start: dt.datetime, months: int, end: dt.datetime) -> None:
    assert add_months(start, months) == end
