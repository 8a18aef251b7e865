"""Daily posts remember who claimed them and when they were first claimed.

A process that restarts takes its own earlier run's claims over at once, and whoever takes a
claim over first looks on the platform for what the earlier claimer may have posted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add daily_posts.first_claimed_at (from claimed_at for stored rows) and claimer."""
    first_claimed = sa.Column("first_claimed_at", sa.DateTime(timezone=True), nullable=True)
    op.add_column("daily_posts", first_claimed)
    op.add_column("daily_posts", sa.Column("claimer", sa.String(160), nullable=True))
    op.execute("UPDATE daily_posts SET first_claimed_at = claimed_at")


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("daily_posts") as batch:
        batch.drop_column("claimer")
        batch.drop_column("first_claimed_at")
