"""Persistence for awsquiz: the Store port on SQLAlchemy, with Alembic migrations."""

from storage.database import default_database_url, upgrade
from storage.store import SqlStore, open_store

__all__ = ["SqlStore", "default_database_url", "open_store", "upgrade"]
