"""What operators ask a running awsquiz: is it alive, is it ready, and its metrics.

- `GET /healthz`: 200 while the process serves HTTP at all (a liveness probe).
- `GET /readyz`: 200 when the database answers `SELECT 1` within a second and every
  configured chat platform is connected; else 503. Either way the JSON body says each part's
  state, e.g. `{"ready": false, "database": "ok", "slack": "not connected"}`.
- `GET /metrics`: Prometheus's text format (see `bot.metrics`).

In Slack's HTTP mode they are served beside `/slack/events` on `$PORT`; otherwise, when
`AWSQUIZ_METRICS_PORT` is set, by a small server of their own (`serve`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Final

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import DailyService, Outcome

HEALTH_PATH: Final = "/healthz"
READY_PATH: Final = "/readyz"
METRICS_PATH: Final = "/metrics"
DATABASE_TIMEOUT_SECONDS: Final = 1.0
OK: Final = "ok"
NOT_CONNECTED: Final = "not connected"
DATABASE_NOT_OPEN: Final = "not open yet"

Ping = Callable[[], Coroutine[Any, Any, None]]
"""Asks the database something trivial; raises when it cannot answer."""
Probe = Callable[[], Awaitable[bool]]
"""Says whether a platform is connected right now."""

log = logging.getLogger(__name__)


def database_ping(engine: AsyncEngine) -> Ping:
    """`SELECT 1` on a connection of `engine`'s pool."""

    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return ping


def observe(engine: AsyncEngine, daily: DailyService, readiness: Readiness) -> None:
    """Count what a running process does into `bot.metrics`, and let `readiness` ping its
    database: statements on `engine` are timed, and each daily post's outcome is counted."""
    metrics.time_statements(engine)
    if _count_daily_post not in daily.outcome_listeners:
        daily.outcome_listeners.append(_count_daily_post)
    readiness.use_database(database_ping(engine))


def _count_daily_post(channel: ChannelRef, outcome: Outcome) -> None:
    metrics.daily_post(channel.platform, outcome.value)


class Readiness:
    """The parts `/readyz` checks: the database, and each configured platform's connection.

    The database is not ready until `use_database` gives its ping (the store is opening), and a
    platform until its runner `watch`es it with a probe (it is still starting). A slow ping is
    not cancelled when it runs out of time (cancelling a driver mid statement can leave its
    connection unable to close): the next check waits for it instead of opening another.
    """

    def __init__(
        self, platforms: Iterable[str] = (), *, timeout: float = DATABASE_TIMEOUT_SECONDS
    ) -> None:
        self._platforms = tuple(platforms)
        self._timeout = timeout
        self._ping: Ping | None = None
        self._probes: dict[str, Probe] = {}
        self._pinging: asyncio.Task[None] | None = None

    def use_database(self, ping: Ping) -> None:
        """From now on the database is as ready as `ping` says."""
        self._ping = ping

    def watch(self, platform: str, probe: Probe) -> None:
        """From now on `platform` is as ready as `probe` says."""
        self._probes[platform] = probe

    async def check(self) -> dict[str, str]:
        """Each part's state: "ok", or why it is not ready."""
        parts = {"database": await self._database()}
        for platform in self._platforms:
            parts[platform] = await self._platform(platform)
        return parts

    async def _database(self) -> str:
        if self._ping is None:
            return DATABASE_NOT_OPEN
        if self._pinging is None or self._pinging.done():
            self._pinging = asyncio.create_task(self._ping(), name="readyz-database")
            # A ping that fails after its check gave up is read here, not reported as lost.
            self._pinging.add_done_callback(_read_outcome)
        try:
            await asyncio.wait_for(asyncio.shield(self._pinging), self._timeout)
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as error:  # what a database says when down varies by driver
            return f"unreachable ({type(error).__name__})"
        return OK

    async def _platform(self, platform: str) -> str:
        probe = self._probes.get(platform)
        try:
            connected = probe is not None and await probe()
        except Exception as error:
            log.warning("readiness probe of %s failed: %r", platform, error)
            connected = False
        return OK if connected else NOT_CONNECTED


def _read_outcome(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


def routes(readiness: Readiness | None) -> list[web.RouteDef]:
    """The operators' routes; without `readiness`, `/readyz` checks nothing and says ready."""

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def ready(_: web.Request) -> web.Response:
        parts = await readiness.check() if readiness is not None else {}
        ok = all(state == OK for state in parts.values())
        return web.json_response({"ready": ok, **parts}, status=200 if ok else 503)

    async def exposition(_: web.Request) -> web.Response:
        # CONTENT_TYPE carries its own charset, which aiohttp wants given apart.
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    return [
        web.get(HEALTH_PATH, health),
        web.get(READY_PATH, ready),
        web.get(METRICS_PATH, exposition),
    ]


async def serve(port: int, readiness: Readiness, stop: asyncio.Event) -> None:
    """Serve the operators' routes on `port` until `stop` is set."""
    application = web.Application()
    application.add_routes(routes(readiness))
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, port=port).start()
        log.info("health and metrics on port %d", port)
        await stop.wait()
    finally:
        await runner.cleanup()
