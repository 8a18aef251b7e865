"""Stable slugs and loose match keys for topics and questions."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Final

MAX_SLUG_LENGTH: Final = 80
MAX_TOPIC_ID_LENGTH: Final = 40
"""Leaves a question id room for its own slug, and fits the stores' topic columns."""
MAX_QUESTION_ID_LENGTH: Final = 76
"""Question ids ride in chat buttons; Discord's 100-character custom_id leaves 76 for them."""
DIGEST_LENGTH: Final = 8
"""Hex digits of the hash that keeps slugs of non-Latin text apart."""

_NON_WORD = re.compile(r"[^a-z0-9]+")


def _ascii_fold(text: str) -> str:
    """Lower-case ASCII, with accents dropped, so 'Déploiement' and 'deploiement' agree."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").casefold()


def slugify(text: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Return a stable URL-safe slug, cut at a word boundary within `max_length`.

    Letters that have no ASCII form (Cyrillic, Japanese ...) would vanish and make different
    texts collide ('Что такое S3?' and 'Зачем S3?' both give 's3'), so such text gets a short
    hash of itself appended: stable, and distinct.
    """
    slug = _NON_WORD.sub("-", _ascii_fold(text)).strip("-")
    if not _has_letters_without_ascii(text):
        return _cut(slug, max_length)
    digest = hashlib.sha256(unicodedata.normalize("NFKC", text).casefold().encode()).hexdigest()
    readable = _cut(slug, max_length - DIGEST_LENGTH - 1)
    return f"{readable}-{digest[:DIGEST_LENGTH]}" if readable else digest[:DIGEST_LENGTH]


def question_id(topic_id: str, text: str) -> str:
    """A question's stable id: 'topic/slug-of-text', within MAX_QUESTION_ID_LENGTH."""
    room = MAX_QUESTION_ID_LENGTH - len(topic_id) - 1
    return f"{topic_id}/{slugify(text, max_length=room)}"


def _cut(slug: str, max_length: int) -> str:
    if len(slug) <= max_length:
        return slug
    cut = slug[: max_length + 1]
    return cut[: cut.rfind("-")] if "-" in cut else slug[:max_length]


def _has_letters_without_ascii(text: str) -> bool:
    return not text.isascii() and any(ch.isalnum() and not _ascii_fold(ch) for ch in text)


def squash(text: str) -> str:
    """Keep only letters and digits, lower-cased: 'Step Functions' -> 'stepfunctions'."""
    return _NON_WORD.sub("", _ascii_fold(text))
