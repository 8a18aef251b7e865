"""Members' personal data: "forget me" once confirmed, and the purge of removed workspaces.

Forget me deletes one member's data in one workspace or server: the first request lists what
would go and must be confirmed within FORGET_CONFIRM_WINDOW (the request is stored, so the
confirmation may reach another process, or come after a restart).

A workspace that removes the bot is recorded with the time; the periodic sweep deletes its
members and everything of theirs once `removal_grace` has passed, unless it came back first:
the platform said the bot was added again (`workspace_back`), or a member used awsquiz there
(`workspace_in_use`, which the Tutor calls for every request). Each process learns of removals
recorded by others at its sweeps, and remembers which workspaces it served within
SIGHTING_MEMORY, so use seen by any process cancels a removal recorded by any other.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from bot.engine.errors import InvalidOptionError
from bot.engine.model import UserRef
from bot.engine.personal_data import MemberData, WorkspaceRemoval
from bot.engine.ports import Clock, PrivacyStore, SystemClock
from bot.engine.reply import Reply, Tone

FORGET_CONFIRM_WINDOW: Final = timedelta(minutes=5)
DEFAULT_REMOVAL_GRACE: Final = timedelta(days=30)
SIGHTING_MEMORY: Final = timedelta(hours=1)
"""How long a process remembers serving a workspace: far longer than a removal recorded by
another process takes to reach this one's sweep (a minute)."""
FORGET_COMMAND: Final = "/awsquiz forget"
CONFIRM_COMMAND: Final = "/awsquiz forget confirm"

log = logging.getLogger(__name__)

_Workspace = tuple[str, str]


class PrivacyService:
    """Deletes members' data: one member on request, a removed workspace after its grace."""

    def __init__(
        self,
        store: PrivacyStore,
        clock: Clock | None = None,
        *,
        removal_grace: timedelta = DEFAULT_REMOVAL_GRACE,
    ) -> None:
        if removal_grace < timedelta(0):
            raise ValueError("the removal grace period cannot be negative")
        self.store = store
        self.clock = clock or SystemClock()
        self.removal_grace = removal_grace
        self._pending: dict[_Workspace, WorkspaceRemoval] = {}
        """Removals known to this process (as of its last sweep), to cancel on first use."""
        self._seen: dict[_Workspace, datetime] = {}
        """When this process last served each workspace, for removals it learns of later."""

    # -- forget me ----------------------------------------------------------------------------

    async def member_data(self, user: UserRef) -> MemberData:
        """What awsquiz keeps about the member in their workspace."""
        return await self.store.member_data(user)

    async def request_forget(self, user: UserRef, *, confirm_command: str) -> Reply:
        """List what forgetting the member deletes, and wait for `confirm_command`."""
        kept = await self.store.member_data(user)
        if kept.is_empty:
            return nothing_kept()
        await self.store.request_forget(user, self.clock.now())
        return asks_to_confirm(kept, confirm_command)

    async def confirm_forget(self, user: UserRef) -> MemberData:
        """Forget the member if they asked within FORGET_CONFIRM_WINDOW; return what went.

        Raises InvalidOptionError, with nothing deleted, when there is no such request.
        """
        requested = await self.store.take_forget_request(user)
        if requested is None:
            raise InvalidOptionError(
                "There is no request to forget you waiting for a confirmation. Run "
                f"`{FORGET_COMMAND}` first: it lists what would be deleted, then confirm within "
                f"{_minutes(FORGET_CONFIRM_WINDOW)}."
            )
        if self.clock.now() - requested > FORGET_CONFIRM_WINDOW:
            raise InvalidOptionError(
                "Your request to be forgotten has expired: a confirmation must come within "
                f"{_minutes(FORGET_CONFIRM_WINDOW)}. Nothing was deleted; run `{FORGET_COMMAND}` "
                "again."
            )
        return await self.forget(user)

    async def forget(self, user: UserRef) -> MemberData:
        """Delete the member's data now (the terminal asked them to confirm first)."""
        deleted = await self.store.forget_member(user)
        log.info("%s %s: a member asked to be forgotten; done", user.platform, user.workspace)
        return deleted

    # -- removed workspaces -----------------------------------------------------------------

    async def workspace_removed(self, platform: str, workspace: str) -> None:
        """The platform says the workspace removed the bot: its data goes after the grace."""
        removal = await self.store.record_removal(platform, workspace, self.clock.now())
        if self.removal_grace <= timedelta(0):
            await self._purge(removal)
            return
        self._pending[(platform, workspace)] = removal
        log.info(
            "%s %s: removed the bot; its members' data is deleted after %s unless it returns",
            platform,
            workspace,
            removal.removed_at + self.removal_grace,
        )

    async def workspace_back(self, platform: str, workspace: str) -> None:
        """The platform says the bot was added to the workspace again: no purge."""
        self._seen[(platform, workspace)] = self.clock.now()
        self._pending.pop((platform, workspace), None)
        if await self.store.cancel_removal(platform, workspace):
            log.info("%s %s: the bot is back; its members' data stays", platform, workspace)

    async def workspace_in_use(self, platform: str, workspace: str) -> None:
        """A member used awsquiz in the workspace, so it has the bot: a removal known to this
        process is cancelled now, one recorded elsewhere at this process's next sweep.

        Never raises: the member's request must not fail for this (the sweep tries again).
        """
        if not workspace:  # a Discord DM: the running interview says where, if anywhere
            return
        key = (platform, workspace)
        self._seen[key] = self.clock.now()
        removal = self._pending.pop(key, None)
        if removal is not None:
            await self._cancel(removal)

    async def sweep(self) -> int:
        """Cancel the removals of workspaces in use again, purge those whose grace has passed,
        drop forget requests never confirmed; return how many workspaces were purged.

        Cheap when there is nothing to do (two small reads), so it runs at every daily sweep.
        """
        now = self.clock.now()
        pending: dict[_Workspace, WorkspaceRemoval] = {}
        purged = 0
        for removal in await self.store.removals():
            key = (removal.platform, removal.workspace)
            seen = self._seen.get(key)
            # Strictly after: a request at the very moment of removal was one in flight.
            if seen is not None and seen > removal.removed_at:
                await self._cancel(removal)
            elif now >= removal.removed_at + self.removal_grace:
                purged += await self._purge(removal)
            else:
                pending[key] = removal
        self._pending = pending
        self._seen = {key: at for key, at in self._seen.items() if now - at < SIGHTING_MEMORY}
        await self.store.drop_forget_requests(now - FORGET_CONFIRM_WINDOW)
        return purged

    async def _cancel(self, removal: WorkspaceRemoval) -> None:
        try:
            cancelled = await self.store.cancel_removal(
                removal.platform, removal.workspace, removed_at=removal.removed_at
            )
        except Exception:  # a database hiccup: the next sweep sees the sighting again
            log.exception(
                "%s %s: cancelling its removal failed", removal.platform, removal.workspace
            )
            return
        if cancelled:
            log.info(
                "%s %s: in use again; its members' data stays", removal.platform, removal.workspace
            )

    async def _purge(self, removal: WorkspaceRemoval) -> int:
        members = await self.store.purge_workspace(removal)
        if members is None:
            return 0
        log.info(
            "%s %s: removed the bot on %s; deleted its %d members' data",
            removal.platform,
            removal.workspace,
            f"{removal.removed_at:%Y-%m-%d %H:%M} UTC",
            members,
        )
        return 1


# -- what is said -------------------------------------------------------------------------------


def nothing_kept() -> Reply:
    """Said to a member awsquiz knows nothing about."""
    return Reply(
        title="Nothing to forget",
        text="awsquiz keeps nothing about you here.",
        tone=Tone.INFO,
    )


def asks_to_confirm(kept: MemberData, confirm_command: str) -> Reply:
    """What forgetting the member deletes, and how to confirm it."""
    return Reply(
        title="Forget me: please confirm",
        text=f"{what_is_kept(kept)}\n\nTo delete it, run `{confirm_command}` within "
        f"{_minutes(FORGET_CONFIRM_WINDOW)}.",
        tone=Tone.WARNING,
    )


def what_is_kept(kept: MemberData) -> str:
    """Everything forgetting the member deletes, for good, one line each."""
    lines = "\n".join(f"• {line}" for line in _items(kept))
    return (
        "This deletes everything awsquiz keeps about you here, for good:\n"
        f"{lines}\n"
        "Your other workspaces and servers are not touched, and the daily question schedules "
        "you set up stay with their channels. It cannot be undone."
    )


def forgotten(deleted: MemberData) -> Reply:
    """Said once the member's data is gone."""
    return Reply(
        title="Forgotten",
        text="I deleted everything awsquiz kept about you here: "
        f"{'; '.join(_items(deleted))}. If you use awsquiz here again, it starts afresh.",
        tone=Tone.SUCCESS,
    )


def _items(kept: MemberData) -> list[str]:
    items: list[str] = []
    if kept.known:
        items.append("your member id and display name")
    if kept.answers:
        daily = f" ({kept.daily_answers} of them to daily questions)" if kept.daily_answers else ""
        items.append(
            f"{_count(kept.answers, 'graded answer')}{daily}, which make your stats, streak "
            "and leaderboard places"
        )
    if kept.questions_shown:
        items.append(f"the record of {_count(kept.questions_shown, 'question')} you were shown")
    if kept.open_question:
        items.append("your open question")
    if kept.interviews:
        running = " (the one running ends)" if kept.interview_running else ""
        items.append(f"{_count(kept.interviews, 'mock interview')}{running}")
    if kept.stored_replies:
        messages = _count(kept.stored_replies, "message")
        items.append(f"the replies I stored to {messages} of yours in our direct messages")
    return items


def _count(number: int, noun: str) -> str:
    return f"{number} {noun if number == 1 else noun + 's'}"


def _minutes(window: timedelta) -> str:
    return _count(int(window.total_seconds() // 60), "minute")
