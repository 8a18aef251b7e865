"""A loopback TCP proxy a test can cut: a database outage without stopping the shared server.

Clients connect to the proxy; it relays bytes to the real server. `cut()` drops every open
connection and refuses new ones (connection refused, as a stopped server does); `restore()`
accepts again. The server itself never notices, so other tests keep using it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

CHUNK: Final = 65536


class TcpProxy:
    """Relays 127.0.0.1:`port` to `target_host`:`target_port` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0
        """How many client connections the proxy accepted, ever."""
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TcpProxy]:
        """Serve until the block ends."""
        await self.restore()
        try:
            yield self
        finally:
            await self.cut()

    async def cut(self) -> None:
        """Close the listening socket and every relayed connection: the server is 'down'."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def restore(self) -> None:
        """Accept connections again, on the same port once one was chosen."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        self.connections += 1
        upstream_writer = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            async with asyncio.TaskGroup() as relaying:
                relaying.create_task(_pump(reader, upstream_writer))
                relaying.create_task(_pump(upstream_reader, writer))
        except (OSError, ExceptionGroup, asyncio.CancelledError):
            pass  # either side went away, or the proxy was cut: close both ends
        finally:
            self._pipes.discard(task)
            for end in (writer, upstream_writer):
                if end is not None:
                    end.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await end.wait_closed()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while chunk := await source.read(CHUNK):
        sink.write(chunk)
        await sink.drain()
    raise ConnectionResetError("the other side closed")  # ends the pair: close both
