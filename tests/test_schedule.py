"""Daily schedule: post, catch-up and close instants across DST changes and far-off zones.

2025 transitions used below (local wall times):
  America/New_York   spring 03-09 02:00 EST -> 03:00 EDT;  fall 11-02 02:00 EDT -> 01:00 EST
  America/St_Johns   the same days and wall times, at -3:30 / -2:30
  Europe/London      spring 03-30 01:00 GMT -> 02:00 BST;  fall 10-26 02:00 BST -> 01:00 GMT
  Australia/Lord_Howe  (30-minute DST) fall 04-06 02:00 -> 01:30; spring 10-05 02:00 -> 02:30
  America/Nuuk       spring 03-29 23:00 -> 03-30 00:00: a gap that ends on the next local day
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import pytest

from bot.engine.daily import schedule
from bot.engine.daily.schedule import (
    DEFAULT_CATCH_UP_GRACE,
    DEFAULT_CLOSE_BEFORE_NEXT,
    closes_at,
    due_post,
    local_date,
    next_post_at,
    parse_answer_window,
    parse_post_time,
    parse_timezone,
    scheduled_at,
)
from bot.engine.errors import InvalidOptionError

NEW_YORK: Final = ZoneInfo("America/New_York")
LONDON: Final = ZoneInfo("Europe/London")
LORD_HOWE: Final = ZoneInfo("Australia/Lord_Howe")
ST_JOHNS: Final = ZoneInfo("America/St_Johns")
KIRITIMATI: Final = ZoneInfo("Pacific/Kiritimati")
PAGO_PAGO: Final = ZoneInfo("Pacific/Pago_Pago")
KATHMANDU: Final = ZoneInfo("Asia/Kathmandu")
NUUK: Final = ZoneInfo("America/Nuuk")
HOUR: Final = timedelta(hours=1)


def utc(text: str) -> datetime:
    """Return the UTC instant spelled 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hm(text: str) -> time:
    """Return the wall time spelled 'HH:MM'."""
    return time.fromisoformat(text)


def assert_utc(moment: datetime) -> None:
    """Every instant the schedule returns is aware and in UTC."""
    assert moment.tzinfo is UTC


# --- scheduled_at ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "post", "expected"),
    [
        # Ordinary days, including zones far from UTC and with odd offsets.
        (NEW_YORK, date(2025, 6, 2), "09:00", utc("2025-06-02 13:00")),
        (KIRITIMATI, date(2025, 6, 2), "09:00", utc("2025-06-01 19:00")),
        (PAGO_PAGO, date(2025, 6, 1), "21:00", utc("2025-06-02 08:00")),
        (KATHMANDU, date(2025, 6, 1), "09:00", utc("2025-06-01 03:15")),
        (ST_JOHNS, date(2025, 1, 15), "09:00", utc("2025-01-15 12:30")),
        (ZoneInfo("UTC"), date(2025, 6, 1), "00:00", utc("2025-06-01 00:00")),
        # Gaps: the wall time does not exist, so it moves forward by the gap's length.
        (NEW_YORK, date(2025, 3, 9), "02:30", utc("2025-03-09 07:30")),  # 03:30 EDT
        (NEW_YORK, date(2025, 3, 9), "02:00", utc("2025-03-09 07:00")),  # 03:00 EDT
        (NEW_YORK, date(2025, 3, 9), "03:00", utc("2025-03-09 07:00")),
        (LONDON, date(2025, 3, 30), "01:30", utc("2025-03-30 01:30")),  # 02:30 BST
        (ST_JOHNS, date(2025, 3, 9), "02:30", utc("2025-03-09 06:00")),  # 03:30 NDT
        (LORD_HOWE, date(2025, 10, 5), "02:15", utc("2025-10-04 15:45")),  # 02:45 +11
        # Folds: the wall time happens twice; the first (still summer time) one counts.
        (NEW_YORK, date(2025, 11, 2), "01:30", utc("2025-11-02 05:30")),  # EDT, not EST
        (NEW_YORK, date(2025, 11, 2), "02:00", utc("2025-11-02 07:00")),  # after the fold
        (LONDON, date(2025, 10, 26), "01:30", utc("2025-10-26 00:30")),  # BST, not GMT
        (ST_JOHNS, date(2025, 11, 2), "01:30", utc("2025-11-02 04:00")),  # NDT
        (LORD_HOWE, date(2025, 4, 6), "01:45", utc("2025-04-05 14:45")),  # +11, not +10:30
    ],
)
def test_scheduled_at_is_the_utc_instant_of_the_local_wall_time(
    zone: ZoneInfo, day: date, post: str, expected: datetime
) -> None:
    result = scheduled_at(day, hm(post), zone)

    assert result == expected
    assert_utc(result)


def test_a_gap_shifts_the_post_forward_by_exactly_the_gap() -> None:
    new_york_gap = scheduled_at(date(2025, 3, 9), hm("02:30"), NEW_YORK).astimezone(NEW_YORK)
    lord_howe_gap = scheduled_at(date(2025, 10, 5), hm("02:15"), LORD_HOWE).astimezone(LORD_HOWE)

    assert new_york_gap.replace(tzinfo=None) == datetime(2025, 3, 9, 3, 30)
    assert lord_howe_gap.replace(tzinfo=None) == datetime(2025, 10, 5, 2, 45)


def test_local_date_is_the_calendar_date_in_the_zone() -> None:
    now = utc("2025-06-01 19:30")

    assert local_date(now, KIRITIMATI) == date(2025, 6, 2)
    assert local_date(now, PAGO_PAGO) == date(2025, 6, 1)
    assert local_date(utc("2025-06-02 04:00"), NEW_YORK) == date(2025, 6, 2)
    assert local_date(utc("2025-06-02 03:59"), NEW_YORK) == date(2025, 6, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda now: local_date(now, LONDON),
        lambda now: next_post_at(now, hm("09:00"), LONDON),
        lambda now: due_post(now, hm("09:00"), LONDON),
        lambda now: closes_at(now, hm("09:00"), LONDON, None),
    ],
)
def test_a_naive_now_is_refused_rather_than_read_as_host_time(
    call: Callable[[datetime], object],
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2025, 6, 1, 9, 0))


# --- next_post_at ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "post", "now", "expected"),
    [
        # New York at 09:00: day before, of and after each transition.
        (NEW_YORK, "09:00", utc("2025-03-08 14:00"), utc("2025-03-09 13:00")),  # 23 h
        (NEW_YORK, "09:00", utc("2025-03-09 13:00"), utc("2025-03-10 13:00")),
        (NEW_YORK, "09:00", utc("2025-03-07 14:00"), utc("2025-03-08 14:00")),
        (NEW_YORK, "09:00", utc("2025-11-01 13:00"), utc("2025-11-02 14:00")),  # 25 h
        (NEW_YORK, "09:00", utc("2025-11-02 14:00"), utc("2025-11-03 14:00")),
        (NEW_YORK, "09:00", utc("2025-10-31 13:00"), utc("2025-11-01 13:00")),
        # Earlier on a transition day, before the post: the same day's post.
        (NEW_YORK, "09:00", utc("2025-03-09 06:30"), utc("2025-03-09 13:00")),
        (NEW_YORK, "09:00", utc("2025-11-02 05:30"), utc("2025-11-02 14:00")),
        # A post time inside the gap: posted at 03:30 EDT that day, back to 02:30 the next.
        (NEW_YORK, "02:30", utc("2025-03-08 07:30"), utc("2025-03-09 07:30")),
        (NEW_YORK, "02:30", utc("2025-03-09 07:30"), utc("2025-03-10 06:30")),
        # A post time inside the fold: once, at the first 01:30; the second one is not a post.
        (NEW_YORK, "01:30", utc("2025-11-01 05:30"), utc("2025-11-02 05:30")),
        (NEW_YORK, "01:30", utc("2025-11-02 05:30"), utc("2025-11-03 06:30")),
        (NEW_YORK, "01:30", utc("2025-11-02 06:00"), utc("2025-11-03 06:30")),
        # London at 07:00.
        (LONDON, "07:00", utc("2025-03-29 07:00"), utc("2025-03-30 06:00")),  # 23 h
        (LONDON, "07:00", utc("2025-03-30 06:00"), utc("2025-03-31 06:00")),
        (LONDON, "07:00", utc("2025-10-25 06:00"), utc("2025-10-26 07:00")),  # 25 h
        (LONDON, "07:00", utc("2025-10-26 07:00"), utc("2025-10-27 07:00")),
        # Lord Howe at 08:00: its clocks move by half an hour.
        (LORD_HOWE, "08:00", utc("2025-10-03 21:30"), utc("2025-10-04 21:00")),  # 23.5 h
        (LORD_HOWE, "08:00", utc("2025-10-04 21:00"), utc("2025-10-05 21:00")),
        (LORD_HOWE, "08:00", utc("2025-04-04 21:00"), utc("2025-04-05 21:30")),  # 24.5 h
        (LORD_HOWE, "08:00", utc("2025-04-05 21:30"), utc("2025-04-06 21:30")),
        # St John's at 09:00 (-3:30 / -2:30).
        (ST_JOHNS, "09:00", utc("2025-03-08 12:30"), utc("2025-03-09 11:30")),  # 23 h
        (ST_JOHNS, "09:00", utc("2025-11-01 11:30"), utc("2025-11-02 12:30")),  # 25 h
        # Far from UTC: the UTC day of the post is not the local one.
        (KIRITIMATI, "09:00", utc("2025-06-01 18:59"), utc("2025-06-01 19:00")),
        (KIRITIMATI, "09:00", utc("2025-06-01 19:00"), utc("2025-06-02 19:00")),
        (PAGO_PAGO, "21:00", utc("2025-06-02 07:00"), utc("2025-06-02 08:00")),
        (KATHMANDU, "09:00", utc("2025-06-01 03:14"), utc("2025-06-01 03:15")),
        (KATHMANDU, "00:00", utc("2025-06-01 18:15"), utc("2025-06-02 18:15")),
    ],
)
def test_next_post_at_is_the_first_post_strictly_after_now(
    zone: ZoneInfo, post: str, now: datetime, expected: datetime
) -> None:
    result = next_post_at(now, hm(post), zone)

    assert result == expected
    assert_utc(result)


def test_next_post_at_accepts_now_in_any_zone() -> None:
    in_tokyo = utc("2025-06-02 12:00").astimezone(ZoneInfo("Asia/Tokyo"))

    assert next_post_at(in_tokyo, hm("09:00"), NEW_YORK) == utc("2025-06-02 13:00")


def test_next_post_at_one_microsecond_before_the_post_is_that_post() -> None:
    post = utc("2025-06-02 13:00")

    assert next_post_at(post - timedelta(microseconds=1), hm("09:00"), NEW_YORK) == post
    assert next_post_at(post, hm("09:00"), NEW_YORK) == post + timedelta(days=1)


# --- due_post -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "post", "now", "expected"),
    [
        # Right at the instant, within and at the edge of the grace, and beyond it.
        (NEW_YORK, "09:00", utc("2025-06-02 13:00"), (date(2025, 6, 2), utc("2025-06-02 13:00"))),
        (NEW_YORK, "09:00", utc("2025-06-02 14:30"), (date(2025, 6, 2), utc("2025-06-02 13:00"))),
        (NEW_YORK, "09:00", utc("2025-06-02 15:00"), (date(2025, 6, 2), utc("2025-06-02 13:00"))),
        (NEW_YORK, "09:00", utc("2025-06-02 15:00:01"), None),
        (NEW_YORK, "09:00", utc("2025-06-02 12:59"), None),
        # 23:50 post, just after local midnight: yesterday's post is the due one.
        (NEW_YORK, "23:50", utc("2025-06-03 04:05"), (date(2025, 6, 2), utc("2025-06-03 03:50"))),
        (LONDON, "23:50", utc("2025-01-15 00:30"), (date(2025, 1, 14), utc("2025-01-14 23:50"))),
        # Kiritimati is a day ahead of UTC; Pago Pago a day behind.
        (KIRITIMATI, "09:00", utc("2025-06-01 19:30"), (date(2025, 6, 2), utc("2025-06-01 19:00"))),
        (KIRITIMATI, "23:50", utc("2025-06-01 10:00"), (date(2025, 6, 1), utc("2025-06-01 09:50"))),
        (PAGO_PAGO, "21:00", utc("2025-06-02 08:30"), (date(2025, 6, 1), utc("2025-06-02 08:00"))),
        (KATHMANDU, "09:00", utc("2025-06-01 03:20"), (date(2025, 6, 1), utc("2025-06-01 03:15"))),
        # A post time in the gap is due from its shifted instant (03:30 EDT), not skipped.
        (NEW_YORK, "02:30", utc("2025-03-09 07:29"), None),
        (NEW_YORK, "02:30", utc("2025-03-09 07:45"), (date(2025, 3, 9), utc("2025-03-09 07:30"))),
        # In a fold the due post stays the first 01:30 while the clock repeats the hour.
        (NEW_YORK, "01:30", utc("2025-11-02 06:45"), (date(2025, 11, 2), utc("2025-11-02 05:30"))),
        (
            LORD_HOWE,
            "01:45",
            utc("2025-04-05 15:15"),
            (date(2025, 4, 6), utc("2025-04-05 14:45")),
        ),
    ],
)
def test_due_post_is_the_latest_post_within_the_grace(
    zone: ZoneInfo, post: str, now: datetime, expected: tuple[date, datetime] | None
) -> None:
    result = due_post(now, hm(post), zone)

    assert result == expected
    if result is not None:
        assert_utc(result[1])


def test_due_post_grace_is_a_parameter() -> None:
    post = utc("2025-06-02 13:00")

    assert due_post(post, hm("09:00"), NEW_YORK, grace=timedelta(0)) == (date(2025, 6, 2), post)
    assert due_post(post + timedelta(seconds=1), hm("09:00"), NEW_YORK, grace=timedelta(0)) is None
    long_ago = post + timedelta(hours=20)
    assert due_post(long_ago, hm("09:00"), NEW_YORK, grace=timedelta(days=1)) == (
        date(2025, 6, 2),
        post,
    )


def test_due_post_does_not_repeat_the_post_on_the_second_pass_through_a_fold() -> None:
    # 01:30 EST on 2025-11-02 is the repeated 01:30; the post went out an hour earlier.
    second_pass = utc("2025-11-02 06:30")

    assert due_post(second_pass, hm("01:30"), NEW_YORK, grace=timedelta(minutes=30)) is None


def test_a_gap_at_the_end_of_the_day_still_posts_for_that_day() -> None:
    # Nuuk's clocks jump from Saturday 23:00 to Sunday 00:00, so Saturday's 23:30 post goes
    # out at 00:30 on Sunday; it is still Saturday's post, and Sunday gets its own at 23:30.
    saturday, post_time = date(2025, 3, 29), hm("23:30")
    saturday_post = utc("2025-03-30 01:30")  # 00:30 -01 on Sunday
    sunday_post = utc("2025-03-31 00:30")  # 23:30 -01 on Sunday
    friday_post = utc("2025-03-29 01:30")  # 23:30 -02 on Friday

    assert scheduled_at(saturday, post_time, NUUK) == saturday_post
    assert next_post_at(friday_post, post_time, NUUK) == saturday_post
    assert next_post_at(saturday_post, post_time, NUUK) == sunday_post
    # Sunday 00:10: Saturday's post is still ahead, so the latest one due is Friday's.
    sunday_early = utc("2025-03-30 01:10")
    assert due_post(sunday_early, post_time, NUUK) is None
    assert due_post(sunday_early, post_time, NUUK, grace=timedelta(days=1)) == (
        date(2025, 3, 28),
        friday_post,
    )
    assert due_post(utc("2025-03-30 01:45"), post_time, NUUK) == (saturday, saturday_post)


# --- closes_at ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "post", "posted_for", "expected"),
    [
        # 30 minutes before the next post, which is 23, 24 or 25 hours later.
        (NEW_YORK, "09:00", utc("2025-06-02 13:00"), utc("2025-06-03 12:30")),
        (NEW_YORK, "09:00", utc("2025-03-08 14:00"), utc("2025-03-09 12:30")),  # 22.5 h
        (NEW_YORK, "09:00", utc("2025-11-01 13:00"), utc("2025-11-02 13:30")),  # 24.5 h
        (LONDON, "07:00", utc("2025-03-29 07:00"), utc("2025-03-30 05:30")),
        (LONDON, "07:00", utc("2025-10-25 06:00"), utc("2025-10-26 06:30")),
        (LORD_HOWE, "08:00", utc("2025-10-03 21:30"), utc("2025-10-04 20:30")),  # 23 h
        (ST_JOHNS, "09:00", utc("2025-11-01 11:30"), utc("2025-11-02 12:00")),
        (KIRITIMATI, "09:00", utc("2025-06-01 19:00"), utc("2025-06-02 18:30")),
        # Posted for just before the (changed) post time: the 10-minute minimum wins.
        (NEW_YORK, "09:00", utc("2025-06-02 12:55"), utc("2025-06-02 13:05")),
        (NEW_YORK, "09:00", utc("2025-06-02 12:20"), utc("2025-06-02 12:30")),
        (NEW_YORK, "09:00", utc("2025-06-02 12:10"), utc("2025-06-02 12:30")),
    ],
)
def test_closes_at_without_a_window_is_just_before_the_next_post(
    zone: ZoneInfo, post: str, posted_for: datetime, expected: datetime
) -> None:
    result = closes_at(posted_for, hm(post), zone, None)

    assert result == expected
    assert_utc(result)


def test_closes_at_with_a_window_crosses_local_midnight() -> None:
    posted_for = utc("2025-06-02 03:00")  # 23:00 EDT on June 1st

    result = closes_at(posted_for, hm("23:00"), NEW_YORK, timedelta(hours=2))

    assert result == utc("2025-06-02 05:00")
    assert_utc(result)
    assert result.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2025, 6, 2, 1, 0)


def test_closes_at_with_a_window_counts_elapsed_time_across_a_dst_change() -> None:
    # 23:00 EST on March 8th, given in the local zone; four real hours later is 04:00 EDT.
    posted_for = datetime(2025, 3, 8, 23, 0, tzinfo=NEW_YORK)

    result = closes_at(posted_for, hm("23:00"), NEW_YORK, timedelta(hours=4))

    assert result == utc("2025-03-09 08:00")
    assert_utc(result)


def test_closes_at_with_a_window_longer_than_a_day_is_kept() -> None:
    posted_for = utc("2025-06-02 13:00")

    assert closes_at(posted_for, hm("09:00"), NEW_YORK, timedelta(days=3)) == utc(
        "2025-06-05 13:00"
    )


# --- parse_post_time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:30", time(9, 30)),
        ("9:30", time(9, 30)),
        (" 21:05 ", time(21, 5)),
        ("00:00", time(0, 0)),
        ("0:05", time(0, 5)),
        ("23:59", time(23, 59)),
        ("17:45\n", time(17, 45)),
    ],
)
def test_parse_post_time_reads_24_hour_hh_mm(text: str, expected: time) -> None:
    assert parse_post_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "25:00",
        "24:00",
        "12:60",
        "9am",
        "9am?",
        "9:30pm",
        "",
        "   ",
        "9",
        "0930",
        "09-30",
        "09.30",
        "09:30:15",
        "9:5",
        "123:00",
        "-1:30",
        "+9:30",
        "9 :30",
        "\uff10\uff19:\uff13\uff10",  # full-width digits
        "\u0669:\u0663\u0660",  # Arabic-Indic digits
    ],
)
def test_parse_post_time_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_post_time(text)

    assert f"Post time {text!r} is not a valid time." in str(caught.value)
    assert "Use HH:MM in 24-hour time, e.g. 09:30 or 17:45." in str(caught.value)


def test_parse_post_time_message_is_exact() -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_post_time("25:00")

    assert str(caught.value) == (
        "Post time '25:00' is not a valid time. Use HH:MM in 24-hour time, e.g. 09:30 or 17:45."
    )


def test_parse_post_time_does_not_echo_a_pasted_essay() -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_post_time("x" * 5000)

    assert len(str(caught.value)) < 200


# --- parse_timezone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("  EUROPE/LONDON ", "Europe/London"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("america/st_johns", "America/St_Johns"),
        ("Asia/Kathmandu", "Asia/Kathmandu"),
        ("pacific/kiritimati", "Pacific/Kiritimati"),
        ("Australia/Lord_Howe", "Australia/Lord_Howe"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_parse_timezone_accepts_iana_names_in_any_case(name: str, key: str) -> None:
    assert parse_timezone(name).key == key


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("Europe/Londn", "Europe/London"),
        ("london", "Europe/London"),
        ("new york", "America/New_York"),
        ("America/NewYork", "America/New_York"),
        ("Pacific/Kiritmati", "Pacific/Kiritimati"),
        ("Kathmandu", "Asia/Kathmandu"),
        ("Amerca/St_Jons", "America/St_Johns"),
    ],
)
def test_parse_timezone_suggests_close_names(name: str, suggested: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_timezone(name)

    message = str(caught.value)
    assert message.startswith(f"Unknown timezone {name!r}. Did you mean: ")
    did_you_mean = message.split("Did you mean: ", 1)[1].split("?", 1)[0].split(", ")
    assert suggested in did_you_mean
    assert len(did_you_mean) <= 3
    assert "Use an IANA name such as Europe/London" in message


def test_parse_timezone_suggests_one_name_for_a_plain_typo() -> None:
    with pytest.raises(InvalidOptionError, match=r"Did you mean: Europe/London\? Use"):
        parse_timezone("Europe/Londn")


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "Europe/../../../etc/passwd",
        "localtime",
        "Factory",
        "xyz",
        "Europe/London\x00",
        "x" * 10_000,
    ],
)
def test_parse_timezone_refuses_unknown_names_without_opening_them(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(schedule, "ZoneInfo", opened.append)

    with pytest.raises(InvalidOptionError) as caught:
        parse_timezone(name)

    assert opened == []
    assert str(caught.value).startswith("Unknown timezone ")
    assert "Use an IANA name such as Europe/London" in str(caught.value)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_parse_timezone_refuses_empty_input(name: str) -> None:
    with pytest.raises(InvalidOptionError, match=r"^The timezone is empty\. Use an IANA name"):
        parse_timezone(name)


# --- parse_answer_window --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45", 45),
        ("10", 10),
        ("90m", 90),
        ("90min", 90),
        ("2h", 120),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("1H30M", 90),
        (" 2h ", 120),
        ("1d", 24 * 60),
        ("1d12h", 36 * 60),
        ("7d", 7 * 24 * 60),
        ("168h", 7 * 24 * 60),
        ("10080", 7 * 24 * 60),
    ],
)
def test_parse_answer_window_reads_minutes_hours_and_days(text: str, minutes: int) -> None:
    assert parse_answer_window(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "text",
    ["", "  ", "abc", "1.5h", "-30", "h", "m", "30s", "2h1d", "30m2h", "1 30", "2 hours", "9" * 40],
)
def test_parse_answer_window_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_answer_window(text)

    assert "is not a duration. Use minutes or hours, e.g. 45, 90m, 2h or 1h30m." in str(
        caught.value
    )


@pytest.mark.parametrize("text", ["0", "9", "9m", "0h", "0h9m"])
def test_parse_answer_window_refuses_too_short(text: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_answer_window(text)

    assert str(caught.value) == (f"Answer window {text!r} is too short: the minimum is 10 minutes.")


@pytest.mark.parametrize("text", ["7d1m", "169h", "10081", "99999999999999999999d"])
def test_parse_answer_window_refuses_too_long(text: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        parse_answer_window(text)

    assert str(caught.value) == f"Answer window {text!r} is too long: the maximum is 7 days."


# --- invariants over a whole year -----------------------------------------------------------

STEP: Final = timedelta(minutes=15)
YEAR_START: Final = utc("2025-01-01 00:00")
YEAR_END: Final = utc("2026-01-01 00:00")


def _wall_time_exists(day: date, post_time: time, zone: ZoneInfo) -> bool:
    """Whether `post_time` is a real wall time on `day` in `zone` (False inside a gap)."""
    wall = datetime.combine(day, post_time, tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None)


@pytest.mark.parametrize(
    ("zone", "post"),
    [
        (NEW_YORK, "02:30"),  # in the spring gap
        (NEW_YORK, "01:30"),  # in the autumn fold
        (LONDON, "01:15"),  # in both the gap and the fold
        (LORD_HOWE, "01:45"),  # in the 30-minute fold; 02:15 falls in its gap
        (ST_JOHNS, "23:45"),
        (NUUK, "23:30"),  # its gap pushes Saturday's post past local midnight
        (KIRITIMATI, "00:00"),
    ],
    ids=lambda value: value.key if isinstance(value, ZoneInfo) else value,
)
def test_every_quarter_hour_of_a_year_keeps_the_schedule_invariants(
    zone: ZoneInfo, post: str
) -> None:
    post_time = hm(post)
    previous_next: datetime | None = None
    previous_due: tuple[date, datetime] | None = None
    now = YEAR_START
    while now < YEAR_END:
        upcoming = next_post_at(now, post_time, zone)
        assert upcoming.tzinfo is UTC
        assert now < upcoming <= now + timedelta(hours=25)
        if previous_next is not None and upcoming != previous_next:
            assert previous_next <= now, "the next post changed before it happened"
            assert timedelta(hours=23) <= upcoming - previous_next <= timedelta(hours=25)
            previous_local_date = previous_next.astimezone(zone).date()
            assert upcoming.astimezone(zone).date() >= previous_local_date
        previous_next = upcoming

        # The latest past post, with a grace wide enough that there always is one.
        due = due_post(now, post_time, zone, grace=timedelta(days=2))
        assert due is not None
        due_day, due_instant = due
        assert due_instant <= now < upcoming
        if due != previous_due:
            # Every local day gets exactly one post, in order: none skipped, none repeated.
            if previous_due is not None:
                assert due_day == previous_due[0] + timedelta(days=1)
            assert scheduled_at(due_day, post_time, zone) == due_instant
            assert next_post_at(due_instant, post_time, zone) == upcoming
            closing = closes_at(due_instant, post_time, zone, None)
            assert closing == upcoming - DEFAULT_CLOSE_BEFORE_NEXT
            posted_wall = due_instant.astimezone(zone).replace(tzinfo=None)
            wanted_wall = datetime.combine(due_day, post_time)
            if _wall_time_exists(due_day, post_time, zone):
                assert posted_wall == wanted_wall
            else:
                # Shifted forward by the gap, never by more than an hour.
                assert timedelta(0) < posted_wall - wanted_wall <= HOUR
            previous_due = due
        caught_up = due_post(now, post_time, zone)
        assert (caught_up is not None) == (now - due_instant <= DEFAULT_CATCH_UP_GRACE)
        now += STEP
