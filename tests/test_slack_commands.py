"""Parsing `/awsquiz` text into commands, and the Slack app manifest."""

from __future__ import annotations

import json

import pytest

from bot.adapters.slack import commands, manifest
from bot.adapters.slack.commands import (
    Answer,
    Ask,
    Command,
    DailyOff,
    DailyOn,
    DailyStatus,
    Help,
    Hint,
    Interview,
    Leaderboard,
    Skip,
    Stats,
    Topics,
    parse,
)
from bot.engine.catalog import Catalog
from bot.engine.errors import UnknownTopicError
from bot.engine.quiz import Period

KNOWN_TOPICS = frozenset({"lambda", "s3", "ec2", "sfn", "step functions", "glue jobs", "glue"})


def fake_is_topic(phrase: str) -> bool:
    """Exact, case-insensitive topic names: enough to test the grammar."""
    return phrase.lower() in KNOWN_TOPICS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Ask()),
        ("   \n ", Ask()),
        ("ask", Ask()),
        ("ASK lambda", Ask("lambda")),
        ("ask Step Functions advanced", Ask("Step Functions", "advanced")),
        ("ask interview", Ask(None, "interview")),
        ("ask banana BASIC", Ask("banana", "basic")),
        ("Step Functions advanced", Ask("Step Functions", "advanced")),
        ("step functions", Ask("step functions")),
        ("sfn", Ask("sfn")),
        ("lambda Interview", Ask("lambda", "interview")),
        ("advanced", Ask(None, "advanced")),
        ("answer Use an ALB\nwith two AZs", Answer("Use an ALB\nwith two AZs")),
        ("Answer   multi\n\n  line <@U1> & *stars*", Answer("multi\n\n  line <@U1> & *stars*")),
        ("answer", Answer("")),
        ("hint", Hint()),
        ("Skip", Skip()),
        ("topics", Topics()),
        ("stats", Stats()),
        ("stats <@U123|bob>", Stats("U123")),
        ("stats <@W0ABC>", Stats("W0ABC")),
        ("stats bob", Help("bob")),
        ("leaderboard", Leaderboard("week")),
        ("leaderboard Month", Leaderboard("month")),
        ("leaderboard all time", Leaderboard("all")),
        ("leaderboard fortnight", Leaderboard("fortnight")),
        ("leaderboard here", Leaderboard("week", here=True)),
        ("leaderboard all time channel", Leaderboard("all", here=True)),
        ("interview", Interview()),
        ("interview 3", Interview((), 3)),
        ("interview lambda, s3 3", Interview(("lambda", "s3"), 3)),
        ("interview lambda,s3,", Interview(("lambda", "s3"))),
        ("interview step functions 2", Interview(("step functions",), 2)),
        ("interview lambda s3", Interview(("lambda", "s3"))),
        ("interview step functions lambda 4", Interview(("step functions", "lambda"), 4)),
        ("interview aws lambda", Interview(("lambda",))),
        ("interview glue jobs ec2", Interview(("glue jobs", "ec2"))),
        ("interview lambda banana 2", Interview(("lambda", "banana"), 2)),
        ("interview lambda 0", Interview(("lambda",), 0)),
        ("interview lambda ³", Interview(("lambda", "³"))),
        ("interview lambda 99999999", Interview(("lambda", "99999999"))),
        ("daily on 09:30 Europe/London", DailyOn("09:30", "Europe/London")),
        ("DAILY ON 9:30", DailyOn("9:30")),
        ("daily off", DailyOff()),
        ("daily status", DailyStatus()),
        ("daily", DailyStatus()),
        ("daily on", Help("daily on")),
        ("daily sometimes", Help("daily sometimes")),
        ("help", Help()),
        ("HELP me", Help()),
        ("banana", Help("banana")),
        ("Banana split", Help("Banana")),
        ("<!channel>", Help("<!channel>")),
    ],
)
def test_parse(text: str, expected: Command) -> None:
    assert parse(text, fake_is_topic) == expected


@pytest.mark.parametrize(
    ("escaped", "expected"),
    [
        ("answer a &amp; b &lt;c&gt; d", Answer("a & b <c> d")),
        ("answer &amp;lt; stays one entity", Answer("&lt; stays one entity")),
        ("answer &quot;quoted&quot;", Answer("&quot;quoted&quot;")),  # Slack escapes only three
        ("ask s3&amp;ec2", Ask("s3&ec2")),
        ("interview lambda&amp;s3, ec2", Interview(("lambda&s3", "ec2"))),
        ("a&amp;b", Help("a&b")),
        ("stats <@U123|bob>", Stats("U123")),
        ("stats &lt;@U123&gt;", Help("<@U123>")),  # typed, not picked: no mention
    ],
)
def test_parse_decodes_what_slack_escaped_once(escaped: str, expected: Command) -> None:
    assert parse(escaped, fake_is_topic) == expected


def test_subcommands_win_over_topics() -> None:
    assert parse("hint", lambda _: True) == Hint()
    assert parse("interview", lambda _: True) == Interview()


def test_topic_lookup_is_bounded_on_long_input() -> None:
    calls: list[str] = []

    def counting(phrase: str) -> bool:
        calls.append(phrase)
        return False

    words = " ".join(f"w{n}" for n in range(1000))
    assert parse(f"interview {words}", counting) == Interview(tuple(words.split()))
    assert calls == []
    parse(f"interview {' '.join(words.split()[:40])}", counting)
    assert len(calls) == len(set(calls))
    assert len(calls) <= 40 * commands.MAX_TOPIC_WORDS + 1


def test_parse_with_the_real_catalog(catalog: Catalog) -> None:
    def is_topic(phrase: str) -> bool:
        try:
            catalog.find_topic(phrase)
        except UnknownTopicError:
            return False
        return True

    assert parse("Step Functions advanced", is_topic) == Ask("Step Functions", "advanced")
    assert parse("sfn", is_topic) == Ask("sfn")
    assert parse("interview step functions 2", is_topic) == Interview(("step functions",), 2)
    assert parse("interview lambda s3", is_topic) == Interview(("lambda", "s3"))
    assert parse("interview AWS Lambda, Amazon S3 5", is_topic) == Interview(
        ("AWS Lambda", "Amazon S3"), 5
    )


def test_leaderboard_default_is_a_period() -> None:
    assert Period(Leaderboard().period) is Period.WEEK


def test_help_text_names_every_subcommand() -> None:
    for word in (
        "ask",
        "answer",
        "hint",
        "skip",
        "topics",
        "stats",
        "leaderboard",
        "interview",
        "daily on",
        "daily off",
        "daily status",
        "help",
    ):
        assert f"/awsquiz {word}" in commands.HELP_TEXT


def test_manifest_socket_mode() -> None:
    app = manifest.manifest()
    settings = app["settings"]
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"]
    assert "request_url" not in settings["interactivity"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    (command,) = app["features"]["slash_commands"]
    assert command["command"] == "/awsquiz"
    assert command["should_escape"] is True
    assert command["usage_hint"]
    assert "url" not in command


def test_manifest_http_mode() -> None:
    url = "https://quiz.example.com/slack/events"
    app = manifest.manifest("awsquiz-staging", url)
    settings = app["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == url
    assert settings["interactivity"]["request_url"] == url
    assert app["features"]["slash_commands"][0]["url"] == url
    assert app["display_information"]["name"] == "awsquiz-staging"
    assert app["features"]["bot_user"] == {"display_name": "awsquiz-staging", "always_online": True}


def test_manifest_scopes_events_and_app_home() -> None:
    app = manifest.manifest()
    assert set(app["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "im:history",
        "im:write",
        "users:read",
        "channels:join",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
    }
    assert set(app["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.im",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert app["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }


def test_the_manifest_describes_the_app_at_length_and_refuses_plain_http() -> None:
    app = manifest.manifest()
    assert 175 <= len(app["display_information"]["long_description"]) <= 4000  # Slack's limits
    with pytest.raises(ValueError, match="https"):
        manifest.manifest(request_url="http://quiz.example.com/slack/events")


@pytest.mark.parametrize("request_url", [None, "https://quiz.example.com/slack/events"])
def test_manifest_json_round_trips(request_url: str | None) -> None:
    text = manifest.manifest_json(request_url=request_url)
    assert json.loads(text) == manifest.manifest(request_url=request_url)
    assert "\n  " in text
