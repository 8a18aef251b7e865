"""Settings from an environment mapping, and the services the composition root builds from them."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import FixedClock

from bot.app import open_services
from bot.engine.errors import SettingsError
from bot.engine.model import UserRef
from bot.engine.quiz import MAX_ANSWER_CHARS
from bot.settings import load_settings
from content.loader import load_catalog


def test_defaults() -> None:
    settings = load_settings({})

    assert settings.database_url is None
    assert settings.content_dirs == ()
    assert settings.awsquiz_max_answer_chars == MAX_ANSWER_CHARS == 3000
    assert settings.awsquiz_interview_idle_hours == 24.0
    assert settings.log_level == "WARNING"
    assert settings.log_level_number == logging.WARNING


def test_values_are_read_and_converted() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "sqlite+aiosqlite:///x.db",
            "AWSQUIZ_MAX_ANSWER_CHARS": "500",
            "AWSQUIZ_INTERVIEW_IDLE_HOURS": "1.5",
            "LOG_LEVEL": " debug ",
        }
    )

    assert settings.database_url == "sqlite+aiosqlite:///x.db"
    assert settings.awsquiz_max_answer_chars == 500
    assert settings.awsquiz_interview_idle_hours == 1.5
    assert (settings.log_level, settings.log_level_number) == ("DEBUG", logging.DEBUG)


def test_content_dirs_split_on_the_path_separator_skipping_blanks() -> None:
    value = os.pathsep.join(["/packs/one", "", "  ", "~/packs/two", "relative/three"])

    settings = load_settings({"AWSQUIZ_CONTENT_DIRS": value})

    assert settings.content_dirs == (
        Path("/packs/one"),
        Path("~/packs/two").expanduser(),
        Path("relative/three"),
    )


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("AWSQUIZ_MAX_ANSWER_CHARS", "lots", "valid integer"),
        ("AWSQUIZ_MAX_ANSWER_CHARS", "99", "greater than or equal to 100"),
        ("AWSQUIZ_MAX_ANSWER_CHARS", "3001", "less than or equal to 3000"),
        ("AWSQUIZ_INTERVIEW_IDLE_HOURS", "0", "greater than 0"),
        ("AWSQUIZ_INTERVIEW_IDLE_HOURS", "-2", "greater than 0"),
        ("AWSQUIZ_INTERVIEW_IDLE_HOURS", "soon", "valid number"),
        ("AWSQUIZ_INTERVIEW_IDLE_HOURS", "nan", ""),
        ("LOG_LEVEL", "loud", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value})

    assert caught.value.name == name
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"setting {name}: ")


@pytest.mark.parametrize("value", ["inf", "1e12"])
def test_idle_hours_too_large_for_a_timedelta_are_refused_at_load(value: str) -> None:
    # open_services turns the value into timedelta(hours=...), which overflows on these:
    # the value must be refused at start-up, naming the variable, not crash later.
    with pytest.raises(SettingsError) as caught:
        load_settings({"AWSQUIZ_INTERVIEW_IDLE_HOURS": value})

    assert caught.value.name == "AWSQUIZ_INTERVIEW_IDLE_HOURS"


def test_the_process_environment_and_dotenv_do_not_leak_into_an_explicit_mapping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AWSQUIZ_INTERVIEW_IDLE_HOURS=3\n", encoding="utf-8")
    monkeypatch.setenv("AWSQUIZ_MAX_ANSWER_CHARS", "500")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    monkeypatch.setenv("DATABASE_URL", "postgresql://leaked/db")

    explicit = load_settings({"LOG_LEVEL": "info"})
    from_process = load_settings()

    assert explicit.log_level == "INFO"
    assert (explicit.awsquiz_max_answer_chars, explicit.database_url) == (3000, None)
    assert explicit.awsquiz_interview_idle_hours == 24.0
    assert from_process.awsquiz_max_answer_chars == 500
    assert from_process.log_level == "ERROR"
    assert from_process.database_url == "postgresql://leaked/db"
    assert from_process.awsquiz_interview_idle_hours == 3.0


def test_a_malformed_process_variable_is_named_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWSQUIZ_MAX_ANSWER_CHARS", "many")

    with pytest.raises(SettingsError) as caught:
        load_settings()

    assert caught.value.name == "AWSQUIZ_MAX_ANSWER_CHARS"


async def test_open_services_wires_settings_into_the_engine(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "outposts.md").write_text(
        "### 1. What is AWS Outposts?\nAWS racks run on site.\n", encoding="utf-8"
    )
    settings = load_settings(
        {
            "DATABASE_URL": database_url,
            "AWSQUIZ_CONTENT_DIRS": str(packs),
            "AWSQUIZ_MAX_ANSWER_CHARS": "150",
            "AWSQUIZ_INTERVIEW_IDLE_HOURS": "2",
        }
    )
    user = UserRef("local", "local", "me")

    async with open_services(settings, clock=clock) as services:
        assert services.quiz.max_answer_chars == 150
        assert services.interviews.idle_timeout == timedelta(hours=2)
        assert services.quiz.clock is clock
        assert services.catalog.find_topic("sfn").id == "step-functions"
        assert len(services.catalog.topics) == len(load_catalog().topics) + 1
        asked = await services.quiz.ask(user, topic="outposts")
        assert asked.question_id == "outposts/what-is-aws-outposts"
        graded = await services.quiz.answer(user, "AWS racks run on site")
        assert graded.score == 100
        stored = await services.store.attempts(user)

    assert [a.answer for a in stored] == ["AWS racks run on site"]
