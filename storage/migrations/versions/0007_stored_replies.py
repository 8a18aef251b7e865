"""Replies to DM messages are stored with the change they answer, and sent after.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create stored_replies."""
    op.create_table(
        "stored_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("replies", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_replies")),
        sa.UniqueConstraint(
            "platform", "event_id", name=op.f("uq_stored_replies_platform_event_id")
        ),
    )
    op.create_index(
        op.f("ix_stored_replies_platform_sent_at_created_at"),
        "stored_replies",
        ["platform", "sent_at", "created_at"],
    )


def downgrade() -> None:
    """Drop stored_replies."""
    op.drop_index(
        op.f("ix_stored_replies_platform_sent_at_created_at"), table_name="stored_replies"
    )
    op.drop_table("stored_replies")
