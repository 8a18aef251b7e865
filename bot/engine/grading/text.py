"""Text normalisation, tokenising, stemming and the general English word lists."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import snowballstemmer  # type: ignore[import-untyped]  # ships no type hints

# Clause punctuation is kept as a token: it ends a negation scope and an alias phrase.
CLAUSE_BREAKS: Final = frozenset(".,;:!?()[]")

# A word is letters/digits (any script, no underscore); "don't" splits into "do" + "n't".
# A dot between two letters or digits (Node.js, v1.2) joins a name: it ends no clause.
# A number with thousands separators ("10,000") is one word, not two clauses.
_GROUPED_NUMBER: Final = r"\d{1,3}(?:,\d{3})+(?!\d)|"
_WORD_PATTERN: Final = re.compile(
    _GROUPED_NUMBER + r"[^\W_]+?(?=n't\b)|n't\b|[^\W_]+|\.(?![^\W_])|[,;:!?()\[\]]"
)
_SIMPLE_WORD_PATTERN: Final = re.compile(_GROUPED_NUMBER + r"[^\W_]+|\.(?![^\W_])|[,;:!?()\[\]]")

# Curly quotes (U+2018, U+2019, U+02BC) become straight so contractions split alike.
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})

_STEM_CACHE_LIMIT: Final = 200_000


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a word-list literal."""
    return frozenset(text.split())


STOPWORDS: Final = word_set(
    """
    a about above across actually again against ago ah all almost along already also although
    always am among amongst an and another any anybody anyone anything anyway anywhere are
    aren around as at away be became because become becomes been being besides between beyond
    both but by ca can could d did do does doing done dont down during each either else
    enough especially etc even ever every everyone everything example exactly far few for
    from further get gets getting give given gives go goes going gone got had has have having
    he her here hers herself him himself his how however i ie if in indeed instead into is it
    its itself just kind least let lets like ll m many may maybe me might mine more most mostly
    much must my myself namely nearly neither nevertheless o of off often oh ok okay on one
    ones onto or other others otherwise our ours ourselves out over own per perhaps please
    quite rather re really s said say says see seem seemed seems several shall she should
    simply since so some somebody someone something sometimes somewhat still such sure t than
    that the their theirs them themselves then there thereby therefore these they thing things
    this those though through thus to together too toward towards u ugh um upon us usually
    use used uses using ve very via was way ways we well were what whatever when whenever where
    whereas whether which while who whoever whole whom whose why will with within would yes yet
    you your yours yourself yourselves wo e eg i.e also called basically mean means
    able allow allows allowed make makes making made need needs needed want wants provide
    provides provided help helps helped let's thats whats it's supports supported supporting
    offers offered offering
    """
)
"""Function words and light verbs that carry no concept on their own."""

NEGATORS: Final = word_set(
    "not no never n't without cannot none nothing nobody nowhere neither nor cant dont doesnt"
    " didnt isnt arent wasnt werent wont shouldnt couldnt wouldnt hasnt havent lack lacks non"
)
"""Words that flip the polarity of what follows them in the same clause."""

SCOPE_BREAKERS: Final = word_set(
    "but however although though whereas while because since unless except instead rather"
    " yet which that who whom whose"
)
"""Words that start a new clause, ending any negation scope before them."""

# The C stemmer of PyStemmer when it is installed (a dependency), else the pure Python one.
_stemmer = snowballstemmer.stemmer("english")
_stem_cache: dict[str, str] = {}


def normalize(text: str) -> str:
    """Return `text` in NFKC form, without invisible format characters or Latin accents."""
    if text.isascii():
        return text.translate(_APOSTROPHES)
    text = unicodedata.normalize("NFKC", text)
    # Decompose so accents become separate combining marks we can drop: "é" matches "e".
    # Only on Latin letters: in other scripts the marks are part of the letter (the dakuten
    # of バ, the breve of й, Devanagari vowel signs), and dropping them changes the word.
    kept: list[str] = []
    latin_base = False
    for char in unicodedata.normalize("NFD", text):
        category = unicodedata.category(char)
        if category in ("Cf", "Co"):
            continue
        if category in ("Mn", "Me"):
            if not latin_base:
                kept.append(char)
            continue
        latin_base = char.isascii() and char.isalpha()
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_APOSTROPHES)


def tokens(text: str) -> list[str]:
    """Case-folded word and clause-punctuation tokens of already normalised text."""
    folded = text.casefold()
    found = (_WORD_PATTERN if "'" in folded else _SIMPLE_WORD_PATTERN).findall(folded)
    if "," not in folded:
        return found
    return [word.replace(",", "") if word[:1].isdigit() else word for word in found]


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Like `tokens`, with each token's (start, end) in `text`, for display phrases."""
    pattern = _WORD_PATTERN if "'" in text else _SIMPLE_WORD_PATTERN
    return [
        (found.group().casefold(), found.start(), found.end()) for found in pattern.finditer(text)
    ]


def stem(word: str) -> str:
    """The Snowball English stem of a case-folded word, cached."""
    cached = _stem_cache.get(word)
    if cached is None:
        cached = str(_stemmer.stemWord(word)) if word.isalpha() else word
        if len(_stem_cache) >= _STEM_CACHE_LIMIT:
            _stem_cache.clear()
        _stem_cache[word] = cached
    return cached


def clear_stem_cache() -> None:
    """Forget the cached stems."""
    _stem_cache.clear()
