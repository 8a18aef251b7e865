"""Slack rendering: escaping of hostile text, Block Kit limits, buttons, modal and App Home."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.adapters.slack import ids, render
from bot.engine.model import UserRef
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone

HOSTILE: tuple[str, ...] = (
    "<!channel> wake up",
    "<!here|here> and <!everyone>",
    "ping @channel and @here and @Everyone",
    "hi <@U123> and <@W999|boss> in <#C1|general>",
    "Tom & Jerry &amp; friends",
    "<script>alert(1)</script>",
    "<https://evil.example|click me>",
    "<!subteam^S123|@admins>",
    "\u202eRTL override\u202c and zero\u200bwidth\u200d joiner",
    "emoji 👩‍💻 🚀 and combining e\u0301",
)
REFERENCE = "x" * 10_000


def hostile_reply() -> Reply:
    """Hostile text in every string a Reply carries, with every action kind."""
    return Reply(
        title=" ".join(HOSTILE[:3]),
        text="\n".join(HOSTILE),
        fields=tuple(
            Field(name=text, value=text, inline=n % 2 == 0) for n, text in enumerate(HOSTILE)
        ),
        actions=tuple(Action(kind, kind.value.title(), "q-1") for kind in ActionKind),
        tone=Tone.WARNING,
    )


def mrkdwn_texts(value: Any) -> Iterator[str]:
    """The text of every mrkdwn object in a block list or view."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            yield value["text"]
        for item in value.values():
            yield from mrkdwn_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from mrkdwn_texts(item)


def units(text: str) -> int:
    """Length in UTF-16 code units, as Slack counts it."""
    return len(text.encode("utf-16-le")) // 2


def assert_within_limits(blocks: list[Any]) -> None:
    """Check the Block Kit limits a message must respect."""
    assert len(blocks) <= render.MAX_MESSAGE_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 1 <= units(block["text"]["text"]) <= render.MAX_SECTION_TEXT
            fields = block.get("fields", [])
            assert len(fields) <= render.MAX_SECTION_FIELDS
            for field in fields:
                assert 1 <= units(field["text"]) <= render.MAX_FIELD_TEXT
        if block["type"] == "actions":
            assert len(block["elements"]) <= render.MAX_ACTIONS_ELEMENTS
            for button in block["elements"]:
                assert 1 <= units(button["text"]["text"]) <= render.MAX_BUTTON_TEXT
                assert units(button.get("value", "")) <= render.MAX_BUTTON_VALUE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("<script>", "&lt;script&gt;"),
        ("@everyone", "@\u2060everyone"),
        ("@Channel now", "@\u2060Channel now"),
        ("mail me@here.example", "mail me@\u2060here.example"),
        ("@channels", "@channels"),
        ("@hereafter", "@hereafter"),
        ("plain text", "plain text"),
    ],
)
def test_escape(raw: str, expected: str) -> None:
    assert render.escape(raw) == expected


@pytest.mark.parametrize("raw", HOSTILE)
def test_escaped_text_is_inert(raw: str) -> None:
    escaped = render.escape(raw)
    assert "<" not in escaped
    assert ">" not in escaped
    for word in ("@channel", "@here", "@everyone"):
        assert word not in escaped.lower()


def test_odd_unicode_survives_escaping() -> None:
    for raw in HOSTILE[-2:]:
        assert render.escape(raw) == raw


def test_every_reply_string_is_escaped() -> None:
    blocks = render.blocks(hostile_reply())
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "<" not in dumped
    assert ">" not in dumped
    for text in mrkdwn_texts(blocks):
        assert "@channel" not in text.lower()
        assert "@here" not in text.lower()
        assert "@everyone" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dumped
    assert "Tom &amp; Jerry &amp;amp; friends" in dumped
    assert_within_limits(blocks)


def test_fallback_text_is_escaped_and_short() -> None:
    reply = Reply(title="<!channel> " + "t" * 1000, text="first <@U1>\nsecond")
    text = render.fallback_text(reply)
    assert "<" not in text
    assert units(text) <= render.MAX_FALLBACK_CHARS
    assert text.endswith(render.ELLIPSIS)
    assert render.fallback_text(Reply(title="Hi", text="line one\nline two")) == "Hi: line one"
    assert render.fallback_text(Reply(title="@here")) == "@\u2060here"


def test_layout_title_text_fields_buttons() -> None:
    reply = Reply(
        title="Score 80/100",
        text="Well done",
        fields=(
            Field("Answers", "3", inline=True),
            Field("Average", "70/100", inline=True),
            Field("Reference answer", "Use an ALB."),
        ),
        actions=(Action(ActionKind.NEXT, "Next", "q-2"),),
        tone=Tone.SUCCESS,
    )
    blocks: list[Any] = list(render.blocks(reply))
    assert blocks[0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*:white_check_mark: Score 80/100*"},
    }
    assert blocks[1]["text"]["text"] == "Well done"
    assert [f["text"] for f in blocks[2]["fields"]] == ["*Answers*\n3", "*Average*\n70/100"]
    assert blocks[3]["text"]["text"] == "*Reference answer*\nUse an ALB."
    assert blocks[4]["type"] == "actions"
    assert len(blocks) == 5


@pytest.mark.parametrize(
    ("tone", "emoji"),
    [
        (Tone.SUCCESS, ":white_check_mark:"),
        (Tone.WARNING, ":warning:"),
        (Tone.ERROR, ":x:"),
        (Tone.INFO, ":bulb:"),
    ],
)
def test_tone_is_a_leading_emoji(tone: Tone, emoji: str) -> None:
    first: Any = render.blocks(Reply(title="T", tone=tone))[0]
    assert first["text"]["text"] == f"*{emoji} T*"


def test_empty_text_adds_no_section() -> None:
    assert len(render.blocks(Reply(title="Only a title", text="  \n"))) == 1


def test_huge_reference_is_truncated_within_limits() -> None:
    reply = Reply(title="t" * 5000, text=REFERENCE, fields=(Field("Reference answer", REFERENCE),))
    blocks: list[Any] = list(render.blocks(reply))
    assert_within_limits(blocks)
    assert blocks[1]["text"]["text"].endswith(render.ELLIPSIS)
    assert units(blocks[1]["text"]["text"]) == render.MAX_SECTION_TEXT
    assert blocks[2]["text"]["text"].startswith("*Reference answer*\nxxx")
    assert blocks[2]["text"]["text"].endswith(render.ELLIPSIS)


def test_truncation_never_splits_an_entity_or_a_surrogate_pair() -> None:
    for raw in ("&" * 4000, "<" * 4000, "🚀" * 4000, "a" + "&" * 4000):
        blocks: list[Any] = list(render.blocks(Reply(title="t", text=raw)))
        text = blocks[1]["text"]["text"]
        assert units(text) <= render.MAX_SECTION_TEXT
        body = text.removesuffix(render.ELLIPSIS)
        assert re.fullmatch(r"(?:&amp;|&lt;|a|🚀)*", body)


def test_twenty_fields_stay_within_limits() -> None:
    inline = tuple(Field(f"Inline {n}", "y" * 3000, inline=True) for n in range(20))
    blocks: list[Any] = list(render.blocks(Reply(title="Many", fields=inline)))
    assert_within_limits(blocks)
    assert [len(b["fields"]) for b in blocks[1:]] == [10, 10]
    stacked = tuple(Field(f"Field {n}", "z" * 5000) for n in range(20))
    assert_within_limits(render.blocks(Reply(title="Many", fields=stacked)))


def test_too_many_blocks_end_with_a_note_and_keep_buttons() -> None:
    fields = tuple(Field(f"F{n}", "v") for n in range(80))
    reply = Reply(title="Lots", fields=fields, actions=(Action(ActionKind.SKIP, "Skip", "q"),))
    blocks: list[Any] = list(render.blocks(reply))
    assert len(blocks) == render.MAX_MESSAGE_BLOCKS
    assert blocks[-1]["type"] == "actions"
    assert blocks[-2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": render.MORE_NOT_SHOWN}],
    }


def test_buttons_carry_action_ids_values_and_styles() -> None:
    reply = Reply(
        title="Q",
        actions=(
            Action(ActionKind.ANSWER, "Answer", "daily:42"),
            Action(ActionKind.HINT, "Hint", "q-1"),
            Action(ActionKind.SKIP, "Skip", "q-1"),
            Action(ActionKind.STOP, "Stop", "i-7"),
            Action(ActionKind.HINT, "Hint again", "q-1"),
        ),
    )
    actions: Any = render.blocks(reply)[-1]
    assert actions["type"] == "actions"
    buttons = actions["elements"]
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons] == [
        (ids.ACTION_IDS[ActionKind.ANSWER], "daily:42", "primary"),
        (ids.ACTION_IDS[ActionKind.HINT], "q-1", None),
        (ids.ACTION_IDS[ActionKind.SKIP], "q-1", None),
        (ids.ACTION_IDS[ActionKind.STOP], "i-7", "danger"),
    ]
    assert buttons[0]["text"] == {"type": "plain_text", "text": "Answer", "emoji": True}


def test_button_without_value_omits_it_and_long_labels_are_cut() -> None:
    reply = Reply(title="Q", actions=(Action(ActionKind.NEXT, "N" * 200),))
    actions: Any = render.blocks(reply)[-1]
    button = actions["elements"][0]
    assert "value" not in button
    assert units(button["text"]["text"]) == render.MAX_BUTTON_TEXT


def test_over_long_button_value_is_refused() -> None:
    reply = Reply(title="Q", actions=(Action(ActionKind.ANSWER, "Answer", "v" * 2001),))
    with pytest.raises(ValueError, match="button value"):
        render.blocks(reply)


def test_answer_modal_shape() -> None:
    view: Any = render.answer_modal("Explain <!channel> & " + "q" * 5000, "daily:42", 3000)
    assert view["type"] == "modal"
    assert view["callback_id"] == ids.ANSWER_MODAL_CALLBACK
    assert view["private_metadata"] == "daily:42"
    assert view["title"] == {"type": "plain_text", "text": "Your answer"}
    assert view["submit"]["text"] == "Grade it"
    assert view["close"]["text"] == "Cancel"
    for key in ("title", "submit", "close"):
        assert len(view[key]["text"]) <= 24
    question, answer_input = view["blocks"][0], view["blocks"][1]
    assert question["text"]["text"].startswith("Explain &lt;!channel&gt; &amp; qqq")
    assert units(question["text"]["text"]) <= render.MAX_SECTION_TEXT
    assert answer_input["type"] == "input"
    assert answer_input["block_id"] == ids.ANSWER_BLOCK
    element = answer_input["element"]
    assert element["type"] == "plain_text_input"
    assert element["action_id"] == ids.ANSWER_INPUT
    assert element["multiline"] is True
    assert (element["min_length"], element["max_length"]) == (1, 3000)
    assert "<" not in json.dumps(view)


def test_answer_modal_clamps_max_chars() -> None:
    over: Any = render.answer_modal("Q", "q-1", 50_000)
    assert over["blocks"][1]["element"]["max_length"] == render.MAX_TEXT_INPUT
    under: Any = render.answer_modal("Q", "q-1", 500)
    assert under["blocks"][1]["element"]["max_length"] == 500
    with pytest.raises(ValueError, match="private_metadata"):
        render.answer_modal("Q", "m" * 3001, 500)


@pytest.mark.parametrize(
    ("has_interview", "label"), [(False, "Start interview"), (True, "Resume interview")]
)
def test_home_view(has_interview: bool, label: str) -> None:
    stats = Reply(title="Stats for <@U1>", fields=(Field("Answers", "3", inline=True),))
    view: Any = render.home_view(stats, has_interview)
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "*:bulb: Stats for &lt;@U1&gt;*"
    button = view["blocks"][-1]["elements"][0]
    assert button["action_id"] == ids.ACTION_IDS[ActionKind.START_INTERVIEW]
    assert button["text"]["text"] == label
    assert len(view["blocks"]) <= 100


def test_modal_error() -> None:
    assert render.modal_error("Too long") == {
        "response_action": "errors",
        "errors": {ids.ANSWER_BLOCK: "Too long"},
    }
    long_error = render.modal_error("e" * 5000)["errors"][ids.ANSWER_BLOCK]
    assert units(long_error) <= render.MAX_MODAL_ERROR_CHARS


def test_people_are_mentions_in_private_replies_and_plain_names_in_public_ones() -> None:
    person = UserRef("slack", "T1", "U0BOB", "bob <!channel>")
    fields = (Field("1.", "100 points", user=person),)
    private = json.dumps(render.blocks(Reply(title="Leaderboard", fields=fields, ephemeral=True)))
    public = json.dumps(render.blocks(Reply(title="Leaderboard", fields=fields, ephemeral=False)))
    assert "<@U0BOB>" in private  # a mention in an ephemeral message notifies nobody
    assert "<@U0BOB>" not in public
    assert "bob &lt;!channel&gt;" in public
    assert "<!channel>" not in public + private


def test_a_malformed_user_id_is_never_put_inside_a_mention() -> None:
    person = UserRef("slack", "T1", "U1>|<!here", "eve")
    rendered = json.dumps(
        render.blocks(Reply(title="t", fields=(Field("1.", "x", user=person),), ephemeral=True))
    )
    assert "<!here" not in rendered
    assert "<@" not in rendered
