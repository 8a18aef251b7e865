"""Discord rendering: escaping of hostile text, embed limits, persistent buttons and the modal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest

from bot.adapters.discord import components, ids, render
from bot.engine.model import UserRef
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone
from content.loader import default_pack

HOSTILE: tuple[str, ...] = (
    "@everyone wake up",
    "@here and @Everyone and @HERE",
    "hi <@123> and <@!123456789012345678> in <#789>",
    "ping the role <@&456>",
    "**bold** __underline__ *it* ~~gone~~ ||spoiler||",
    "`code` and ```block```",
    "> quoted\n# Heading\n- item",
    "[click me](https://evil.example) and \\ backslash",
    "</admin:1234> <t:1700000000:R> <:pog:42> <a:dance:43> <id:customize>",
    "\u202eRTL override\u202c and zero\u200bwidth\u200d joiner",
    "emoji 👩‍💻 🚀 and combining e\u0301",
)
ODD_UNICODE = HOSTILE[-2:]
MENTION_LIKE = ("<@", "<#", "</", "<:", "<a:", "<t:", "<id:")
REFERENCE = "x" * 10_000
SNOWFLAKE = "123456789012345678"


def hostile_reply() -> Reply:
    """Hostile text in every string a Reply carries."""
    return Reply(
        title=" ".join(HOSTILE[:4]),
        text="\n".join(HOSTILE),
        fields=tuple(
            Field(name=text, value=text, inline=n % 2 == 0) for n, text in enumerate(HOSTILE)
        ),
        tone=Tone.WARNING,
    )


def embed_strings(embed: discord.Embed) -> Iterator[str]:
    """Every string of an embed that Discord shows."""
    yield embed.title or ""
    yield embed.description or ""
    for item in embed.fields:
        yield item.name or ""
        yield item.value or ""
    yield embed.footer.text or ""


def assert_within_limits(embed: discord.Embed) -> None:
    """Every embed limit holds, counted the strict way (UTF-16 code units)."""
    assert render.units(embed.title or "") <= render.MAX_TITLE
    assert render.units(embed.description or "") <= render.MAX_DESCRIPTION
    assert len(embed.fields) <= render.MAX_FIELDS
    for item in embed.fields:
        assert 0 < render.units(item.name or "") <= render.MAX_FIELD_NAME
        assert 0 < render.units(item.value or "") <= render.MAX_FIELD_VALUE
    assert render.units(embed.footer.text or "") <= render.MAX_FOOTER
    assert sum(render.units(text) for text in embed_strings(embed)) <= render.MAX_TOTAL
    assert len(embed) <= render.MAX_TOTAL


def assert_inert(text: str) -> None:
    """No broadcast, mention or markdown survives in text."""
    for word in ("@everyone", "@here"):
        assert word not in text.lower()
    for opener in MENTION_LIKE:
        assert opener not in text
    for markup in ("**bold**", "__underline__", "~~gone~~", "||spoiler||", "`code`"):
        assert markup not in text
    assert re.search(r"(?<!\\)\[click me\]\(", text) is None


@pytest.mark.parametrize("raw", HOSTILE[:-2])
def test_escape_makes_hostile_text_inert(raw: str) -> None:
    assert_inert(render.escape(raw))


def test_escape_keeps_the_words_readable() -> None:
    assert render.escape("**bold**") == r"\*\*bold\*\*"
    assert render.escape("`x`") == r"\`x\`"
    assert render.escape("@everyone") == "@\u200beveryone"
    assert render.escape("<@&456>") == "<\u200b@&456>"
    assert render.escape("a<b and 2 < 3") == "a<b and 2 < 3"


@pytest.mark.parametrize("raw", ODD_UNICODE)
def test_odd_unicode_survives_escaping(raw: str) -> None:
    assert render.escape(raw) == raw


def test_every_embed_string_is_escaped() -> None:
    embed = render.embed(hostile_reply())
    for text in embed_strings(embed):
        assert_inert(text)
    assert r"\*\*bold\*\*" in (embed.description or "")
    assert "👩‍💻 🚀" in (embed.description or "")
    assert_within_limits(embed)


def test_allowed_mentions_notify_nobody() -> None:
    mentions = render.ALLOWED_MENTIONS
    assert (mentions.everyone, mentions.users, mentions.roles, mentions.replied_user) == (
        False,
        False,
        False,
        False,
    )


def test_layout_title_text_fields() -> None:
    reply = Reply(
        title="Score 80/100",
        text="Well done",
        fields=(
            Field("Answers", "3", inline=True),
            Field("Reference answer", "Use an ALB."),
        ),
        tone=Tone.SUCCESS,
    )
    embed = render.embed(reply)
    assert embed.title == "✅ Score 80/100"
    assert embed.description == "Well done"
    assert [(f.name, f.value, f.inline) for f in embed.fields] == [
        ("Answers", "3", True),
        ("Reference answer", "Use an ALB.", False),
    ]
    assert embed.footer.text is None


@pytest.mark.parametrize(
    ("tone", "emoji", "colour"),
    [
        (Tone.SUCCESS, "✅", discord.Colour.green()),
        (Tone.WARNING, "⚠️", discord.Colour.gold()),
        (Tone.ERROR, "❌", discord.Colour.red()),
        (Tone.INFO, "💡", discord.Colour.blurple()),
    ],
)
def test_tone_sets_emoji_and_colour(tone: Tone, emoji: str, colour: discord.Colour) -> None:
    embed = render.embed(Reply(title="T", tone=tone))
    assert embed.title == f"{emoji} T"
    assert embed.colour == colour


def test_blank_text_and_names_are_never_empty_strings() -> None:
    embed = render.embed(Reply(title="t", text="  \n", fields=(Field(" ", ""),)))
    assert embed.description is None
    assert (embed.fields[0].name, embed.fields[0].value) == ("\u200b", "\u200b")


def test_a_numeric_user_id_renders_a_mention() -> None:
    person = UserRef("discord", "G1", SNOWFLAKE, "bob @everyone")
    embed = render.embed(
        Reply(title="Leaderboard", fields=(Field("1.", "100 points", user=person),))
    )
    assert embed.fields[0].name == "1."
    assert embed.fields[0].value == f"<@{SNOWFLAKE}> · 100 points"
    assert "@everyone" not in str(embed.to_dict())


@pytest.mark.parametrize("bad_id", ["12>|<@&456", "U0BOB", "\uff11\uff12\uff13", "", "1" * 21])
def test_a_malformed_user_id_renders_the_escaped_name(bad_id: str) -> None:
    person = UserRef("discord", "G1", bad_id, "eve **<@&456>**")
    value = render.embed(Reply(title="t", fields=(Field("1.", "x", user=person),))).fields[0].value
    assert value == r"eve \*\*<" + "\u200b" + r"@&456>\*\* · x"
    assert "<@" not in (value or "")


def test_a_person_without_a_value_is_just_the_person() -> None:
    person = UserRef("discord", "G1", SNOWFLAKE)
    embed = render.embed(Reply(title="t", fields=(Field("Winner", "", user=person),)))
    assert embed.fields[0].value == f"<@{SNOWFLAKE}>"


def test_huge_reference_title_and_text_are_cut_within_limits() -> None:
    reply = Reply(
        title="t" * 300,
        text=REFERENCE,
        fields=(Field("Reference answer", REFERENCE), Field("Missed", "y" * 2000)),
    )
    embed = render.embed(reply)
    assert_within_limits(embed)
    assert render.units(embed.title or "") == render.MAX_TITLE
    assert (embed.title or "").endswith(render.ELLIPSIS)
    assert render.units(embed.description or "") == render.MAX_DESCRIPTION
    assert (embed.fields[0].value or "").startswith("xxx")
    assert (embed.fields[0].value or "").endswith(render.ELLIPSIS)


def test_forty_fields_keep_within_limits_and_say_more_is_hidden() -> None:
    short = render.embed(Reply(title="Many", fields=tuple(Field(f"F{n}", "v") for n in range(40))))
    assert_within_limits(short)
    assert len(short.fields) == render.MAX_FIELDS
    assert short.footer.text == render.MORE_NOT_SHOWN

    long_fields = tuple(Field(f"F{n}", REFERENCE, inline=True) for n in range(40))
    full = render.embed(Reply(title="t" * 300, text=REFERENCE, fields=long_fields))
    assert_within_limits(full)
    assert 0 < len(full.fields) < 5
    assert full.footer.text == render.MORE_NOT_SHOWN
    assert all(f.inline for f in full.fields)


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("plain", 5), ("é·バ", 3), ("🚀", 2), ("a🚀b🚀", 6), ("\ud800x", 2)],
)
def test_units_count_utf16_code_units(text: str, count: int) -> None:
    # Discord counts UTF-16: a character beyond the BMP is two, a lone surrogate one.
    assert render.units(text) == count


def test_truncation_never_splits_an_escape() -> None:
    for raw in ("*" * 5000, "a" + "_" * 5000, "🚀" * 5000, "@here " * 1000):
        text = render.embed(Reply(title="t", text=raw)).description or ""
        assert render.units(text) <= render.MAX_DESCRIPTION
        body = text.removesuffix(render.ELLIPSIS)
        assert re.fullmatch(r"(?:\\\*|a|\\_|🚀|@\u200bhere|\s)*", body)
        assert not body.endswith("\\")


def seed_question_ids() -> list[str]:
    return [question.id for question in default_pack().questions]


def test_every_seed_question_id_fits_every_custom_id() -> None:
    question_ids = seed_question_ids()
    assert question_ids
    assert max(map(len, question_ids)) <= ids.MAX_VALUE_LENGTH
    for question_id in question_ids:
        for kind in ActionKind:
            custom_id = ids.button_id(kind, question_id)
            assert len(custom_id) <= ids.MAX_CUSTOM_ID
            match = ids.BUTTON_PATTERN.fullmatch(custom_id)
            assert match is not None
            assert (match["action"], match["value"]) == (kind.value, question_id)
            assert ids.parse_button_id(custom_id) == (kind, question_id)
        assert len(ids.modal_id(question_id)) <= ids.MAX_CUSTOM_ID


@pytest.mark.parametrize("value", ["daily:42", "", "i-7", "a" * ids.MAX_VALUE_LENGTH])
def test_button_values_round_trip(value: str) -> None:
    for kind in ActionKind:
        assert ids.parse_button_id(ids.button_id(kind, value)) == (kind, value)


@pytest.mark.parametrize("value", ["a" * (ids.MAX_VALUE_LENGTH + 1), "q\nid", "q\tid"])
def test_values_that_cannot_ride_in_a_custom_id_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="value"):
        ids.button_id(ActionKind.ANSWER, value)
    with pytest.raises(ValueError, match="value"):
        ids.modal_id(value)
    with pytest.raises(ValueError, match="value"):
        components.view_for(Reply(title="Q", actions=(Action(ActionKind.HINT, "Hint", value),)))


@pytest.mark.parametrize(
    "custom_id",
    ["awsquiz:answer_modal:q", "awsquiz:delete:q", "other:answer:q", "awsquiz:answer", "x"],
)
def test_foreign_custom_ids_are_not_buttons(custom_id: str) -> None:
    assert ids.BUTTON_PATTERN.fullmatch(custom_id) is None
    with pytest.raises(ValueError, match="not an awsquiz button"):
        ids.parse_button_id(custom_id)


def test_view_has_one_persistent_button_per_action() -> None:
    reply = Reply(
        title="Q",
        actions=(
            Action(ActionKind.ANSWER, "Answer", "daily:42"),
            Action(ActionKind.HINT, "Hint", "ecs/q"),
            Action(ActionKind.SKIP, "Skip", "ecs/q"),
            Action(ActionKind.STOP, "Stop", "i-7"),
            Action(ActionKind.START_INTERVIEW, "", ""),
            Action(ActionKind.HINT, "Hint again", "ecs/q"),
        ),
    )
    view = components.view_for(reply)
    assert view is not None
    assert view.timeout is None
    assert view.is_persistent()
    buttons = [item for item in view.children if isinstance(item, components.ActionButton)]
    assert len(buttons) == len(view.children) == 5
    assert [(b.custom_id, b.item.label, b.item.style) for b in buttons] == [
        ("awsquiz:answer:daily:42", "Answer", discord.ButtonStyle.primary),
        ("awsquiz:hint:ecs/q", "Hint", discord.ButtonStyle.secondary),
        ("awsquiz:skip:ecs/q", "Skip", discord.ButtonStyle.secondary),
        ("awsquiz:stop:i-7", "Stop", discord.ButtonStyle.danger),
        ("awsquiz:start_interview:", "start_interview", discord.ButtonStyle.secondary),
    ]
    for row in view.to_components():
        for component in row["components"]:
            assert ids.BUTTON_PATTERN.fullmatch(component["custom_id"])


def test_no_actions_means_no_view_and_labels_are_cut() -> None:
    assert components.view_for(Reply(title="Q")) is None
    view = components.view_for(Reply(title="Q", actions=(Action(ActionKind.NEXT, "N" * 200),)))
    assert view is not None
    button = view.children[0]
    assert isinstance(button, components.ActionButton)
    assert len(button.item.label or "") == components.MAX_BUTTON_LABEL


def test_at_most_twenty_five_buttons() -> None:
    actions = tuple(Action(ActionKind.HINT, "Hint", f"q-{n}") for n in range(30))
    view = components.view_for(Reply(title="Q", actions=actions))
    assert view is not None
    assert len(view.children) == components.MAX_BUTTONS


@dataclass
class FakeResponse:
    """Records what the bot sent back to an interaction."""

    sent: list[tuple[str, bool]] = field(default_factory=list)

    async def send_message(self, content: str, *, ephemeral: bool = False) -> None:
        self.sent.append((content, ephemeral))


@dataclass
class FakeInteraction:
    """Just enough of discord.Interaction for the components' callbacks."""

    response: FakeResponse = field(default_factory=FakeResponse)


@dataclass
class RecordingHandler:
    """A ButtonHandler and ModalHandler that records every call."""

    presses: list[tuple[Any, ActionKind, str]] = field(default_factory=list)
    answers: list[tuple[Any, str, str]] = field(default_factory=list)

    async def on_button(
        self, interaction: discord.Interaction[Any], action: ActionKind, value: str
    ) -> None:
        self.presses.append((interaction, action, value))

    async def on_answer(self, interaction: discord.Interaction[Any], value: str, text: str) -> None:
        self.answers.append((interaction, value, text))


@pytest.fixture
def button_handler() -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    components.ActionButton.handler = handler
    yield handler
    components.ActionButton.handler = None


async def test_a_button_rebuilt_after_a_restart_reaches_the_handler(
    button_handler: RecordingHandler,
) -> None:
    # What discord.py does on a click: match the template, rebuild the item, call back.
    sent = discord.ui.Button[discord.ui.View](
        custom_id="awsquiz:answer:daily:42", label="Answer", style=discord.ButtonStyle.primary
    )
    match = ids.BUTTON_PATTERN.fullmatch(sent.custom_id or "")
    assert match is not None
    interaction: Any = FakeInteraction()
    button = await components.ActionButton.from_custom_id(interaction, sent, match)
    assert (button.action, button.value) == (ActionKind.ANSWER, "daily:42")
    assert (button.item.label, button.item.style) == ("Answer", discord.ButtonStyle.primary)
    await button.callback(interaction)
    assert button_handler.presses == [(interaction, ActionKind.ANSWER, "daily:42")]


async def test_a_press_before_install_says_not_ready() -> None:
    assert components.ActionButton.handler is None
    interaction: Any = FakeInteraction()
    await components.ActionButton(ActionKind.SKIP, "q").callback(interaction)
    assert interaction.response.sent == [(components.NOT_READY, True)]


def test_answer_modal_shape() -> None:
    prompt = "Explain  <@&456>\nplacement " + "q" * 500
    modal = components.AnswerModal("daily:42", prompt, 3000)
    assert modal.title == "Your answer"
    assert modal.custom_id == "awsquiz:answer_modal:daily:42"
    assert modal.timeout is None  # routed by custom_id, so nothing in memory to expire
    answer = modal.answer
    assert answer.custom_id == ids.ANSWER_INPUT
    assert answer.style is discord.TextStyle.paragraph
    assert (answer.min_length, answer.max_length, answer.required) == (1, 3000, True)
    payload: Any = answer.to_component_dict()  # the label property warns on discord.py 2.6+
    assert payload["label"] == "Your answer"
    placeholder = answer.placeholder or ""
    assert placeholder.startswith("Explain <@&456> placement qqq")
    assert len(placeholder) == components.MAX_PLACEHOLDER
    assert len(modal.title) <= components.MAX_MODAL_TITLE
    assert len(payload["label"]) <= components.MAX_INPUT_LABEL


@pytest.mark.parametrize(("asked", "allowed"), [(50_000, 4000), (0, 1), (500, 500)])
def test_answer_modal_clamps_max_chars(asked: int, allowed: int) -> None:
    modal = components.AnswerModal("q", "Q", asked)
    assert modal.answer.max_length == allowed


def test_answer_modal_refuses_a_value_too_long_for_its_custom_id() -> None:
    with pytest.raises(ValueError, match="too long"):
        components.AnswerModal("v" * (ids.MAX_VALUE_LENGTH + 1), "Q", 500)


@pytest.mark.parametrize(
    "layout",
    [
        {"type": 1, "components": [{"type": 4, "custom_id": ids.ANSWER_INPUT, "value": "Spread."}]},
        {"type": 18, "component": {"type": 4, "custom_id": ids.ANSWER_INPUT, "value": "Spread."}},
    ],
)
def test_the_answer_is_read_from_an_action_row_or_a_label(layout: dict[str, Any]) -> None:
    assert components.answer_text({"custom_id": "m", "components": [layout]}) == "Spread."
    assert components.answer_text({"custom_id": "m", "components": []}) == ""


def test_modal_ids_round_trip_and_buttons_are_not_modals() -> None:
    assert ids.parse_modal_id(ids.modal_id("daily:42")) == "daily:42"
    assert ids.parse_modal_id(ids.button_id(ActionKind.ANSWER, "daily:42")) is None
    assert ids.parse_modal_id("other-bot:answer_modal:x") is None
