"""Initial schema: users, attempts, question views, open questions, interviews, daily posts.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the enum values as of this revision: a migration must not change meaning
# when the code's enums change later.
SOURCES = "'practice', 'slash', 'daily', 'interview'"
VERDICTS = "'correct', 'partial', 'incorrect'"
DIFFICULTIES = "'basic', 'advanced', 'interview'"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create every table of the initial schema."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint(
            "platform", "workspace", "user_id", name=op.f("uq_users_platform_workspace_user_id")
        ),
    )

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("question_id", sa.String(128), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("difficulty", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("covered", sa.JSON(), nullable=False),
        sa.Column("missed", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("hints_used", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(128), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        _user_fk("attempts"),
        sa.CheckConstraint(f"source IN ({SOURCES})", name=op.f("ck_attempts_source")),
        sa.CheckConstraint(f"verdict IN ({VERDICTS})", name=op.f("ck_attempts_verdict")),
        sa.CheckConstraint(f"difficulty IN ({DIFFICULTIES})", name=op.f("ck_attempts_difficulty")),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_attempts_score")),
        sa.CheckConstraint("hints_used >= 0", name=op.f("ck_attempts_hints_used")),
    )
    op.create_index(op.f("ix_attempts_user_id_created_at"), "attempts", ["user_id", "created_at"])
    op.create_index(
        op.f("ix_attempts_platform_workspace_created_at"),
        "attempts",
        ["platform", "workspace", "created_at"],
    )

    op.create_table(
        "question_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(128), nullable=False),
        _timestamp("shown_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_views")),
        _user_fk("question_views"),
    )
    op.create_index(
        op.f("ix_question_views_user_id_shown_at"), "question_views", ["user_id", "shown_at"]
    )

    op.create_table(
        "open_questions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(128), nullable=False),
        _timestamp("asked_at"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("hints_used", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_open_questions")),
        _user_fk("open_questions"),
        sa.CheckConstraint(f"source IN ({SOURCES})", name=op.f("ck_open_questions_source")),
        sa.CheckConstraint("hints_used >= 0", name=op.f("ck_open_questions_hints_used")),
    )

    op.create_table(
        "interview_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_sessions")),
        _user_fk("interview_sessions"),
    )
    op.create_index(
        op.f("ix_interview_sessions_user_id_updated_at"),
        "interview_sessions",
        ["user_id", "updated_at"],
    )
    # At most one running interview per user; finished ones are kept for history.
    op.create_index(
        op.f("uq_interview_sessions_one_active"),
        "interview_sessions",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "daily_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("post_time", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("difficulty_mix", sa.JSON(), nullable=False),
        sa.Column("answer_window_minutes", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_subscriptions")),
        sa.UniqueConstraint(
            "platform",
            "workspace",
            "channel",
            name=op.f("uq_daily_subscriptions_platform_workspace_channel"),
        ),
    )

    op.create_table(
        "daily_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("question_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _timestamp("lease_until", nullable=True),
        sa.Column("message_id", sa.String(128), nullable=True),
        _timestamp("claimed_at"),
        _timestamp("posted_at", nullable=True),
        _timestamp("closes_at", nullable=True),
        _timestamp("revealed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_posts")),
        sa.UniqueConstraint(
            "platform",
            "workspace",
            "channel",
            "local_date",
            name=op.f("uq_daily_posts_platform_workspace_channel_local_date"),
        ),
    )


def downgrade() -> None:
    """Drop every table of the initial schema, dependents first."""
    op.drop_table("daily_posts")
    op.drop_table("daily_subscriptions")
    op.drop_index(op.f("uq_interview_sessions_one_active"), table_name="interview_sessions")
    op.drop_index(op.f("ix_interview_sessions_user_id_updated_at"), table_name="interview_sessions")
    op.drop_table("interview_sessions")
    op.drop_table("open_questions")
    op.drop_index(op.f("ix_question_views_user_id_shown_at"), table_name="question_views")
    op.drop_table("question_views")
    op.drop_index(op.f("ix_attempts_platform_workspace_created_at"), table_name="attempts")
    op.drop_index(op.f("ix_attempts_user_id_created_at"), table_name="attempts")
    op.drop_table("attempts")
    op.drop_table("users")
