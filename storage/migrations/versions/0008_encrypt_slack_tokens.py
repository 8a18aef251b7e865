"""Slack tokens encrypted at rest: room in slack_sdk's token columns for the ciphertext.

slack_sdk's token columns are VARCHAR(200). A rotating token and its refresh token run to
about 180 characters, and Fernet's ciphertext of one is about 330, which PostgreSQL would
refuse: the six token columns become TEXT.

The tokens themselves are encrypted by the application, not here: the key is a setting
(AWSQUIZ_TOKEN_KEYS, from the environment or .env), which a migration does not read, and
migrations also run for terminal commands that have nothing to do with Slack and must not
need it. Plaintext rows stay readable until they are encrypted, which an OAuth start does
before it serves a request (OAuth refuses to start without the key), and so does
`awsquiz slack encrypt-tokens`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTALLATIONS: Final = "slack_installations"
BOTS: Final = "slack_bots"
BOT_TOKENS: Final = ("bot_token", "bot_refresh_token")
TOKEN_COLUMNS: Final = {
    BOTS: BOT_TOKENS,
    INSTALLATIONS: (*BOT_TOKENS, "user_token", "user_refresh_token"),
}
LIBRARY_TOKEN_TYPE: Final = sa.String(200)
SEALED_PREFIX: Final = "gAAAAA"  # every Fernet token starts so; no Slack token does


def upgrade() -> None:
    """Widen the token columns of slack_bots and slack_installations to TEXT."""
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column,
                    existing_type=LIBRARY_TOKEN_TYPE,
                    type_=sa.Text(),
                    existing_nullable=True,
                )


def downgrade() -> None:
    """Narrow the token columns back, unless they hold encrypted tokens.

    Code before 0008 can read neither an encrypted token nor one longer than 200 characters:
    such rows would only break its installs, and PostgreSQL cannot narrow around them.
    """
    connection = op.get_bind()
    for table, columns in TOKEN_COLUMNS.items():
        checked = sa.table(table, *(sa.column(column) for column in columns))
        unreadable_before_0008 = sa.or_(
            *(
                sa.or_(
                    checked.c[column].startswith(SEALED_PREFIX),
                    sa.func.length(checked.c[column]) > LIBRARY_TOKEN_TYPE.length,
                )
                for column in columns
            )
        )
        found = connection.execute(
            sa.select(sa.func.count()).select_from(checked).where(unreadable_before_0008)
        ).scalar_one()
        if found:
            raise RuntimeError(
                f"{table} holds {found} encrypted or long tokens, which awsquiz before "
                f"migration 0008 cannot use. Delete those rows (the workspaces then install "
                f"the app again) to downgrade, or stay on this version."
            )
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=LIBRARY_TOKEN_TYPE,
                    existing_nullable=True,
                )
