"""What Slack's request gate costs, and what it saves, in HTTP mode.

A bare Bolt app whose `/awsquiz` only acks is served twice on loopback in one process: behind
awsquiz's gate (`bot.adapters.slack.http.web_app`) and behind a plain handler that hands every
body straight to Bolt, as the app did before the gate. Both get the same requests, one at a
time from one client session, best of three passes:

- signed requests Bolt answers itself (url_verification, each unique; a command would time
  Bolt's wait for the listener's ack instead): requests/s, and the ratio gate / plain;
- unsigned junk (bad JSON, `[1]`, `payload=notjson`, non-UTF-8, a timestamp of `abc`):
  requests/s, status codes, and how many bytes of log it made at WARNING and above.

    python bench/slack_gate.py [--requests 2000]

A benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.adapters.slack import http
from bot.adapters.slack.app import web_client

# The Slack double is test infrastructure: import it from tests/, as bench/slack_load.py does.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackDouble,
    signed_headers,
)

PATH: Final = "/slack/events"
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
PASSES: Final = 3

Request = tuple[bytes, dict[str, str]]


class LogVolume(logging.Handler):
    """Counts the bytes the records at WARNING and above would write."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.bytes = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.bytes += len(self.format(record)) + 1


def bare_app(double: SlackDouble) -> AsyncApp:
    app = AsyncApp(client=web_client(BOT_TOKEN, double.api_url), signing_secret=SIGNING_SECRET)

    async def on_command(ack: Any) -> None:
        await ack()

    app.command("/awsquiz")(on_command)
    return app


def plain_web_app(app: AsyncApp) -> web.Application:
    """Every body straight to Bolt: the baseline."""

    async def dispatch(request: web.Request) -> web.Response:
        bolt = AsyncBoltRequest(
            body=await request.text(),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        return await to_aiohttp_response(await app.async_dispatch(bolt))

    application = web.Application()
    application.add_routes([web.post(PATH, dispatch)])
    return application


@asynccontextmanager
async def served(application: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(application, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    finally:
        await runner.cleanup()


def signed(count: int) -> list[Request]:
    requests = []
    for _ in range(count):
        challenge = uuid.uuid4().hex  # never the same body twice: the gate drops replays
        body = json.dumps({"type": "url_verification", "token": "t", "challenge": challenge})
        requests.append((body.encode(), signed_headers(SIGNING_SECRET, body, JSON)))
    return requests


def junk(count: int) -> list[Request]:
    kinds: list[Request] = [
        (b"{nope", {"Content-Type": JSON}),
        (b"[1]", {"Content-Type": JSON}),
        (b"payload=notjson", {"Content-Type": FORM}),
        (b"\xff\xfepayload=\xc3(", {"Content-Type": FORM}),
        (b"text=x", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
    ]
    return [kinds[n % len(kinds)] for n in range(count)]


async def run(url: str, requests: Sequence[Request]) -> tuple[float, Counter[int]]:
    """Send the requests one after another; return requests/s and the status codes."""
    statuses: Counter[int] = Counter()
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for body, headers in requests:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
        elapsed = time.perf_counter() - started
    return len(requests) / elapsed, statuses


async def measure(count: int) -> None:
    volume = LogVolume()
    logging.getLogger().addHandler(volume)
    async with SlackDouble() as double:
        app = bare_app(double)
        async with (
            served(http.web_app(app, PATH)) as gated,
            served(plain_web_app(app)) as plain,
        ):
            for label, make in (("signed", signed), ("unsigned junk", junk)):
                best = dict.fromkeys(("gate", "plain"), 0.0)
                logged = dict.fromkeys(("gate", "plain"), 0)
                codes: dict[str, Counter[int]] = {"gate": Counter(), "plain": Counter()}
                for _ in range(PASSES):  # interleaved, so neither gets the warmer machine
                    for name, url in (("gate", gated), ("plain", plain)):
                        before = volume.bytes
                        rate, statuses = await run(url, make(count))
                        best[name] = max(best[name], rate)
                        logged[name] += volume.bytes - before
                        codes[name] += statuses
                print(f"{label} ({count} a pass, best of {PASSES}; log: all passes):")
                for name in best:
                    shown = ", ".join(f"{n}x{code}" for code, n in sorted(codes[name].items()))
                    print(
                        f"  {name:5} {best[name]:8.0f} requests/s  [{shown}]"
                        f"  log {logged[name]:,} bytes"
                    )
                print(f"  gate / plain throughput: {best['gate'] / best['plain']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.requests))


if __name__ == "__main__":
    main()
