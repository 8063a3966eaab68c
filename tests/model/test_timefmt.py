"""Timestamps as the API and the canonical form write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from trailbook.model.timefmt import format_moment, format_us, parse_rfc3339, to_us

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


DAY_US = 86_400_000_000


@given(st.integers(min_value=DAY_US, max_value=LAST_US - DAY_US),  # room for any offset
       st.sampled_from(["Z", "+00:00", "-00:00", "+02:00", "-05:30", "+14:00"]),
       st.booleans())
def test_a_decoded_moment_is_written_as_its_microseconds_are(
        us: int, offset: str, whole_second: bool) -> None:
    """What a client sent, decoded as the API decodes it: written in the one form
    whatever its offset or fraction, the fast way or not."""
    if whole_second:
        us -= us % 1_000_000
    hours, minutes = (0, 0) if offset == "Z" else (int(offset[:3]), int(offset[0] + offset[4:]))
    local = datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)
    local = (local + timedelta(hours=hours, minutes=minutes)).replace(tzinfo=None)
    sent = local.isoformat(timespec="microseconds") + offset
    moment = msgspec.json.decode(f'"{sent}"', type=datetime)
    assert to_us(moment) == us
    assert format_moment(moment, us) == format_us(us)


def test_the_fast_form_is_taken_only_for_utc_with_a_fraction() -> None:
    fraction = datetime(2026, 10, 26, 3, 55, 35, 158_500, tzinfo=UTC)
    assert format_moment(fraction, to_us(fraction)) == "2026-10-26T03:55:35.158500Z"
    whole = fraction.replace(microsecond=0)
    assert format_moment(whole, to_us(whole)) == "2026-10-26T03:55:35.000000Z"
    shifted = fraction.astimezone(timezone(timedelta(hours=2)))
    assert format_moment(shifted, to_us(shifted)) == "2026-10-26T03:55:35.158500Z"
