"""slack_sdk's SQLAlchemy installation store with its tokens sealed at rest, found by workspace.

The library's own queries run unchanged: its token columns get a column type that encrypts
every value bound to them and decrypts every value read (`SealedToken`), so each save, update
and look-up it makes (Bolt's authorisation, the OAuth flow, token rotation, the revocation
listeners) goes through the vault without copying any of its logic.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack.token_vault import Sealing, TokenVault, UnreadableTokenError

BOT_TOKEN_COLUMNS: Final = ("bot_token", "bot_refresh_token")
INSTALLATION_TOKEN_COLUMNS: Final = (*BOT_TOKEN_COLUMNS, "user_token", "user_refresh_token")
"""The secrets in slack_sdk's bots and installations tables (everything else is ids and names)."""

log = logging.getLogger(__name__)


class SealedToken(sa.TypeDecorator[str]):
    """A token column as stored: Fernet ciphertext in the database, the token in Python."""

    impl = sa.Text
    cache_ok = True  # the vault and column name are fixed for the store's life

    def __init__(self, vault: TokenVault, column: str) -> None:
        super().__init__()
        self.vault = vault
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else self.vault.seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Decrypt on the way out; a token no configured key opens reads as missing."""
        if value is None:
            return None
        try:
            return self.vault.open(value)
        except UnreadableTokenError:
            # The workspace then reads as not installed (a reinstall stores a new token).
            log.error(
                "a Slack token in %s cannot be decrypted with any key of AWSQUIZ_TOKEN_KEYS "
                "(was a key removed before `awsquiz slack encrypt-tokens` re-encrypted it?)",
                self.column,
            )
            return None


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """Installations and bots in our database, their tokens encrypted with `vault`.

    Look-ups (one per request) run on `engine`. Saves and deletes run on `writes` when it is
    given: slack_sdk's save reads then writes in one transaction, and on SQLite two of those at
    once (requests refreshing the same token) deadlock unless each takes the write lock when it
    begins, which is what `writes` does (reads must not queue behind writers, so they stay off it).
    """

    def __init__(
        self,
        *,
        client_id: str,
        engine: AsyncEngine,
        vault: TokenVault,
        bots_table_name: str,
        installations_table_name: str,
        writes: AsyncEngine | None = None,
    ) -> None:
        super().__init__(
            client_id=client_id,
            engine=engine,
            bots_table_name=bots_table_name,
            installations_table_name=installations_table_name,
        )
        # The library builds its tables in classmethods that cannot be handed the vault; the
        # column types are swapped right after, before any statement is built on them.
        for table, columns in (
            (self.bots, BOT_TOKEN_COLUMNS),
            (self.installations, INSTALLATION_TOKEN_COLUMNS),
        ):
            for name in columns:
                table.c[name].type = SealedToken(vault, f"{table.name}.{name}")
        self._writer = (
            None
            if writes is None
            else SealedInstallationStore(
                client_id=client_id,
                engine=writes,
                vault=vault,
                bots_table_name=bots_table_name,
                installations_table_name=installations_table_name,
            )
        )

    async def async_save(self, installation: Installation) -> None:
        """Save an installation and its bot (on the write engine, if there is one)."""
        if self._writer is None:
            await super().async_save(installation)
        else:
            await self._writer.async_save(installation)

    async def async_save_bot(self, bot: Bot) -> None:
        """Save a bot (on the write engine, if there is one)."""
        if self._writer is None:
            await super().async_save_bot(bot)
        else:
            await self._writer.async_save_bot(bot)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete a workspace's or org's bots (on the write engine, if there is one)."""
        if self._writer is None:
            await super().async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        else:
            await self._writer.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Delete a workspace's or org's installations (on the write engine, if there is one)."""
        if self._writer is None:
            await super().async_delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
        else:
            await self._writer.async_delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )

    async def async_find_team_installation(self, team_id: str) -> Installation | None:
        """The newest installation of workspace `team_id` itself, standalone or in a Grid org.

        Bolt finds an installation by the request's enterprise and team ids; a daily post knows
        only the team. A standalone workspace (no enterprise) is the common case and one
        indexed query; a Grid workspace install is found by the enterprise its row records.
        An org-wide install has no row for the team (slack_sdk stores its team as None).
        """
        found = await self.async_find_installation(enterprise_id=None, team_id=team_id)
        if found is not None:
            return found
        c = self.installations.c
        newest_with_an_enterprise = (
            sa.select(c.enterprise_id)
            .where(
                c.client_id == self.client_id,
                c.team_id == team_id,
                c.enterprise_id.is_not(None),
            )
            .order_by(sa.desc(c.installed_at))
            .limit(1)
        )
        async with self.engine.connect() as connection:
            enterprise_id = (await connection.execute(newest_with_an_enterprise)).scalar()
        if enterprise_id is None:
            return None
        return await self.async_find_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def async_org_wide_enterprises(self) -> list[str]:
        """The Enterprise Grid orgs that installed the app org-wide, in id order."""
        c = self.installations.c
        query = (
            sa.select(c.enterprise_id)
            .where(
                c.client_id == self.client_id,
                c.team_id.is_(None),
                c.enterprise_id.is_not(None),
                c.is_enterprise_install == sa.true(),
            )
            .distinct()
            .order_by(c.enterprise_id)
        )
        async with self.engine.connect() as connection:
            found: list[str | None] = list((await connection.execute(query)).scalars())
        return [str(enterprise_id) for enterprise_id in found]


@dataclass(frozen=True, slots=True)
class ResealReport:
    """What `reseal_tokens` found and did, counted in token values."""

    encrypted: int
    """Plaintext tokens (written before encryption) now encrypted."""
    reencrypted: int
    """Tokens of an older key now encrypted with the first key."""
    current: int
    """Tokens already encrypted with the first key."""
    unreadable: int
    """Tokens no configured key decrypts, left as they are."""


async def reseal_tokens(
    engine: AsyncEngine, tables: Mapping[str, tuple[str, ...]], vault: TokenVault
) -> ResealReport:
    """Bring every token of `tables` (name: token columns) under the vault's first key.

    Every row, whatever client id wrote it: plaintext is never left behind. Each row is
    updated only if its tokens are still the ones read (compare-and-set), so a refresh that
    Bolt saves meanwhile, or another process doing the same at its start, is never undone.
    """
    seen: Counter[Sealing] = Counter()
    async with engine.begin() as connection:
        for name, columns in tables.items():
            raw = sa.table(name, sa.column("id"), *(sa.column(column) for column in columns))
            rows = (await connection.execute(sa.select(raw))).mappings().all()
            for row in rows:
                changes: dict[str, str] = {}
                for column in columns:
                    stored = row[column]
                    if stored is None:
                        continue
                    sealing = vault.sealing(stored)
                    seen[sealing] += 1
                    if sealing in (Sealing.PLAINTEXT, Sealing.OLDER_KEY):
                        changes[column] = vault.reseal(stored)
                if changes:
                    unchanged_since_read = [raw.c[column] == row[column] for column in changes]
                    await connection.execute(
                        sa.update(raw)
                        .where(raw.c.id == row["id"], *unchanged_since_read)
                        .values(changes)
                    )
    if seen[Sealing.UNREADABLE]:
        log.error(
            "%d Slack tokens cannot be decrypted with any key of AWSQUIZ_TOKEN_KEYS: their "
            "workspaces must install the app again",
            seen[Sealing.UNREADABLE],
        )
    return ResealReport(
        encrypted=seen[Sealing.PLAINTEXT],
        reencrypted=seen[Sealing.OLDER_KEY],
        current=seen[Sealing.CURRENT],
        unreadable=seen[Sealing.UNREADABLE],
    )
