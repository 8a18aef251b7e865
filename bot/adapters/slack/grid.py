"""Enterprise Grid: which org-wide installation serves a workspace, asked of Slack and cached.

An org-wide install is stored with its enterprise id and no team (that is how slack_sdk keeps
it): the workspaces it serves are the ones the org's admins granted it, which only Slack knows
and which change without telling a process that is not receiving events. `auth.teams.list`
says, with the org's own token; the answer is cached so that a fan-out of many posts asks once.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from slack_sdk.web.async_client import AsyncWebClient

LISTED_FRESH_SECONDS: Final = 600.0
"""How long a workspace seen in an org's list is trusted to be still granted."""
UNLISTED_RECHECK_SECONDS: Final = 60.0
"""A workspace missing from a list older than this asks again: it may have just been granted."""
TEAMS_PAGE: Final = 200
TEAMS_PAGES: Final = 50
"""At most 10,000 workspaces per org are read: far beyond the largest orgs' grants."""

OrgClient = Callable[[], Awaitable[AsyncWebClient]]
"""Builds the client of an org-wide installation (its token refreshed), only when needed."""


@dataclass(frozen=True, slots=True)
class _Listed:
    teams: frozenset[str]
    at: float


class OrgWorkspaces:
    """The workspaces each org-wide installation was granted, by enterprise id."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._listed: dict[str, _Listed] = {}
        self._listing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def grants(self, enterprise_id: str, team_id: str, client: OrgClient) -> bool:
        """Whether the org's installation serves `team_id`; SlackApiError if Slack refuses."""
        settled = self._settled(enterprise_id, team_id)
        if settled is not None:
            return settled
        # One listing per org at a time: the posts of a fan-out wait for it, then read it.
        async with self._listing[enterprise_id]:
            settled = self._settled(enterprise_id, team_id)
            if settled is not None:
                return settled
            teams = await _granted_teams(await client())
            self._listed[enterprise_id] = _Listed(teams, self._clock())
        return team_id in teams

    def _settled(self, enterprise_id: str, team_id: str) -> bool | None:
        """The cached answer while it is fresh enough to trust, else None."""
        listed = self._listed.get(enterprise_id)
        if listed is None:
            return None
        age = self._clock() - listed.at
        if team_id in listed.teams:
            return True if age < LISTED_FRESH_SECONDS else None
        return False if age < UNLISTED_RECHECK_SECONDS else None


async def _granted_teams(client: AsyncWebClient) -> frozenset[str]:
    """Every workspace id `auth.teams.list` names for the client's org-wide token."""
    teams: set[str] = set()
    cursor: str | None = None
    for _ in range(TEAMS_PAGES):
        page = await client.auth_teams_list(cursor=cursor, limit=TEAMS_PAGE)
        teams.update(str(team["id"]) for team in page.get("teams") or () if team.get("id"))
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return frozenset(teams)
