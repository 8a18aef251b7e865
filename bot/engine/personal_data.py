"""What awsquiz keeps about a member, and the workspaces that removed the bot.

Values only, shared by the privacy service and the storage that implements its ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MemberData:
    """How much awsquiz keeps about one member in one workspace or server: what forgetting
    them deletes (their users row goes with it)."""

    known: bool = False
    """Whether awsquiz has a row for them at all (their id and display name)."""
    answers: int = 0
    """Graded answers, daily ones included: their stats, streaks and leaderboard places."""
    daily_answers: int = 0
    questions_shown: int = 0
    open_question: bool = False
    interviews: int = 0
    interview_running: bool = False
    stored_replies: int = 0
    """Replies to their direct messages, kept so that a restart can still send them."""

    @property
    def is_empty(self) -> bool:
        """True when there is nothing of theirs to delete."""
        return not self.known and self.stored_replies == 0


@dataclass(frozen=True, slots=True)
class WorkspaceRemoval:
    """A workspace or server that removed the bot, and since when: its members' data is
    deleted once the grace period after `removed_at` has passed, unless it comes back."""

    platform: str
    workspace: str
    removed_at: datetime
