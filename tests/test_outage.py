"""The database goes away under load: every request still gets an answer, nothing is lost, and
the first request after it returns succeeds.

PostgreSQL is reached through a loopback TCP proxy the test cuts (every connection dropped,
new ones refused, as a stopped server does) and restores: a real outage, seen by the real
asyncpg driver and SQLAlchemy pool, without stopping the server other tests use.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from conftest import TEST_DATABASE_URL_ENV, _scratch_postgres_database
from doubles.slack import SIGNING_SECRET, SlackDouble, post_slash_command, serve_bolt_http
from doubles.tcp_proxy import TcpProxy
from helpers import FixedClock

from bot.adapters.slack.app import SlackMode, web_client
from bot.app import Services, open_services
from bot.engine.model import UserRef
from bot.engine.reply import Tone
from bot.engine.tutor import Where
from bot.platforms import slack_app
from bot.settings import load_settings
from storage.database import parse_database_url

pytestmark = pytest.mark.postgres

ALICE = UserRef("slack", "T0AWSQUIZ", "U0ALICE", "alice")
CHANNEL = Where("C0STUDY")
UNREACHABLE = "I can't reach my database right now. Try again in a minute."


@dataclass
class Rig:
    services: Services
    proxy: TcpProxy


@pytest.fixture
async def rig(clock: FixedClock) -> AsyncIterator[Rig]:
    server_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server_url:
        pytest.skip(f"{TEST_DATABASE_URL_ENV} is not set")
    async for direct_url in _scratch_postgres_database(server_url):
        target = parse_database_url(direct_url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        async with proxy.running():
            proxied = target.set(host="127.0.0.1", port=proxy.port)
            settings = load_settings({"DATABASE_URL": proxied.render_as_string(False)})
            async with open_services(settings, clock=clock) as services:
                yield Rig(services, proxy)


async def test_an_answer_while_the_database_is_down_is_refused_plainly_and_kept(
    rig: Rig,
) -> None:
    tutor = rig.services.tutor
    asked = await tutor.ask(ALICE, topic="s3", difficulty=None, where=CHANNEL)
    question_id = asked.replies[0].question_id
    await rig.proxy.cut()

    refused = await tutor.answer(ALICE, "Objects in buckets, eleven nines.", where=CHANNEL)

    assert [(r.tone, r.text) for r in refused.replies] == [(Tone.ERROR, UNREACHABLE)]
    await rig.proxy.restore()
    graded = await tutor.answer(ALICE, "Objects in buckets, eleven nines.", where=CHANNEL)
    assert graded.replies[0].title.startswith("Score")  # the first request after: no error
    (attempt,) = await rig.services.store.attempts(ALICE)
    assert attempt.question_id == question_id  # the open question was kept through the outage


async def test_every_request_of_a_burst_across_an_outage_gets_a_reply(rig: Rig) -> None:
    tutor = rig.services.tutor
    members = [UserRef("slack", "T0AWSQUIZ", f"U{n:03d}") for n in range(40)]

    async def one(member: UserRef) -> tuple[str, ...]:
        """What the member saw: the ask's reply, then the answer's (a score, or an error)."""
        asked = await tutor.ask(member, topic=None, difficulty=None, where=CHANNEL)
        if asked.replies[0].text == UNREACHABLE:
            return (UNREACHABLE,)
        turn = await tutor.answer(member, "It depends on the workload.", where=CHANNEL)
        return tuple(r.title if r.score is not None else r.text for r in turn.replies)

    async def outage() -> None:
        await asyncio.sleep(0.05)
        await rig.proxy.cut()
        await asyncio.sleep(0.3)
        await rig.proxy.restore()

    results = await asyncio.gather(*(one(m) for m in members), outage(), return_exceptions=True)

    answers = results[:-1]
    assert not [r for r in answers if isinstance(r, BaseException)]  # each got a reply
    graded = [r for r in answers if isinstance(r, tuple) and r[0].startswith("Score")]
    refused = [r for r in answers if isinstance(r, tuple) and r == (UNREACHABLE,)]
    assert len(graded) + len(refused) == len(members)  # graded, or told to try again
    stored = [len(await rig.services.store.attempts(member)) for member in members]
    assert sum(stored) == len(graded)  # every grade shown was stored, and only those


async def test_a_slash_command_while_the_database_is_down_gets_the_reply_privately(
    rig: Rig,
) -> None:
    async with SlackDouble() as double:
        client = web_client("xoxb-test", double.api_url)
        mode = SlackMode(bot_token="xoxb-test", app_token=None, signing_secret=SIGNING_SECRET)
        settings = load_settings({})
        app = slack_app(rig.services, client, mode, settings)
        async with serve_bolt_http(app) as url:
            await rig.proxy.cut()
            status, _, _ = await post_slash_command(
                url, SIGNING_SECRET, text="stats", response_url=double.response_url
            )
            (response,) = await double.wait_for_responses(1)
    assert status == 200  # acked in time, before the database was asked
    assert UNREACHABLE in str(response.body)
    assert response.body.get("response_type", "ephemeral") == "ephemeral"
