"""The INSERT construct with ON CONFLICT support for the engine's dialect."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import Base

UpsertInsert = sqlite.Insert | postgresql.Insert


def upsert_insert(engine: AsyncEngine, table: type[Base]) -> UpsertInsert:
    """Return an INSERT for `table` offering on_conflict_do_nothing/do_update on this dialect."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no ON CONFLICT support for dialect {engine.dialect.name!r}")
