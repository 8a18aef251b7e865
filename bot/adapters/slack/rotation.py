"""Rotating tokens: refreshed before they expire, one refresh at a time, saved for the others.

With token rotation on, a bot token expires 12 hours after it is issued and comes with a
refresh token that works once. Bolt refreshes a request's token through its rotator; the daily
poster uses the same rotator, so both refresh through the client they are given (on
SLACK_API_URL) and save what they get.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Final

from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.installation_store import SealedInstallationStore

REFRESH_MARGIN_MINUTES: Final = 10
"""A rotating token this close to expiry is refreshed before use, by Bolt and the poster alike:
longer than any request or post takes, and than the clock skew between hosts."""

InstallationKey = tuple[str | None, str | None]
"""An installation's enterprise and team ids (Grid org-wide: no team; standalone: no enterprise)."""

log = logging.getLogger(__name__)


def expires_soon(installation: Installation, minutes: int = REFRESH_MARGIN_MINUTES) -> bool:
    """Whether the bot token rotates and expires within `minutes` (or has expired)."""
    expires_at = installation.bot_token_expires_at
    if installation.bot_refresh_token is None or expires_at is None:
        return False
    return expires_at <= time.time() + minutes * 60


class SavingTokenRotator(AsyncTokenRotator):
    """slack_sdk's rotator on our client, refreshing one installation at a time and saving it.

    A refresh token works once, so two requests or posts that find the same token expiring
    must not both spend it: the second waits for the first and reads the token it saved (before
    returning, so that it is there to read). A refresh Slack refuses because another process
    spent the refresh token first is answered with what that process saved, when it is there.
    Only the bot token is refreshed: awsquiz asks for no user token.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
        installations: SealedInstallationStore,
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self._installations = installations
        self._refreshing: defaultdict[InstallationKey, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def perform_token_rotation(
        self,
        *,
        installation: Installation,
        minutes_before_expiration: int = REFRESH_MARGIN_MINUTES,
    ) -> Installation | None:
        """The installation with a fresh bot token, saved; None when its token is not due."""
        if not expires_soon(installation, minutes_before_expiration):
            return None  # every request asks: this answer must cost nothing
        async with self._refreshing[(installation.enterprise_id, installation.team_id)]:
            current = await self._stored(installation) or installation
            if not expires_soon(current, minutes_before_expiration):
                return current  # refreshed while this one waited
            try:
                refreshed = await super().perform_token_rotation(
                    installation=current, minutes_before_expiration=minutes_before_expiration
                )
            except SlackTokenRotationError:
                saved = await self._stored(installation)
                if saved is not None and not expires_soon(saved, minutes_before_expiration):
                    return saved  # another process spent the refresh token and saved its result
                raise
            if refreshed is not None:
                await self._installations.async_save(refreshed)
                where = current.team_id or f"org {current.enterprise_id}"
                log.info("slack %s: refreshed its rotating bot token", where)
            return refreshed

    async def _stored(self, installation: Installation) -> Installation | None:
        return await self._installations.async_find_installation(
            enterprise_id=installation.enterprise_id,
            team_id=installation.team_id,
            is_enterprise_install=installation.is_enterprise_install,
        )
