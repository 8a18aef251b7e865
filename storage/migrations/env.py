"""Alembic environment: runs the migrations on a caller's connection or on its own engine."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from storage.database import create_engine, default_database_url, described_by_base, for_writes
from storage.tables import Base

target_metadata = Base.metadata


def _database_url() -> str:
    # Only for the `alembic` command line; the application passes a connection instead.
    configured = context.config.get_main_option("sqlalchemy.url")
    return configured or os.environ.get("DATABASE_URL") or default_database_url()


def _run_on(connection: Connection) -> None:
    # render_as_batch lets future ALTERs work on SQLite, which rebuilds tables to alter them.
    # described_by_base: autogenerate must not propose dropping slack_sdk's tables (0004).
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_name=described_by_base,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_own_engine() -> None:
    engine = create_engine(_database_url())
    try:
        # Like the application's upgrade: the write lock from the start, so that concurrent
        # upgrades of one SQLite file run one after another instead of failing.
        async with for_writes(engine).begin() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    if context.is_offline_mode():
        _run_offline()
        return
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run_on(connection)
    else:
        asyncio.run(_run_on_own_engine())


_run()
