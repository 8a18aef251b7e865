"""Slack OAuth: the installation and state tables of slack_sdk's SQLAlchemy stores.

The tables are slack_sdk's (`AsyncSQLAlchemyInstallationStore`, `AsyncSQLAlchemyOAuthStateStore`),
written out here by hand as of slack-sdk 3.48 rather than built from the library's metadata at
run time: a migration must create the same schema forever, and a later slack_sdk that adds a
column must show up as a failing schema test and a new revision, not as a silently different
0004 on new databases only. The library's columns, types and index names are kept exactly
(timestamps are naive UTC, as the library writes them), because its queries are what run on
them; only the primary keys take our naming convention (pk_<table>), which names nothing the
library refers to.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False)


def _ids_and_team() -> list[sa.Column[str]]:
    """The columns that open both installations and bots, in the library's order."""
    return [
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=True),
        sa.Column("enterprise_name", sa.String(200), nullable=True),
    ]


def _bot_token_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("bot_token", sa.String(200), nullable=True),
        sa.Column("bot_id", sa.String(32), nullable=True),
        sa.Column("bot_user_id", sa.String(32), nullable=True),
        sa.Column("bot_scopes", sa.String(1000), nullable=True),
        sa.Column("bot_refresh_token", sa.String(200), nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    """Create slack_installations, slack_bots and slack_oauth_states with their indexes."""
    op.create_table(
        INSTALLATIONS,
        _id(),
        *_ids_and_team(),
        sa.Column("enterprise_url", sa.String(200), nullable=True),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("team_name", sa.String(200), nullable=True),
        *_bot_token_columns(),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_token", sa.String(200), nullable=True),
        sa.Column("user_scopes", sa.String(1000), nullable=True),
        sa.Column("user_refresh_token", sa.String(200), nullable=True),
        sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("incoming_webhook_url", sa.String(200), nullable=True),
        sa.Column("incoming_webhook_channel", sa.String(200), nullable=True),
        sa.Column("incoming_webhook_channel_id", sa.String(200), nullable=True),
        sa.Column("incoming_webhook_configuration_url", sa.String(200), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.String(32), nullable=True),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        f"{INSTALLATIONS}_idx",
        INSTALLATIONS,
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        BOTS,
        _id(),
        *_ids_and_team(),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("team_name", sa.String(200), nullable=True),
        *_bot_token_columns(),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
    )
    op.create_index(f"{BOTS}_idx", BOTS, ["client_id", "enterprise_id", "team_id", "installed_at"])
    op.create_table(
        OAUTH_STATES,
        _id(),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop the three slack_sdk tables (every stored installation goes with them)."""
    op.drop_table(OAUTH_STATES)
    op.drop_index(f"{BOTS}_idx", table_name=BOTS)
    op.drop_table(BOTS)
    op.drop_index(f"{INSTALLATIONS}_idx", table_name=INSTALLATIONS)
    op.drop_table(INSTALLATIONS)
