"""Run the Slack app until stopped: Socket Mode when there is an app token, else HTTP mode.

Each mode tells `watch` how to know it is connected, for the operators' readiness check:
Socket Mode while its websocket to Slack is up, HTTP mode while it listens on its port. HTTP
mode also serves the operators' routes (health, readiness, metrics) on the same port.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack import http
from bot.adapters.slack.app import EVENTS_PATH, SlackMode

Probe = Callable[[], Awaitable[bool]]
"""Says whether the app is connected to Slack right now."""
Watch = Callable[[Probe], None]
"""Takes the probe once the app has started connecting."""

log = logging.getLogger(__name__)


async def serve(
    app: AsyncApp,
    mode: SlackMode,
    port: int,
    stop: asyncio.Event,
    *,
    routes: Iterable[web.AbstractRouteDef] = (),
    watch: Watch | None = None,
) -> None:
    """Run until `stop` is set: Socket Mode when there is an app token, else HTTP on `port`
    with `routes` beside Slack's."""
    if mode.app_token:
        await serve_socket_mode(app, mode.app_token, stop, watch)
    else:
        await serve_http(app, port, stop, routes, watch)


async def serve_socket_mode(
    app: AsyncApp, app_token: str, stop: asyncio.Event, watch: Watch | None = None
) -> None:
    """Hold a Socket Mode connection (slack_sdk reconnects it) until `stop` is set."""
    handler = AsyncSocketModeHandler(app, app_token=app_token)
    if watch is not None:
        watch(handler.client.is_connected)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in Bolt
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        # close_async() cancels the client's tasks without awaiting them; let them finish.
        client = handler.client
        tasks = (client.message_processor, client.current_session_monitor, client.message_receiver)
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)


async def serve_http(
    app: AsyncApp,
    port: int,
    stop: asyncio.Event,
    routes: Iterable[web.AbstractRouteDef] = (),
    watch: Watch | None = None,
) -> None:
    """Listen on `port` for Slack's requests (and `routes`) until `stop` is set."""
    runner = web.AppRunner(http.web_app(app, EVENTS_PATH, extra_routes=routes))
    await runner.setup()
    listening = False

    async def is_listening() -> bool:
        return listening

    if watch is not None:
        watch(is_listening)
    try:
        await web.TCPSite(runner, port=port).start()
        listening = True
        await stop.wait()
    finally:
        listening = False
        await runner.cleanup()
