"""What Slack says about a member and a channel: names, admin roles, whether the bot can post."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.refusals import code_of
from bot.engine.daily.model import ChannelRef
from bot.engine.model import UserRef

DEFAULT_ADMIN_ROLES: Final = frozenset({"admin", "owner"})
DM_PREFIX: Final = "D"
"""Slack ids of direct-message channels start with D."""
ADMIN_ONLY: Final = (
    "Only workspace admins can change the daily question. "
    "Ask an admin, or use `/awsquiz daily status` to see the schedule."
)
_ROLE_FLAGS: Final = (
    ("admin", "is_admin"),
    ("owner", "is_owner"),
    ("primary_owner", "is_primary_owner"),
)

log = logging.getLogger(__name__)


@dataclass
class SlackMembers:
    """users.info for one request, asked once per member: the engine's Permissions port."""

    client: AsyncWebClient
    admin_roles: frozenset[str] = DEFAULT_ADMIN_ROLES
    refusal: str = ADMIN_ONLY
    _profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def profile(self, user: UserRef) -> dict[str, Any]:
        """The member's users.info `user` object."""
        if user.user not in self._profiles:
            response = await self.client.users_info(user=user.user)
            self._profiles[user.user] = dict(response["user"])
        return self._profiles[user.user]

    async def is_admin(self, user: UserRef) -> bool:
        """True when the member holds one of the admin roles."""
        profile = await self.profile(user)
        roles = {role for role, flag in _ROLE_FLAGS if profile.get(flag)}
        return bool(roles & self.admin_roles)

    async def timezone(self, user: UserRef) -> str:
        """The member's Slack timezone (IANA), UTC when the profile has none."""
        return str((await self.profile(user)).get("tz") or "UTC")

    async def named(self, user: UserRef) -> UserRef:
        """The member with the name Slack shows for them."""
        return UserRef(
            user.platform, user.workspace, user.user, display_name(await self.profile(user))
        )


def display_name(profile: dict[str, Any]) -> str:
    """What Slack shows for a member: display name, else real name, else handle."""
    details = profile.get("profile") or {}
    return str(details.get("display_name") or details.get("real_name") or profile.get("name") or "")


@dataclass(frozen=True)
class SlackChannels:
    """Joins a public channel for the daily question: the engine's ChannelAccess port."""

    client: AsyncWebClient

    async def problem(self, channel: ChannelRef) -> str | None:
        """Why the bot could not post the daily question in `channel`, or None if it can.

        A public channel is joined (channels:join); a private one needs an invitation.
        """
        if channel.channel.startswith(DM_PREFIX):
            return "The daily question is for channels, not direct messages."
        try:
            info = await self.client.conversations_info(channel=channel.channel)
            details = info["channel"]
            if details.get("is_member"):
                return None
            if details.get("is_private"):
                return "I am not in this private channel: invite me with `/invite @awsquiz` first."
            await self.client.conversations_join(channel=channel.channel)
        except SlackApiError as error:
            code = code_of(error)
            log.warning("slack daily set-up in %s: %s", channel.channel, code)
            if code in {"channel_not_found", "not_in_channel"}:
                return "I cannot see this channel: invite me with `/invite @awsquiz` first."
            return f"I cannot post in this channel (Slack said: {code})."
        return None
