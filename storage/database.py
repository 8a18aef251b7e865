"""Database URLs, async engines and schema migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from platformdirs import user_data_dir
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.engine.errors import SettingsError
from storage.outages import CONNECT_TIMEOUT_SECONDS
from storage.tables import SLACK_SDK_TABLES

SETTING_NAME: Final = "DATABASE_URL"
APP_NAME: Final = "awsquiz"
DATABASE_FILE_NAME: Final = "awsquiz.db"
# How long a SQLite writer waits for the write lock before failing: with several processes
# (the bot, terminal sessions) answering on one file, writers queue behind each other rather
# than erroring.
SQLITE_BUSY_TIMEOUT_MS: Final = 15_000
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY: Final = 0x61777371  # "awsq": serialises concurrent start-ups on PostgreSQL
ASYNC_DRIVERS: Final[dict[str, str]] = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
BACKEND_ALIASES: Final[dict[str, str]] = {"postgres": "postgresql"}
URL_EXAMPLES: Final = "sqlite:///path/to/awsquiz.db or postgresql://user:password@host:5432/dbname"


SQLITE_IMMEDIATE: Final = "awsquiz_sqlite_immediate"
"""Execution option: begin SQLite transactions with BEGIN IMMEDIATE (see `for_writes`)."""


def default_database_url() -> str:
    """Return the URL of the local SQLite file in the user's data directory, creating it."""
    directory = Path(user_data_dir(APP_NAME))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{directory / DATABASE_FILE_NAME}"


def parse_database_url(raw: str) -> URL:
    """Parse a database URL and point it at the async driver, or raise SettingsError."""
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as error:
        # The raw value may hold a password: describe the problem, do not echo the value.
        raise SettingsError(SETTING_NAME, f"not a database URL; expected {URL_EXAMPLES}") from error
    backend, _, driver = url.drivername.partition("+")
    backend = BACKEND_ALIASES.get(backend, backend)
    async_driver = ASYNC_DRIVERS.get(backend)
    if async_driver is None:
        raise SettingsError(
            SETTING_NAME,
            f"unsupported database {backend!r}; use SQLite or PostgreSQL ({URL_EXAMPLES})",
        )
    if driver not in ("", async_driver):
        raise SettingsError(
            SETTING_NAME,
            f"driver {driver!r} is not supported for {backend}; "
            f"leave it out or use {backend}+{async_driver}",
        )
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        # An in-memory database is private to one pooled connection: tables would vanish.
        raise SettingsError(SETTING_NAME, "SQLite needs a file path, e.g. sqlite:///awsquiz.db")
    return url.set(drivername=f"{backend}+{async_driver}")


def where(url: URL) -> str:
    """Where a database lives, for messages: host and port or file, never the password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    port = f":{url.port}" if url.port else ""
    return f"{url.host or 'localhost'}{port}/{url.database or ''}"


def create_engine(url: str) -> AsyncEngine:
    """Create an async engine for a SQLite or PostgreSQL URL, tuned for concurrent use."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(str(parsed.database)).expanduser().parent
        if not folder.is_dir():
            # SQLite would fail on first use, deep in a driver thread; say it plainly now.
            raise SettingsError(
                SETTING_NAME, f"the folder {folder} for the SQLite file does not exist"
            )
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
        return engine
    # The bot holds connections for days; a server restart must not surface as an error. A
    # connection attempt gives up in seconds, not asyncpg's minute (see storage.outages).
    return create_async_engine(
        parsed, pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver: it would BEGIN lazily, only before DML, which
    # leaves DDL (migrations) outside transactions. `_begin_sqlite_transaction` issues BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout comes first: switching a new file to WAL takes a lock too, and
        # processes starting together on one file must wait for it, not fail.
        # WAL lets readers work while one writer writes; SQLite leaves foreign keys off unless
        # asked per connection. In WAL mode, synchronous=NORMAL is still corruption-safe and
        # skips an fsync per commit (a power cut may lose the last commits, never the database).
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A deferred BEGIN takes no lock; a transaction that read first must then upgrade its read
    # snapshot to the write lock, and SQLite refuses that at once ("database is locked", no
    # busy wait) whenever another connection writes. BEGIN IMMEDIATE waits for the write lock
    # up front, under the busy timeout. Reads stay deferred: in WAL mode they never wait.
    immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def for_writes(engine: AsyncEngine) -> AsyncEngine:
    """The engine for write transactions: on SQLite they take the write lock when they begin,
    so they wait their turn behind other processes' writers (PostgreSQL ignores the option).
    """
    return engine.execution_options(**{SQLITE_IMMEDIATE: True})


def described_by_base(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """Alembic `include_name` hook: compare only what Base.metadata describes, not slack_sdk's."""
    return not (type_ == "table" and name in SLACK_SDK_TABLES)


def alembic_config() -> Config:
    """Return an Alembic configuration for the bundled migrations; no alembic.ini needed."""
    config = Config()
    # ConfigParser interpolates '%', so a path containing one must escape it.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


async def upgrade(url: str) -> None:
    """Migrate the database at `url` to the newest schema."""
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Migrate the database behind `engine` to the newest schema, in one transaction.

    Processes starting together on one database migrate it one at a time: each holds the
    write lock (SQLite) or an advisory lock (PostgreSQL) from the moment it reads the schema
    version, so the later ones find it up to date and change nothing.
    """
    async with for_writes(engine).begin() as connection:
        await connection.run_sync(_upgrade_to_head)


def _upgrade_to_head(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two bot processes starting together would both try to create the tables.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    config = alembic_config()
    # env.py runs the migrations on this connection instead of opening its own engine, which
    # is what lets an upgrade run from inside an already running event loop.
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
