"""Typo tolerance: which answer key's long word a misspelt answer word stands for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from rapidfuzz import fuzz, process

from bot.engine.grading.text import normalize, tokens

FUZZY_MIN_LEN: Final = 6
"""Only words this long get typo tolerance: EC2, ECS and EKS differ by one letter."""
FUZZY_MIN_SIMILARITY: Final = 87.0
"""rapidfuzz ratio (0-100) at which a long word counts as a misspelling of another."""
_CACHE_LIMIT: Final = 4096


class TypoIndex:
    """The long words of one answer key, each with the key it stands for; lookups cached."""

    __slots__ = ("_cache", "_keys", "_words")

    def __init__(self, surface: Mapping[str, str]) -> None:
        """Index `surface` (key -> its longest written word), keeping the long words only."""
        pairs = [(word, key) for key, word in surface.items() if len(word) >= FUZZY_MIN_LEN]
        self._words = tuple(word for word, _ in pairs)
        self._keys = tuple(key for _, key in pairs)
        self._cache: dict[str, str | None] = {}

    def key_for(self, word: str) -> str | None:
        """The key a long answer word is a likely misspelling of, if any."""
        if word in self._cache:
            return self._cache[word]
        best = process.extractOne(
            word, self._words, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SIMILARITY
        )
        key = self._keys[best[2]] if best is not None else None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = key
        return key


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """The long words written in `texts` (a catalog's questions, references, explanations):
    real words an answer may use that are no misspelling of another."""
    return frozenset(
        word
        for text in texts
        for word in tokens(normalize(text))
        if len(word) >= FUZZY_MIN_LEN and word.isalpha()
    )
