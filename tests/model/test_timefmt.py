"""Timestamps as the API and the canonical form write them."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from trailbook.model.timefmt import format_us, parse_rfc3339, to_us

LAST_US = to_us(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))


@given(st.integers(min_value=0, max_value=LAST_US))
def test_format_matches_datetime_and_reads_back(us: int) -> None:
    moment = datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)
    text = format_us(us)
    assert text == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert parse_rfc3339(text) == us


def test_day_edges() -> None:
    assert format_us(0) == "1970-01-01T00:00:00.000000Z"
    assert format_us(86_400_000_000 - 1) == "1970-01-01T23:59:59.999999Z"
    assert format_us(to_us(datetime(2024, 2, 29, 12, 0, 1, 7, tzinfo=UTC))) == (
        "2024-02-29T12:00:01.000007Z")
