"""Delivered platform events, so a retried delivery is handled once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create delivered_events with its (platform, event_id) key."""
    op.create_table(
        "delivered_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivered_events")),
        sa.UniqueConstraint(
            "platform", "event_id", name=op.f("uq_delivered_events_platform_event_id")
        ),
    )
    op.create_index(op.f("ix_delivered_events_received_at"), "delivered_events", ["received_at"])


def downgrade() -> None:
    """Drop delivered_events."""
    op.drop_index(op.f("ix_delivered_events_received_at"), table_name="delivered_events")
    op.drop_table("delivered_events")
