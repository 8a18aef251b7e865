"""Daily question: post errors, the post a daily answer belongs to, indexes for the sweeps.

Revision ID: 0002
Revises: 0001
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the post states as of this revision (see 0001 on why migrations freeze enums).
POST_STATES = "'claimed', 'posted', 'failed', 'revealing', 'revealed'"


def upgrade() -> None:
    """Add daily_posts.error, attempts.daily_post_id with its one-answer key, sweep indexes."""
    # daily_posts first: on SQLite a batch may rebuild the table (drop and rename), which must
    # happen before attempts references it, or the drop would null every attempt's post id.
    with op.batch_alter_table("daily_posts") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.create_check_constraint(op.f("ck_daily_posts_state"), f"state IN ({POST_STATES})")
        batch.create_index(op.f("ix_daily_posts_state_lease_until"), ["state", "lease_until"])
        batch.create_index(op.f("ix_daily_posts_state_closes_at"), ["state", "closes_at"])

    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("daily_post_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_attempts_daily_post_id_daily_posts"),
            "daily_posts",
            ["daily_post_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(
            op.f("uq_attempts_daily_post_id_user_id"), ["daily_post_id", "user_id"]
        )


def downgrade() -> None:
    """Undo 0002; daily answers stay as plain attempts, post errors are lost."""
    # attempts first: it must stop referencing daily_posts before that table is rebuilt.
    with op.batch_alter_table("attempts") as batch:
        batch.drop_constraint(op.f("uq_attempts_daily_post_id_user_id"), type_="unique")
        batch.drop_constraint(op.f("fk_attempts_daily_post_id_daily_posts"), type_="foreignkey")
        batch.drop_column("daily_post_id")

    with op.batch_alter_table("daily_posts") as batch:
        batch.drop_index(op.f("ix_daily_posts_state_closes_at"))
        batch.drop_index(op.f("ix_daily_posts_state_lease_until"))
        batch.drop_constraint(op.f("ck_daily_posts_state"), type_="check")
        batch.drop_column("error")
