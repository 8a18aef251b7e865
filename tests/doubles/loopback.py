"""The loopback server under each platform double: listen on a free port, close cleanly."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web

SHUTDOWN_TIMEOUT: float = 1.0
"""A test that leaves a request hanging should not stall its teardown for aiohttp's 60 s."""


class LoopbackServer:
    """An aiohttp server on 127.0.0.1 and a port of the OS's choosing; subclasses add routes."""

    def __init__(self) -> None:
        self._open_sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the double's routes."""
        raise NotImplementedError

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        self.add_routes(app.router)
        self._runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Close open websockets from the server side, then stop listening."""
        for socket in list(self._open_sockets):
            await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """Root URL, `http://127.0.0.1:PORT`."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"
