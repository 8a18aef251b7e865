"""Composition root: settings -> content -> store -> engine services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from bot.engine.catalog import Catalog
from bot.engine.daily.service import DailyService
from bot.engine.errors import SettingsError
from bot.engine.grading import Grader
from bot.engine.grading.aliases import AWS_ALIASES
from bot.engine.interview import InterviewService
from bot.engine.naming import squash
from bot.engine.ports import ChatAdapter, Clock
from bot.engine.privacy import PrivacyService
from bot.engine.quiz import QuizService
from bot.engine.tutor import Tutor
from bot.settings import Settings
from content.loader import load_catalog
from storage import SqlStore, default_database_url, open_store

CONTENT_DIRS_SETTING: Final = "AWSQUIZ_CONTENT_DIRS"

AdapterFactory = Callable[[SqlStore], Mapping[str, ChatAdapter]]
"""Builds the chat adapters from the open store (Slack under OAuth reads installations there)."""


@dataclass(frozen=True, slots=True)
class Services:
    """The engine services one process shares between its adapters."""

    catalog: Catalog
    store: SqlStore
    quiz: QuizService
    interviews: InterviewService
    daily: DailyService
    tutor: Tutor
    privacy: PrivacyService


def topic_nicknames() -> dict[str, tuple[str, ...]]:
    """Let topic lookup use the AWS alias table: 'sfn' finds Step Functions."""
    nicknames: dict[str, tuple[str, ...]] = {}
    for canonical, spellings in AWS_ALIASES.items():
        group = (canonical, *spellings)
        for spelling in group:
            nicknames[squash(spelling)] = group
    return nicknames


def load_content(settings: Settings) -> Catalog:
    """Load the default pack and the configured content directories."""
    for folder in settings.content_dirs:
        if not folder.exists():
            raise SettingsError(CONTENT_DIRS_SETTING, f"{folder}: no such file or directory")
    return load_catalog(settings.content_dirs, topic_nicknames())


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    clock: Clock | None = None,
    adapters: Mapping[str, ChatAdapter] | AdapterFactory | None = None,
) -> AsyncIterator[Services]:
    """Open the store (migrating it) and build the engine services around it.

    `adapters` are the chat platforms the daily question may post to, by platform name, or a
    function that builds them once the store is open.
    """
    catalog = catalog or load_content(settings)
    store = await open_store(settings.database_url or default_database_url())
    try:
        quiz = QuizService(
            catalog,
            Grader(catalog.vocabulary()),
            store,
            clock,
            max_answer_chars=settings.awsquiz_max_answer_chars,
        )
        # About a millisecond per question, once, rather than on each question's first answer.
        quiz.warm_up()
        interviews = InterviewService(
            quiz, idle_timeout=timedelta(hours=settings.awsquiz_interview_idle_hours)
        )
        platforms = adapters(store) if callable(adapters) else adapters
        daily = DailyService(quiz, store, platforms or {}, settings.daily_config)
        privacy = PrivacyService(store, quiz.clock, removal_grace=settings.removed_workspace_grace)
        # A workspace that removes the bot has its daily questions stopped, and is recorded.
        daily.removal_listeners.append(privacy.workspace_removed)
        tutor = Tutor(catalog, quiz, interviews, daily, store, privacy=privacy)
        yield Services(catalog, store, quiz, interviews, daily, tutor, privacy)
    finally:
        await store.close()
