"""A database that stops answering: connections retried briefly, then a plain "try again".

Every session the store opens checks its connection out before any work is done, so a
database that is down fails there, where retrying is safe: a few tries within about two
seconds, which rides out a restart. Past that, and for a connection lost in the middle of a
transaction (whose work was rolled back), the store raises `StorageUnavailableError`, which
the Tutor turns into the member's "I can't reach my database" reply. A stale pooled
connection is replaced on checkout (`pool_pre_ping`), so the first request after the
database returns already succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.engine.errors import StorageUnavailableError

CONNECT_RETRY_DELAYS: Final = (0.1, 0.3, 0.6, 1.0)
"""Seconds between tries to get a connection: all of them fit in a chat platform's deadline."""
CONNECT_TIMEOUT_SECONDS: Final = 2.0
"""How long one connection attempt may take (asyncpg's default is a minute)."""
LOG_EVERY_SECONDS: Final = 30.0

CONNECTION_ERRORS: Final = (OSError, TimeoutError, DBAPIError, StorageUnavailableError)
"""What checking a connection out raises when the database cannot be reached: socket errors
as asyncpg raises them, its timeout, and the driver's own errors (the server starting up)."""

log = logging.getLogger(__name__)


class OutageLog:
    """Logs an outage once per LOG_EVERY_SECONDS, not once per request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0

    def failed(self, error: BaseException) -> None:
        """Note a failure; log it unless one was logged a moment ago."""
        now = self._clock()
        if self._last is not None and now - self._last < LOG_EVERY_SECONDS:
            self._suppressed += 1
            return
        more = f" ({self._suppressed} more since the last report)" if self._suppressed else ""
        log.warning("the database cannot be reached: %r%s", error, more)
        self._last, self._suppressed = now, 0


def watch_for_disconnects(engine: AsyncEngine, outages: OutageLog) -> None:
    """Turn a connection lost mid-statement into StorageUnavailableError (the transaction is
    rolled back by the session; the pool drops the dead connection)."""

    def translate(context: ExceptionContext) -> None:
        if context.is_disconnect:
            outages.failed(context.original_exception)
            raise StorageUnavailableError() from context.original_exception

    event.listen(engine.sync_engine, "handle_error", translate)


class GuardedSessions:
    """Sessions whose connection is checked out, with retries, before they are handed over."""

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        outages: OutageLog,
        delays: tuple[float, ...] = CONNECT_RETRY_DELAYS,
    ) -> None:
        self._factory = factory
        self._outages = outages
        self._delays = delays

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        """A session to read with (its transaction is rolled back when it closes)."""
        session = await self._connected()
        async with session:
            yield session

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block ends without an error."""
        session = await self._connected()
        async with session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def _connected(self) -> AsyncSession:
        """A new session holding its connection (and its transaction, begun)."""
        for delay in (*self._delays, None):
            session = self._factory()
            try:
                await session.connection()
            except CONNECTION_ERRORS as error:
                await session.close()
                self._outages.failed(error)
                if delay is None:
                    if isinstance(error, StorageUnavailableError):
                        raise
                    raise StorageUnavailableError() from error
                await asyncio.sleep(delay)
                continue
            return session
        raise AssertionError("unreachable: the last try raises")
