"""SQLAlchemy table definitions: the schema the Alembic migrations create."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.engine.daily.model import PostState
from bot.engine.model import Difficulty, Source, Verdict

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}  # deterministic names, so that later migrations can drop or alter constraints by name

# Column sizes. The migrations copy these numbers: change both, with a new revision.
PLATFORM_LENGTH: Final = 32
SCOPE_ID_LENGTH: Final = 128  # Slack/Discord ids (team, guild, channel, user, message), with margin
NAME_LENGTH: Final = 255
QUESTION_ID_LENGTH: Final = 128
TOPIC_ID_LENGTH: Final = 64
ENUM_LENGTH: Final = 16
CLAIMER_LENGTH: Final = 160  # an instance name (a host name, at most 64 in practice) and a run id
INTERVIEW_ID_LENGTH: Final = 36  # a UUID in its canonical text form
TIMEZONE_LENGTH: Final = 64
POST_TIME_LENGTH: Final = 5  # HH:MM

# Migration 0004 creates these for slack_sdk's SQLAlchemy OAuth stores. slack_sdk defines them
# (and queries them), so they stay out of Base.metadata and storage imports nothing from Slack.
SLACK_INSTALLATIONS_TABLE: Final = "slack_installations"
SLACK_BOTS_TABLE: Final = "slack_bots"
SLACK_OAUTH_STATES_TABLE: Final = "slack_oauth_states"
SLACK_SDK_TABLES: Final = frozenset(
    {SLACK_INSTALLATIONS_TABLE, SLACK_BOTS_TABLE, SLACK_OAUTH_STATES_TABLE}
)


def _quoted(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


SOURCE_VALUES: Final = _quoted([source.value for source in Source])
VERDICT_VALUES: Final = _quoted([verdict.value for verdict in Verdict])
DIFFICULTY_VALUES: Final = _quoted([difficulty.value for difficulty in Difficulty])
POST_STATE_VALUES: Final = _quoted([state.value for state in PostState])


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC and always read back aware.

    SQLite has no timezone type and SQLAlchemy's SQLite dialect drops tzinfo, so values are
    converted to UTC before storage (which also keeps text comparisons in time order) and
    tagged UTC on the way out. PostgreSQL's timestamptz already round-trips aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Reject naive datetimes and convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: awsquiz stores timezone-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored time as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and its naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class UserRow(Base):
    """A person on one platform and workspace, created the first time they are seen."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH))
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    user_id: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    display_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    created_at: Mapped[datetime]


class AttemptRow(Base):
    """One graded answer.

    `platform` and `workspace` repeat the user's scope so that workspace leaderboards over a
    period read one index range instead of joining every user first.
    """

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(f"source IN ({SOURCE_VALUES})", name="source"),
        CheckConstraint(f"verdict IN ({VERDICT_VALUES})", name="verdict"),
        CheckConstraint(f"difficulty IN ({DIFFICULTY_VALUES})", name="difficulty"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        CheckConstraint("hints_used >= 0", name="hints_used"),
        Index(None, "user_id", "created_at"),
        Index(None, "platform", "workspace", "created_at"),
        # One scored answer per member and daily post, even when answers race; attempts
        # outside a daily post have a NULL post id, and NULLs never collide in a unique key.
        UniqueConstraint("daily_post_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH))
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    question_id: Mapped[str] = mapped_column(String(QUESTION_ID_LENGTH))
    topic_id: Mapped[str] = mapped_column(String(TOPIC_ID_LENGTH))
    difficulty: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    answer: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    covered: Mapped[list[str]] = mapped_column(JSON)
    missed: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    hints_used: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str | None] = mapped_column(String(SCOPE_ID_LENGTH))
    created_at: Mapped[datetime]
    # SET NULL, not CASCADE: a score belongs to the member's history and leaderboards, which
    # must not shrink when an old daily post is cleaned up.
    daily_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("daily_posts.id", ondelete="SET NULL")
    )


class QuestionViewRow(Base):
    """A question shown to a user, so that the next pick can avoid repeats."""

    __tablename__ = "question_views"
    __table_args__ = (Index(None, "user_id", "shown_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(QUESTION_ID_LENGTH))
    shown_at: Mapped[datetime]


class OpenQuestionRow(Base):
    """The one question a user has been asked and not yet answered or skipped."""

    __tablename__ = "open_questions"
    __table_args__ = (
        CheckConstraint(f"source IN ({SOURCE_VALUES})", name="source"),
        CheckConstraint("hints_used >= 0", name="hints_used"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(QUESTION_ID_LENGTH))
    asked_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    hints_used: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str | None] = mapped_column(String(SCOPE_ID_LENGTH))


class InterviewSessionRow(Base):
    """A mock interview; the engine owns the JSON `state`, the store only keeps it."""

    __tablename__ = "interview_sessions"
    __table_args__ = (
        Index(None, "user_id", "updated_at"),
        # A partial unique index: any number of finished sessions, at most one running.
        Index(
            "uq_interview_sessions_one_active",
            "user_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[str] = mapped_column(String(INTERVIEW_ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(Text)
    # Bumped by every change: a change made from a stale read matches no row (compare-and-set).
    version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DailySubscriptionRow(Base):
    """A channel's daily-question schedule: the source of truth for the scheduler."""

    __tablename__ = "daily_subscriptions"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH))
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    channel: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    post_time: Mapped[str] = mapped_column(String(POST_TIME_LENGTH))
    timezone: Mapped[str] = mapped_column(String(TIMEZONE_LENGTH))
    topics: Mapped[list[str]] = mapped_column(JSON)
    difficulty_mix: Mapped[dict[str, int]] = mapped_column(JSON)
    answer_window_minutes: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    updated_at: Mapped[datetime]


class DailyPostRow(Base):
    """One channel's daily question for one local date.

    The unique scope+date is the exactly-once guarantee: a poster claims the row with
    INSERT ... ON CONFLICT DO NOTHING and only the process whose insert landed posts.
    """

    __tablename__ = "daily_posts"
    __table_args__ = (
        CheckConstraint(f"state IN ({POST_STATE_VALUES})", name="state"),
        UniqueConstraint("platform", "workspace", "channel", "local_date"),
        # The poster's sweeps: stale claims (state, lease_until), due reveals (state, closes_at).
        Index(None, "state", "lease_until"),
        Index(None, "state", "closes_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH))
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    channel: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    local_date: Mapped[date] = mapped_column(Date)
    question_id: Mapped[str] = mapped_column(String(QUESTION_ID_LENGTH))
    state: Mapped[str] = mapped_column(String(ENUM_LENGTH))
    lease_until: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(SCOPE_ID_LENGTH))
    claimed_at: Mapped[datetime]
    first_claimed_at: Mapped[datetime | None]
    """When the slot was first claimed: a post may have reached the platform since then."""
    claimer: Mapped[str | None] = mapped_column(String(CLAIMER_LENGTH))
    """The process (`instance/run`) holding the claim or the reveal claim."""
    posted_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    revealed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class DeliveredEventRow(Base):
    """A platform event already handled: platforms retry deliveries, and a retry must not count.

    The unique (platform, event_id) decides which delivery is the first, across processes.
    """

    __tablename__ = "delivered_events"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index(None, "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH))
    event_id: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    received_at: Mapped[datetime]


class StoredRepliesRow(Base):
    """The replies to a member's DM message, written with the change the message made.

    The unique (platform, event_id) also makes the message count once: a second delivery finds
    its replies here instead of changing anything again. `sent_at` stays empty until the
    replies reached the member; a restart sends the recent ones still empty.
    """

    __tablename__ = "stored_replies"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index(None, "platform", "sent_at", "created_at"),
        # Forgetting a member, or a removed workspace, finds its replies here (0009).
        Index(None, "platform", "workspace", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH))
    event_id: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    user_id: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    channel: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH))
    replies: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ForgetRequestRow(Base):
    """A member's request to be forgotten, waiting (a few minutes) for their confirmation."""

    __tablename__ = "forget_requests"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH), primary_key=True)
    requested_at: Mapped[datetime]


class WorkspaceRemovalRow(Base):
    """A workspace or server that removed the bot: its members' data is deleted after the
    grace period, unless it comes back (the row is deleted then)."""

    __tablename__ = "workspace_removals"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LENGTH), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(SCOPE_ID_LENGTH), primary_key=True)
    removed_at: Mapped[datetime]
