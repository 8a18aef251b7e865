"""Shared fixtures: a database per test (SQLite file and, when configured, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from helpers import FixedClock
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import topic_nicknames
from bot.engine.catalog import Catalog
from content.loader import load_catalog, merge_packs, seed_document
from storage import SqlStore, open_store
from storage.database import parse_database_url

TEST_DATABASE_URL_ENV: Final = "TEST_DATABASE_URL"
SCRATCH_DATABASE_PREFIX: Final = "awsquiz_test_"
"""A Monday morning: where the `clock` fixture starts."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty database of its own for this test: a SQLite file or a fresh PostgreSQL db.

    On PostgreSQL every test gets a newly created database (dropped afterwards), so the URL
    alone isolates it, alembic_version included, and parallel runs cannot collide.
    """
    if request.param == "sqlite":
        # A file, never :memory: (an in-memory database is private to one pooled connection).
        yield f"sqlite+aiosqlite:///{tmp_path / 'awsquiz.db'}"
        return
    server_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server_url:
        pytest.skip(
            f"{TEST_DATABASE_URL_ENV} is not set "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    async for url in _scratch_postgres_database(server_url):
        yield url


async def _scratch_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create a uniquely named database on the server, yield its URL, then drop it."""
    server = parse_database_url(server_url)
    name = f"{SCRATCH_DATABASE_PREFIX}{uuid.uuid4().hex}"
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                # FORCE ends connections a failing test may have leaked.
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    """A migrated SqlStore on this test's database, closed afterwards."""
    opened = await open_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def clock() -> FixedClock:
    """A fixed clock starting at CLOCK_START."""
    return FixedClock()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The seed document as parsed, with the AWS nicknames, without its rubric overlay: the
    engine and adapter tests pin its wording, so the answer key's growth does not move them.
    """
    catalog, _ = merge_packs([seed_document()], topic_nicknames())
    return catalog


@pytest.fixture(scope="session")
def shipped_catalog() -> Catalog:
    """The shipped default pack with its rubrics and the AWS nicknames, as the app loads it."""
    return load_catalog((), topic_nicknames())
