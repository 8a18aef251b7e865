"""Term weights: how much a reference term is worth, from general English word rarity."""

from __future__ import annotations

from typing import Final

from bot.engine.grading.aliases import ALIAS_KEY_PREFIX, QUESTION_ALIAS_PREFIX
from bot.engine.grading.text import stem, word_set

ALIAS_WEIGHT: Final = 1.5
"""A named AWS/DevOps term is the heart of a concept."""
GENERAL_WEIGHT: Final = 0.5
"""A very common English content word says little about the answer's substance."""
NUMBER_WEIGHT: Final = 0.6
"""A bare number matters, but less than the words around it."""
SHORT_WORD_WEIGHT: Final = 0.7
"""Short words are frequent words (Zipf): worth less than long ones."""
SHORT_WORD_MAX_LEN: Final = 3

# Frequent English content words (a general-purpose list, not drawn from any answer set).
_GENERAL_WORDS: Final = word_set(
    """
    thing time times part parts number numbers lot lots type types case cases point points
    set sort kind kinds form forms new good bad first last next second third certain specific
    general particular various main basic important whole actual real right wrong big little
    great long old own small large high low different same simple easy hard possible
    work works worked working run runs running call calls called take takes taken put give
    come comes keep keeps begin show shows try tries find finds know knows think look looks
    turn turns ask asks tell tells become order result results problem problems way place
    people person day year years thing end ends side fact area level group groups
    information data value values name names word words line lines
    """
)

GENERAL_STEMS: Final = frozenset(stem(word) for word in _GENERAL_WORDS)
"""Stems of very common English content words."""


def term_weight(key: str, word: str) -> float:
    """The weight of one reference term, from its key (stem or alias) and surface word."""
    if key.startswith((ALIAS_KEY_PREFIX, QUESTION_ALIAS_PREFIX)):
        return ALIAS_WEIGHT
    if word.isdigit():
        return NUMBER_WEIGHT
    if key in GENERAL_STEMS:
        return GENERAL_WEIGHT
    if len(word) <= SHORT_WORD_MAX_LEN:
        return SHORT_WORD_WEIGHT
    return 1.0
