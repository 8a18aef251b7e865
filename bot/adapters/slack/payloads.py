"""Reading Slack interaction payloads: who pressed, where, and what a button carries."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack.ids import DAILY_VALUE_PREFIX, PLATFORM
from bot.adapters.slack.members import DM_PREFIX
from bot.engine.model import UserRef
from bot.engine.tutor import Where


def user_of(body: dict[str, Any]) -> UserRef:
    """The Slack user of an interaction payload, scoped by their team."""
    person = body["user"]
    team = (body.get("team") or {}).get("id") or person.get("team_id", "")
    return UserRef(PLATFORM, team, person["id"], person.get("username") or person.get("name", ""))


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel an interaction happened in (messages carry it; modals do not)."""
    found = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
    return str(found) if found else None


def where_of(body: dict[str, Any]) -> Where:
    channel = channel_of(body)
    return Where(channel, (channel or "").startswith(DM_PREFIX))


def post_id_of(value: str) -> int | None:
    """The daily post id a button value carries; None for a forged one."""
    digits = value.removeprefix(DAILY_VALUE_PREFIX)
    return int(digits) if digits.isdigit() else None
