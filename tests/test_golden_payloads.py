"""What every command sends, on Slack and on Discord, pinned as golden files.

A scripted session through the Tutor (a question, a hint, an answer, a skip, stats, the
leaderboard, topics, a mock interview to its summary, a daily schedule) on the seed pack, a
fixed clock and a seeded choice, rendered by each platform's renderer. A refactoring must
keep these byte for byte; a change on purpose is re-recorded with `UPDATE_GOLDEN=1 pytest
tests/test_golden_payloads.py` and shows in the diff.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FixedClock

from bot.adapters.discord import render as discord_render
from bot.adapters.discord.components import view_for
from bot.adapters.recording import RecordingAdapter
from bot.adapters.slack import render as slack_render
from bot.engine.catalog import Catalog
from bot.engine.daily.model import ChannelRef
from bot.engine.daily.service import DailyService
from bot.engine.grading import Grader
from bot.engine.interview import InterviewService
from bot.engine.model import UserRef
from bot.engine.quiz import QuizService
from bot.engine.reply import Reply
from bot.engine.tutor import Tutor, Where
from storage import SqlStore, open_store

GOLDEN = Path(__file__).parent / "golden"
INTERVIEW_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ALICE = UserRef("slack", "T1", "U1", "Alice <!channel>")
CHANNEL = Where("C1")
DM = Where("D1", direct=True)
ROOM = ChannelRef("slack", "T1", "C1")


class Everyone:
    """A Permissions port for an admin."""

    refusal = "Admins only."

    async def is_admin(self, user: UserRef) -> bool:
        return True


class Postable:
    """A ChannelAccess port for a channel the bot is in."""

    async def problem(self, channel: ChannelRef) -> str | None:
        return None


async def _session(tutor: Tutor, clock: FixedClock) -> dict[str, Reply]:
    """Every kind of reply a member meets, by name."""
    seen: dict[str, Reply] = {}
    asked = await tutor.ask(ALICE, topic="ecs", difficulty="basic", where=CHANNEL)
    seen["ask"] = asked.replies[0]
    seen["hint"] = (await tutor.hint(ALICE, where=CHANNEL)).replies[0]
    question = tutor.catalog.question(str(seen["ask"].question_id))
    seen["answer"] = (await tutor.answer(ALICE, question.reference, where=CHANNEL)).replies[0]
    await tutor.ask(ALICE, topic="s3", difficulty=None, where=CHANNEL)
    seen["skip"] = (await tutor.skip(ALICE, where=CHANNEL)).replies[0]
    seen["refusal"] = (await tutor.answer(ALICE, "again?", where=CHANNEL)).replies[0]
    seen["stats"] = (await tutor.stats(ALICE)).replies[0]
    seen["leaderboard"] = (await tutor.leaderboard(ALICE, period="all")).replies[0]
    seen["topics"] = tutor.topics().replies[0]
    started = await tutor.start_interview(ALICE, ["lambda"], 2)
    seen["interview_started"] = started.replies[0]
    seen["interview_intro"], seen["interview_question"] = started.direct
    answered = await tutor.message(ALICE, "Code that runs on events without servers.")
    seen["interview_grade"], seen["interview_next"] = answered.direct
    seen["interview_summary"] = (await tutor.message(ALICE, "stop")).direct[-1]
    subscribed = await tutor.daily_on(
        ROOM,
        actor=ALICE,
        post_time="09:00",
        timezone="Europe/Berlin",
        permissions=Everyone(),
        access=Postable(),
    )
    seen["daily_on"] = subscribed.replies[0]
    return seen


def _slack(reply: Reply) -> dict[str, Any]:
    return {"text": slack_render.fallback_text(reply), "blocks": slack_render.blocks_payload(reply)}


def _discord(reply: Reply) -> dict[str, Any]:
    view = view_for(reply)
    return {
        "embed": discord_render.embed(reply).to_dict(),
        "components": view.to_components() if view is not None else [],
    }


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """One SQLite file: the payloads do not depend on the database."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'golden.db'}")
    yield store
    await store.close()


async def test_every_reply_renders_as_recorded(
    catalog: Catalog, sqlite_store: SqlStore, clock: FixedClock
) -> None:
    quiz = QuizService(catalog, Grader(catalog.vocabulary()), sqlite_store, clock, random.Random(3))
    daily = DailyService(quiz, sqlite_store, {"slack": RecordingAdapter("slack")})
    tutor = Tutor(catalog, quiz, InterviewService(quiz), daily, sqlite_store)

    rendered = {
        (platform, name): render(reply)
        for name, reply in (await _session(tutor, clock)).items()
        for platform, render in (("slack", _slack), ("discord", _discord))
    }

    differing = []
    for (platform, name), payload in sorted(rendered.items()):
        path = GOLDEN / platform / f"{name}.json"
        text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        text = INTERVIEW_ID.sub("<interview id>", text)  # a fresh uuid per interview
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            differing.append(f"{platform}/{name}")
    assert not differing, (
        f"payloads differ from tests/golden (UPDATE_GOLDEN=1 re-records): {differing}"
    )
    assert len(rendered) == 2 * 15
