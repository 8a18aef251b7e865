"""Stable slugs and loose match keys for topics and questions."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_SLUG_LENGTH: Final = 80
MAX_QUESTION_ID_LENGTH: Final = 76
"""Question ids ride in chat buttons; Discord's 100-character custom_id leaves 76 for them."""

_NON_WORD = re.compile(r"[^a-z0-9]+")


def _ascii_fold(text: str) -> str:
    """Lower-case ASCII, with accents dropped, so 'Déploiement' and 'deploiement' agree."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").casefold()


def slugify(text: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Return a stable URL-safe slug, cut at a word boundary within `max_length`."""
    slug = _NON_WORD.sub("-", _ascii_fold(text)).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[: max_length + 1]
    return cut[: cut.rfind("-")] if "-" in cut else slug[:max_length]


def question_id(topic_id: str, text: str) -> str:
    """A question's stable id: 'topic/slug-of-text', within MAX_QUESTION_ID_LENGTH."""
    room = max(1, MAX_QUESTION_ID_LENGTH - len(topic_id) - 1)
    return f"{topic_id}/{slugify(text, max_length=room)}"


def squash(text: str) -> str:
    """Keep only letters and digits, lower-cased: 'Step Functions' -> 'stepfunctions'."""
    return _NON_WORD.sub("", _ascii_fold(text))
