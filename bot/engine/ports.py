"""The small interfaces the engine needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from bot.engine.model import (
    Attempt,
    LeaderboardRow,
    NewAttempt,
    OpenQuestion,
    StoredInterview,
    UserRef,
)


class Clock(Protocol):
    """Tells the time; tests pass their own."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class Store(Protocol):
    """Persistence the engine needs; storage/ implements it on SQLAlchemy.

    Every method is scoped by `UserRef` (platform, workspace, user): nothing crosses workspaces.
    """

    async def record_attempt(self, attempt: NewAttempt) -> Attempt:
        """Store a graded answer and return it with its id."""
        ...

    async def attempts(self, user: UserRef, *, since: datetime | None = None) -> Sequence[Attempt]:
        """Return the user's attempts, oldest first, optionally only those at or after `since`."""
        ...

    async def mark_asked(self, user: UserRef, question_id: str, at: datetime) -> None:
        """Remember that the user was shown this question."""
        ...

    async def recently_asked(self, user: UserRef, limit: int) -> Sequence[str]:
        """Return the ids of the last `limit` distinct questions shown to the user, newest first."""
        ...

    async def open_question(self, user: UserRef) -> OpenQuestion | None:
        """Return the user's open question, if any."""
        ...

    async def set_open_question(self, user: UserRef, question: OpenQuestion) -> None:
        """Make `question` the user's open question, replacing any other."""
        ...

    async def take_open_question(self, user: UserRef) -> OpenQuestion | None:
        """Remove and return the user's open question, atomically: one caller wins."""
        ...

    async def leaderboard(
        self,
        platform: str,
        workspace: str,
        *,
        since: datetime | None = None,
        channel: str | None = None,
        limit: int = 10,
    ) -> Sequence[LeaderboardRow]:
        """Rank users of one workspace by points (sum of scores), best first."""
        ...

    async def save_interview(self, interview: StoredInterview) -> None:
        """Insert or update an interview session."""
        ...

    async def active_interview(self, user: UserRef) -> StoredInterview | None:
        """Return the user's active interview session, if any."""
        ...
