"""Interview sessions carry a version, so two answers racing for one step count once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add interview_sessions.version, 0 for the sessions already stored."""
    op.add_column(
        "interview_sessions",
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    """Drop interview_sessions.version."""
    with op.batch_alter_table("interview_sessions") as batch:
        batch.drop_column("version")
