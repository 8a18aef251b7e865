"""Optional awsquiz metadata blocks inside pack markdown.

A block is an HTML comment, invisible when the markdown is rendered:

    <!-- awsquiz
    difficulty: advanced
    concepts: desired capacity; health checks; scaling policies
    aliases: Auto Scaling group = ASG, autoscaling group
    -->

Before the first question it sets pack (or, in the seed shape, topic) defaults; after a
question it applies to that question.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from bot.engine.errors import ContentError
from bot.engine.model import Difficulty

BLOCK_START: Final = "<!-- awsquiz"
BLOCK_END: Final = "-->"
PACK_KEYS: Final = frozenset({"topic", "difficulty", "nicknames"})
QUESTION_KEYS: Final = frozenset({"id", "difficulty", "concepts", "aliases"})


@dataclass
class Metadata:
    """The parsed keys of one block, with the line it started on."""

    line: int
    topic: str | None = None
    difficulty: Difficulty | None = None
    question_id: str | None = None
    concepts: tuple[str, ...] = ()
    nicknames: tuple[str, ...] = ()
    aliases: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


def read_block(path: str, lines: list[str], start: int) -> tuple[Metadata, int]:
    """Parse the block opening at index `start`; return it and the index after its end."""
    meta = Metadata(line=start + 1)
    for index in range(start + 1, len(lines)):
        text = lines[index].strip()
        if text == BLOCK_END:
            return meta, index + 1
        if not text:
            continue
        if text.startswith(("#", "- ", "<!--")):
            # Markdown, not metadata: the block was never closed.
            raise ContentError(
                path,
                start + 1,
                f"metadata block is not closed with {BLOCK_END!r} before line {index + 1}",
            )
        _apply(meta, path, index + 1, text)
    raise ContentError(path, start + 1, f"metadata block is not closed with {BLOCK_END!r}")


def check_keys(meta: Metadata, path: str, allowed: frozenset[str], where: str) -> None:
    """Refuse keys that mean nothing at this place in the pack."""
    for key in sorted(meta.keys - allowed):
        raise ContentError(
            path,
            meta.line,
            f"key {key!r} is not allowed {where} (allowed: {', '.join(sorted(allowed))})",
        )


def _apply(meta: Metadata, path: str, line: int, text: str) -> None:
    key, sep, value = text.partition(":")
    key, value = key.strip().lower(), value.strip()
    if not sep or not value:
        raise ContentError(path, line, f"expected 'key: value' in metadata block, got {text!r}")
    meta.keys.add(key)
    if key == "topic":
        meta.topic = value
    elif key == "difficulty":
        meta.difficulty = parse_difficulty(path, line, value)
    elif key == "id":
        meta.question_id = value
    elif key == "nicknames":
        meta.nicknames = tuple(_split(value, ","))
    elif key == "concepts":
        meta.concepts = tuple(_split(value, ";"))
    elif key == "aliases":
        term, equals, others = value.partition("=")
        spellings = tuple(_split(others, ","))
        if not equals or not term.strip() or not spellings:
            raise ContentError(path, line, "aliases must read 'term = other, other'")
        meta.aliases.append((term.strip(), spellings))
    else:
        known = ", ".join(sorted(PACK_KEYS | QUESTION_KEYS))
        raise ContentError(path, line, f"unknown metadata key {key!r} (known: {known})")


def parse_difficulty(path: str, line: int, value: str) -> Difficulty:
    """Read a difficulty name or fail naming the accepted ones."""
    try:
        return Difficulty(value.strip().lower())
    except ValueError:
        accepted = ", ".join(d.value for d in Difficulty)
        raise ContentError(
            path, line, f"unknown difficulty {value!r} (accepted: {accepted})"
        ) from None


def _split(value: str, separator: str) -> Iterator[str]:
    return (part.strip() for part in value.split(separator) if part.strip())
