"""Render engine Replies as Slack Block Kit: escaped user text, within Block Kit's limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal, NotRequired, TypedDict, cast

from bot.adapters.slack import ids
from bot.engine.model import UserRef
from bot.engine.reply import Action, ActionKind, Field, Reply, Tone

# Block Kit limits (docs.slack.dev/reference/block-kit). Slack counts UTF-16 code units.
MAX_SECTION_TEXT: Final = 3000
MAX_SECTION_FIELDS: Final = 10
MAX_FIELD_TEXT: Final = 2000
MAX_MESSAGE_BLOCKS: Final = 50
MAX_ACTIONS_ELEMENTS: Final = 25
MAX_BUTTON_TEXT: Final = 75
MAX_BUTTON_VALUE: Final = 2000
MAX_PRIVATE_METADATA: Final = 3000
MAX_TEXT_INPUT: Final = 3000

MAX_TITLE_CHARS: Final = 300
"""Titles are one line of bold text; longer ones are cut here, well under the section limit."""
MAX_FIELD_NAME_CHARS: Final = 200
MAX_FALLBACK_CHARS: Final = 300
"""The notification text: short, Slack shows only the start of it anyway."""
MAX_MODAL_ERROR_CHARS: Final = 300

ELLIPSIS: Final = "…"
WORD_JOINER: Final = "\u2060"
"""Invisible; placed after '@' it stops Slack from reading '@channel' as a broadcast."""

TONE_EMOJI: Final = {
    Tone.SUCCESS: ":white_check_mark:",
    Tone.WARNING: ":warning:",
    Tone.ERROR: ":x:",
    Tone.INFO: ":bulb:",
}
BUTTON_STYLE: Final[dict[ActionKind, Literal["primary", "danger"]]] = {
    ActionKind.ANSWER: "primary",
    ActionKind.START_INTERVIEW: "primary",
    ActionKind.STOP: "danger",
}

MODAL_TITLE: Final = "Your answer"
MODAL_SUBMIT: Final = "Grade it"
MODAL_CLOSE: Final = "Cancel"
ANSWER_LABEL: Final = "Your answer"
ANSWER_PLACEHOLDER: Final = "Explain it as you would in an interview."
START_INTERVIEW_LABEL: Final = "Start interview"
RESUME_INTERVIEW_LABEL: Final = "Resume interview"
INTERVIEW_PITCH: Final = (
    "*Mock interview*\nQuestions across the topics you choose, answered one message at a time "
    "in direct messages, with hints, skip and a summary at the end."
)
MORE_NOT_SHOWN: Final = "_More not shown: Slack limits how much one message can hold._"

_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_MARKUP = re.compile(r"(?<!\w)[*_~`]|[*_~`](?!\w)")
"""A mrkdwn marker (bold, italic, strike, code) where Slack would read it as one: at a word's
edge. Inside a word (`snake_case`, `2*3`) Slack leaves it alone, and so does `escape`."""
_ATOM = re.compile("&(?:amp|lt|gt);|\u2060[*_~`]\u2060|.", re.DOTALL)
"""One visible character of escaped text: an entity or a guarded marker is never cut apart."""


SLACK_USER_ID: Final = re.compile(r"[UW][A-Z0-9]{2,20}")
"""Only a well-formed user id is ever put inside <@...>; anything else stays text."""


class PlainText(TypedDict):
    """A plain_text text object: Slack never parses mentions or links in it."""

    type: Literal["plain_text"]
    text: str
    emoji: NotRequired[bool]


class Mrkdwn(TypedDict):
    """A mrkdwn text object: its text must already be escaped."""

    type: Literal["mrkdwn"]
    text: str


class SectionBlock(TypedDict):
    """A section: one text, or up to ten fields shown in two columns."""

    type: Literal["section"]
    text: NotRequired[Mrkdwn]
    fields: NotRequired[list[Mrkdwn]]


class ContextBlock(TypedDict):
    """Small grey print."""

    type: Literal["context"]
    elements: list[Mrkdwn]


class DividerBlock(TypedDict):
    """A horizontal rule."""

    type: Literal["divider"]


class Button(TypedDict):
    """A button element; its value comes back in the block_actions payload."""

    type: Literal["button"]
    text: PlainText
    action_id: str
    value: NotRequired[str]
    style: NotRequired[Literal["primary", "danger"]]


class ActionsBlock(TypedDict):
    """A row of buttons."""

    type: Literal["actions"]
    elements: list[Button]


class PlainTextInput(TypedDict):
    """A text box in a modal."""

    type: Literal["plain_text_input"]
    action_id: str
    multiline: bool
    min_length: int
    max_length: int
    placeholder: NotRequired[PlainText]


class InputBlock(TypedDict):
    """A labelled input in a modal."""

    type: Literal["input"]
    block_id: str
    label: PlainText
    element: PlainTextInput


Block = SectionBlock | ContextBlock | DividerBlock | ActionsBlock | InputBlock


class View(TypedDict):
    """A modal or App Home view, as views.open and views.publish take it."""

    type: Literal["modal", "home"]
    blocks: list[Block]
    title: NotRequired[PlainText]
    submit: NotRequired[PlainText]
    close: NotRequired[PlainText]
    callback_id: NotRequired[str]
    private_metadata: NotRequired[str]


class ModalErrors(TypedDict):
    """The acknowledgement of a view submission that shows errors next to inputs."""

    response_action: Literal["errors"]
    errors: dict[str, str]


def escape(text: str) -> str:
    """Make user text inert in mrkdwn: no mentions, broadcasts, links or formatting.

    A display name such as `*bold*` shows as typed: mrkdwn has no escape character, so each
    marker at a word's edge is fenced with invisible word joiners, which no longer make it a
    word's edge. As on Discord, the engine's text gets the same: its few `code` spans show
    their backticks.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _BROADCAST.sub("@" + WORD_JOINER, escaped)
    return _MARKUP.sub(lambda marker: f"{WORD_JOINER}{marker.group()}{WORD_JOINER}", escaped)


def blocks(reply: Reply) -> list[Block]:
    """Turn a Reply into message blocks: title, text, fields, then one button per action."""
    content: list[Block] = [_section(_title_line(reply))]
    if reply.text.strip():
        content.append(_section(_fit(reply.text, MAX_SECTION_TEXT)))
    content.extend(_field_blocks(reply.fields, mentions=reply.ephemeral))
    buttons = _buttons(reply.actions)
    budget = MAX_MESSAGE_BLOCKS - (1 if buttons else 0)
    if len(content) > budget:
        # Dropping the tail keeps the title, text and buttons, which matter most.
        content = [*content[: budget - 1], _context(MORE_NOT_SHOWN)]
    if buttons:
        content.append(ActionsBlock(type="actions", elements=buttons))
    return content


def payload(value: Block | View) -> dict[str, Any]:
    """A block or view as slack_sdk's client takes it: a plain JSON object."""
    return cast(dict[str, Any], value)


def blocks_payload(reply: Reply) -> list[dict[str, Any]]:
    """`blocks(reply)` as slack_sdk's client takes them."""
    return [payload(block) for block in blocks(reply)]


def fallback_text(reply: Reply) -> str:
    """Short notification text for chat.postMessage's `text`: the title and first line."""
    first_line = reply.text.strip().split("\n", 1)[0]
    summary = f"{reply.title}: {first_line}" if first_line else reply.title
    return _fit(summary, MAX_FALLBACK_CHARS)


def answer_modal(question_prompt: str, button_value: str, max_chars: int) -> View:
    """The answer modal: the question, then a multi-line box; private_metadata = button value."""
    if _units(button_value) > MAX_PRIVATE_METADATA:
        raise ValueError(f"button value too long for private_metadata: {len(button_value)} chars")
    limit = min(max(max_chars, 1), MAX_TEXT_INPUT)
    return View(
        type="modal",
        callback_id=ids.ANSWER_MODAL_CALLBACK,
        private_metadata=button_value,
        title=_plain(MODAL_TITLE),
        submit=_plain(MODAL_SUBMIT),
        close=_plain(MODAL_CLOSE),
        blocks=[
            _section(_fit(question_prompt, MAX_SECTION_TEXT)),
            InputBlock(
                type="input",
                block_id=ids.ANSWER_BLOCK,
                label=_plain(ANSWER_LABEL),
                element=PlainTextInput(
                    type="plain_text_input",
                    action_id=ids.ANSWER_INPUT,
                    multiline=True,
                    min_length=1,
                    max_length=limit,
                    placeholder=_plain(ANSWER_PLACEHOLDER),
                ),
            ),
            _context(f"Up to {limit:,} characters."),
        ],
    )


def home_view(stats_reply: Reply, has_interview: bool) -> View:
    """The App Home tab: the member's stats and a button to start or resume an interview."""
    label = RESUME_INTERVIEW_LABEL if has_interview else START_INTERVIEW_LABEL
    start = Action(ActionKind.START_INTERVIEW, label)
    return View(
        type="home",
        blocks=[
            *blocks(stats_reply),
            DividerBlock(type="divider"),
            _section(INTERVIEW_PITCH),
            ActionsBlock(type="actions", elements=_buttons((start,))),
        ],
    )


def modal_error(message: str) -> ModalErrors:
    """Keyword arguments for ack() that show this message under the answer box."""
    # Shown as plain text under the input, so it is shortened but not entity-escaped.
    return ModalErrors(
        response_action="errors",
        errors={ids.ANSWER_BLOCK: _cut(message, MAX_MODAL_ERROR_CHARS)},
    )


def _title_line(reply: Reply) -> str:
    return f"*{TONE_EMOJI[reply.tone]} {_fit(reply.title, MAX_TITLE_CHARS)}*"


def _field_blocks(fields: Iterable[Field], *, mentions: bool) -> Iterator[SectionBlock]:
    """Runs of inline fields become two-column sections; other fields a section each."""
    inline: list[Mrkdwn] = []
    for field in fields:
        if field.inline:
            inline.append(_mrkdwn(_labelled(field, MAX_FIELD_TEXT, mentions=mentions)))
            if len(inline) == MAX_SECTION_FIELDS:
                yield SectionBlock(type="section", fields=inline)
                inline = []
            continue
        if inline:
            yield SectionBlock(type="section", fields=inline)
            inline = []
        yield _section(_labelled(field, MAX_SECTION_TEXT, mentions=mentions))
    if inline:
        yield SectionBlock(type="section", fields=inline)


def _labelled(field: Field, limit: int, *, mentions: bool) -> str:
    """'*name*' over the value, escaped and within limit; never empty (Slack refuses that)."""
    name = _fit(field.name, MAX_FIELD_NAME_CHARS) if field.name.strip() else ""
    heading = f"*{name}*" if name else ""
    if field.user is not None:
        heading = f"{heading} {_person(field.user, mentions=mentions)}".strip()
    room = limit - _units(heading) - 1
    value = _fit(field.value, room) if field.value.strip() else ""
    return "\n".join(part for part in (heading, value) if part) or ELLIPSIS


def _person(user: UserRef, *, mentions: bool) -> str:
    """A mention where it cannot notify (a private reply), else the person's name as text."""
    if mentions and SLACK_USER_ID.fullmatch(user.user):
        return f"<@{user.user}>"
    return _fit(user.display_name or user.user, MAX_FIELD_NAME_CHARS)


def _buttons(actions: Iterable[Action]) -> list[Button]:
    """One button per action kind: action_ids must be unique within an actions block."""
    seen: set[ActionKind] = set()
    buttons: list[Button] = []
    for action in actions:
        if action.kind in seen or len(buttons) == MAX_ACTIONS_ELEMENTS:
            continue
        seen.add(action.kind)
        buttons.append(_button(action))
    return buttons


def _button(action: Action) -> Button:
    if _units(action.value) > MAX_BUTTON_VALUE:
        # A cut value would point at the wrong thing: better to fail loudly.
        raise ValueError(f"button value too long: {len(action.value)} chars")
    # Labels are the engine's own words in plain_text, which Slack never parses: not escaped.
    label = _cut(action.label.strip() or action.kind.value, MAX_BUTTON_TEXT)
    button = Button(
        type="button",
        text=PlainText(type="plain_text", text=label, emoji=True),
        action_id=ids.ACTION_IDS[action.kind],
    )
    if action.value:
        button["value"] = action.value
    style = BUTTON_STYLE.get(action.kind)
    if style is not None:
        button["style"] = style
    return button


def _section(text: str) -> SectionBlock:
    return SectionBlock(type="section", text=_mrkdwn(text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(type="context", elements=[_mrkdwn(text)])


def _mrkdwn(text: str) -> Mrkdwn:
    return Mrkdwn(type="mrkdwn", text=text)


def _plain(text: str) -> PlainText:
    return PlainText(type="plain_text", text=text)


def _fit(raw: str, limit: int) -> str:
    """Escape raw text, then shorten it to limit with an ellipsis, never splitting an entity."""
    escaped = escape(raw.strip())
    if _units(escaped) <= limit:
        return escaped
    kept: list[str] = []
    used = _units(ELLIPSIS)
    for match in _ATOM.finditer(escaped):
        atom = match.group()
        used += _units(atom)
        if used > limit:
            break
        kept.append(atom)
    return "".join(kept).rstrip() + ELLIPSIS


def _cut(text: str, limit: int) -> str:
    """Shorten unescaped text to limit with an ellipsis."""
    if _units(text) <= limit:
        return text
    kept: list[str] = []
    used = _units(ELLIPSIS)
    for char in text:
        used += _units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def _units(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
