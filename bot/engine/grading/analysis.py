"""Turns a token stream into units: concept keys with polarity, stopwords and clause breaks."""

from __future__ import annotations

from enum import IntEnum
from typing import Final, NamedTuple

from bot.engine.grading.aliases import AliasMatcher
from bot.engine.grading.negation import NEGATIVE_STEMS
from bot.engine.grading.text import (
    CLAUSE_BREAKS,
    NEGATORS,
    SCOPE_BREAKERS,
    STOPWORDS,
    clear_stem_cache,
    stem,
)

NEGATION_SCOPE: Final = 1
"""How many content units after a negator it negates: the next one ("not connected"), since
negating a whole clause would flip nouns the sentence never denied ("not in a public
subnet" denies "public", not "subnet")."""

# "no longer" negates like "no"; "not only ... but also" does not negate at all.
_NEGATION_TAILS: Final = frozenset({"longer"})
_CANCELLING_TAILS: Final = frozenset({"only", "just", "merely", "simply"})

NEGATED_MARK: Final = "!"
"""Prefix of a signed term that is stated negatively ("not connected" is "!connect")."""

_WORD_CACHE_LIMIT: Final = 200_000


def signed(key: str, negated: bool) -> str:
    """The signed term for a key stated with the given polarity."""
    return NEGATED_MARK + key if negated else key


def opposite(term: str) -> str:
    """The same key with the other polarity."""
    return term[1:] if term.startswith(NEGATED_MARK) else NEGATED_MARK + term


def is_negated(term: str) -> bool:
    """Whether a signed term is stated negatively."""
    return term.startswith(NEGATED_MARK)


def unsigned(term: str) -> str:
    """The key of a signed term."""
    return term[1:] if term.startswith(NEGATED_MARK) else term


class Kind(IntEnum):
    """What a unit is to the grader."""

    CONTENT = 0
    STOP = 1
    NEGATOR = 2
    BREAK = 3


class Unit(NamedTuple):
    """One content word or alias phrase (or a non-content token) of a text.

    `start`/`end` index the token list; `word` is the case-folded surface text.
    """

    kind: Kind
    key: str
    negated: bool
    word: str
    start: int
    end: int


class _WordInfo(NamedTuple):
    """Everything about one case-folded word that does not depend on its context."""

    stem: str
    key: str
    flipped: bool
    kind: Kind


_word_cache: dict[str, _WordInfo] = {}


def _word_info(word: str) -> _WordInfo:
    """Classify a word once; later lookups are one dict access."""
    info = _word_cache.get(word)
    if info is not None:
        return info
    word_stem = stem(word)
    if word in CLAUSE_BREAKS or word in SCOPE_BREAKERS:
        info = _WordInfo(word_stem, word_stem, False, Kind.BREAK)
    elif word in NEGATORS:
        info = _WordInfo(word_stem, word_stem, False, Kind.NEGATOR)
    elif word in STOPWORDS or (len(word) == 1 and word.isalpha()):
        info = _WordInfo(word_stem, word_stem, False, Kind.STOP)
    else:
        positive = NEGATIVE_STEMS.get(word_stem)
        if positive is None:
            info = _WordInfo(word_stem, word_stem, False, Kind.CONTENT)
        else:
            info = _WordInfo(word_stem, positive, True, Kind.CONTENT)
    if len(_word_cache) >= _WORD_CACHE_LIMIT:
        _word_cache.clear()
    _word_cache[word] = info
    return info


def forget_words() -> None:
    """Drop every cached word analysis and stem (a benchmark's cold start; memory)."""
    _word_cache.clear()
    clear_stem_cache()


def scan(words: list[str], matcher: AliasMatcher, *, content_only: bool = False) -> list[Unit]:
    """Split tokens into units, folding alias spellings and marking negated content.

    A negator negates the next NEGATION_SCOPE content units of its clause. With
    `content_only`, stopword/negator/break units are left out (grading answers needs no more).
    """
    cache = _word_cache
    infos = [cache.get(word) or _word_info(word) for word in words]
    stems = [info.stem for info in infos]
    alias_starts = matcher.first_stems
    units: list[Unit] = []
    scope = 0
    after_negator = False
    index = 0
    count = len(words)
    while index < count:
        info = infos[index]
        if info.stem in alias_starts:
            found = matcher.match(stems, index)
            if found is not None:
                key, end = found
                units.append(
                    Unit(Kind.CONTENT, key, scope > 0, " ".join(words[index:end]), index, end)
                )
                scope, after_negator = max(scope - 1, 0), False
                index = end
                continue
        kind = info.kind
        word = words[index]
        if after_negator:
            after_negator = False
            if word in _NEGATION_TAILS:
                kind = Kind.STOP
            elif word in _CANCELLING_TAILS:
                scope, kind = 0, Kind.STOP
        if kind is Kind.CONTENT:
            units.append(Unit(kind, info.key, (scope > 0) != info.flipped, word, index, index + 1))
            if scope:
                scope -= 1
        else:
            if kind is Kind.NEGATOR:
                scope, after_negator = NEGATION_SCOPE, True
            elif kind is Kind.BREAK:
                scope = 0
            if not content_only:
                units.append(Unit(kind, info.key, False, word, index, index + 1))
        index += 1
    return units
