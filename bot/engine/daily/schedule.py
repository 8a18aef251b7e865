"""When a channel's daily question is posted and closed: pure functions of an aware `now`.

Every returned datetime is timezone-aware and in UTC. Local wall times that do not exist (a
DST gap) are shifted forward by the gap, so a day is never skipped; wall times that happen
twice (a DST fold) mean the first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo, available_timezones

from rapidfuzz import fuzz, process

from bot.engine.errors import InvalidOptionError

DEFAULT_CATCH_UP_GRACE: Final = timedelta(hours=2)
"""How late a missed post may still go out (after a restart); older misses are skipped."""
DEFAULT_CLOSE_BEFORE_NEXT: Final = timedelta(minutes=30)
"""Without an answer window, answers close this long before the next post."""
MIN_ANSWER_WINDOW: Final = timedelta(minutes=10)
"""The shortest time a post stays open for answers."""
MAX_ANSWER_WINDOW: Final = timedelta(days=7)
"""The longest answer window a channel may choose."""

TIMEZONE_SUGGESTIONS: Final = 3
"""How many close timezone names an unknown-timezone error suggests."""
TIMEZONE_SUGGESTION_CUTOFF: Final = 70
"""rapidfuzz WRatio score (0-100) a name needs to be suggested."""
TIMEZONE_SUGGESTION_SPREAD: Final = 10
"""Suggest only names scoring within this much of the best one, so a typo gets one answer."""
MAX_TIMEZONE_INPUT_LENGTH: Final = 64
"""Longer input is refused without fuzzy matching (the longest IANA name has 32 characters)."""
MAX_DURATION_INPUT_LENGTH: Final = 32
"""Longer answer-window input is refused before any number in it is read."""
TIMEZONE_EXAMPLE: Final = (
    "Use an IANA name such as Europe/London, America/New_York or Asia/Kolkata "
    "(list: https://en.wikipedia.org/wiki/List_of_tz_database_time_zones)."
)

# Not real IANA zones: "localtime" is whatever the host is set to, "Factory" is a placeholder.
_EXCLUDED_ZONE_NAMES: Final = frozenset({"localtime", "Factory"})
_SHOWN_INPUT_LENGTH: Final = 40
# ASCII digits only: \d would also accept other scripts' digits, which int() silently reads.
_POST_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DURATION = re.compile(
    r"(?:([0-9]+)\s*d)?\s*(?:([0-9]+)\s*h)?\s*(?:([0-9]+)\s*m(?:in)?)?", re.IGNORECASE
)
_BARE_MINUTES = re.compile(r"[0-9]+")


def parse_post_time(text: str) -> time:
    """Read a 24-hour 'HH:MM' post time such as '09:30', '9:30' or '21:05'."""
    found = _POST_TIME.fullmatch(text.strip())
    if found is not None:
        hour, minute = int(found[1]), int(found[2])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise InvalidOptionError(
        f"Post time {_shown(text)} is not a valid time. "
        "Use HH:MM in 24-hour time, e.g. 09:30 or 17:45."
    )


def parse_timezone(name: str) -> ZoneInfo:
    """Return the IANA timezone of this name, matched case-insensitively ('europe/london')."""
    wanted = name.strip()
    if not wanted:
        raise InvalidOptionError(f"The timezone is empty. {TIMEZONE_EXAMPLE}")
    # Only names from the tz database's own list reach ZoneInfo, never a path the user typed.
    canonical = _zone_names_by_key().get(wanted.casefold())
    if canonical is not None:
        return ZoneInfo(canonical)
    suggestions = _close_zone_names(wanted)
    did_you_mean = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    raise InvalidOptionError(f"Unknown timezone {_shown(wanted)}.{did_you_mean} {TIMEZONE_EXAMPLE}")


def parse_answer_window(text: str) -> timedelta:
    """Read an answer window: '45' (minutes), '90m', '2h', '1h30m' or '1d'."""
    wanted = text.strip()
    minutes = _duration_minutes(wanted)
    if minutes is None:
        raise InvalidOptionError(
            f"Answer window {_shown(text)} is not a duration. "
            "Use minutes or hours, e.g. 45, 90m, 2h or 1h30m."
        )
    # Compare whole minutes before building a timedelta, which overflows on huge numbers.
    if minutes < MIN_ANSWER_WINDOW // timedelta(minutes=1):
        raise InvalidOptionError(
            f"Answer window {_shown(wanted)} is too short: "
            f"the minimum is {_describe(MIN_ANSWER_WINDOW)}."
        )
    if minutes > MAX_ANSWER_WINDOW // timedelta(minutes=1):
        raise InvalidOptionError(
            f"Answer window {_shown(wanted)} is too long: "
            f"the maximum is {_describe(MAX_ANSWER_WINDOW)}."
        )
    return timedelta(minutes=minutes)


def local_date(now: datetime, zone: ZoneInfo) -> date:
    """Return the calendar date in `zone` at the instant `now`."""
    return _require_aware(now).astimezone(zone).date()


def scheduled_at(local_day: date, post_time: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of `post_time` on `local_day` in `zone` (gap: shifted forward)."""
    # fold=0 picks the first of two repeated wall times. For a wall time inside a gap, PEP 495
    # gives fold=0 the offset in force before the transition, which lands exactly "gap length"
    # later on the new clock: 02:30 on a New York spring-forward day becomes 03:30 EDT.
    wall = datetime.combine(local_day, post_time).replace(tzinfo=zone, fold=0)
    return wall.astimezone(UTC)


def next_post_at(now: datetime, post_time: time, zone: ZoneInfo) -> datetime:
    """Return the first scheduled instant strictly after `now`."""
    return min(instant for _, instant in _posts_around(now, post_time, zone) if instant > now)


def due_post(
    now: datetime,
    post_time: time,
    zone: ZoneInfo,
    grace: timedelta = DEFAULT_CATCH_UP_GRACE,
) -> tuple[date, datetime] | None:
    """Return the latest (local date, instant) at or before `now` if within `grace`, else None."""
    # The date is the day the post is *for*, which is yesterday's just after local midnight
    # for a late-evening post time; it keys the once-per-day claim.
    day, instant = max(
        ((day, instant) for day, instant in _posts_around(now, post_time, zone) if instant <= now),
        key=lambda post: post[1],
    )
    return (day, instant) if now - instant <= grace else None


def closes_at(
    posted_for: datetime,
    post_time: time,
    zone: ZoneInfo,
    answer_window: timedelta | None,
) -> datetime:
    """Return when answers to the post scheduled at `posted_for` close."""
    # In UTC, so adding a timedelta adds elapsed time, not wall-clock time in some zone.
    opened = _require_aware(posted_for).astimezone(UTC)
    if answer_window is not None:
        return opened + answer_window
    # The next post is 23 or 25 hours away across a DST change; measuring to it keeps the
    # margin before it the same every day.
    before_next = next_post_at(opened, post_time, zone) - DEFAULT_CLOSE_BEFORE_NEXT
    return max(before_next, opened + MIN_ANSWER_WINDOW)


def _posts_around(now: datetime, post_time: time, zone: ZoneInfo) -> list[tuple[date, datetime]]:
    """Return the scheduled posts from two local days before `now` to one day after it."""
    # Tomorrow's post is always after `now`. Yesterday's is normally before it, but a gap
    # shift can push a late-evening post past local midnight, hence the day before as well.
    today = local_date(now, zone)
    days = (today + timedelta(days=offset) for offset in range(-2, 2))
    return [(day, scheduled_at(day, post_time, zone)) for day in days]


def _require_aware(moment: datetime) -> datetime:
    """Return `moment`, refusing a naive datetime (it would silently mean the host's zone)."""
    if moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")
    return moment


@cache
def _zone_names_by_key() -> dict[str, str]:
    """Return every IANA timezone name, keyed by its case-folded spelling."""
    return {
        name.casefold(): name for name in available_timezones() if name not in _EXCLUDED_ZONE_NAMES
    }


def _close_zone_names(wanted: str) -> list[str]:
    """Return up to TIMEZONE_SUGGESTIONS known names that look like `wanted`, best first."""
    if len(wanted) > MAX_TIMEZONE_INPUT_LENGTH:
        return []
    # People type "new york" for "America/New_York": compare with spaces as underscores.
    query = wanted.casefold().replace(" ", "_")
    names = _zone_names_by_key()
    matches = process.extract(
        query,
        sorted(names),
        scorer=fuzz.WRatio,
        limit=TIMEZONE_SUGGESTIONS,
        score_cutoff=TIMEZONE_SUGGESTION_CUTOFF,
    )
    if not matches:
        return []
    best_score = matches[0][1]
    return [
        names[key] for key, score, _ in matches if score >= best_score - TIMEZONE_SUGGESTION_SPREAD
    ]


def _duration_minutes(text: str) -> int | None:
    """Return the whole minutes `text` spells ('45', '90m', '1h30m', '1d'), or None."""
    if not text or len(text) > MAX_DURATION_INPUT_LENGTH:
        return None
    if _BARE_MINUTES.fullmatch(text):
        return int(text)
    found = _DURATION.fullmatch(text)
    if found is None or not any(found.groups()):
        return None
    days, hours, minutes = (int(part) if part else 0 for part in found.groups())
    return (days * 24 + hours) * 60 + minutes


def _describe(duration: timedelta) -> str:
    """Spell a whole number of days, hours or minutes: '10 minutes', '7 days'."""
    minutes = duration // timedelta(minutes=1)
    for unit, size in (("day", 24 * 60), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable: every whole minute count is a multiple of 1")


def _shown(text: str) -> str:
    """Quote user input for an error message, cut short so a pasted essay is not echoed."""
    if len(text) > _SHOWN_INPUT_LENGTH:
        text = text[: _SHOWN_INPUT_LENGTH - 1] + "…"
    return repr(text)
