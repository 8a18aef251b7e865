"""Personal data: removed workspaces await their purge, forget requests their confirmation.

workspace_removals records when a workspace or server removed the bot: its members' data is
deleted once the grace period (AWSQUIZ_REMOVED_WORKSPACE_GRACE_DAYS) has passed, unless it
comes back first. forget_requests holds a member's "forget me" for the few minutes its
confirmation may take. stored_replies gets an index by member, which forgetting one and
purging a workspace look them up by.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create workspace_removals and forget_requests; index stored_replies by member."""
    op.create_table(
        "workspace_removals",
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", name=op.f("pk_workspace_removals")),
    )
    op.create_table(
        "forget_requests",
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "workspace", "user_id", name=op.f("pk_forget_requests")
        ),
    )
    op.create_index(
        op.f("ix_stored_replies_platform_workspace_user_id"),
        "stored_replies",
        ["platform", "workspace", "user_id"],
    )


def downgrade() -> None:
    """Drop the index and the two tables."""
    op.drop_index(op.f("ix_stored_replies_platform_workspace_user_id"), table_name="stored_replies")
    op.drop_table("forget_requests")
    op.drop_table("workspace_removals")
