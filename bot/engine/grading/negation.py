"""Polarity: antonym pairs of general English, folded onto one stem with a flipped sign."""

from __future__ import annotations

from typing import Final

from bot.engine.grading.text import stem

# (positive, negative) word pairs of general English; the negative word is graded as
# "not <positive>" so that "closed" contradicts "open" and "not closed" agrees with it.
ANTONYM_PAIRS: Final[tuple[tuple[str, str], ...]] = (
    ("open", "closed"),
    ("open", "shut"),
    ("increase", "decrease"),
    ("increase", "reduce"),
    ("same", "different"),
    ("same", "distinct"),
    ("enable", "disable"),
    ("connected", "disconnected"),
    ("include", "exclude"),
    ("accept", "reject"),
    ("true", "false"),
    ("positive", "negative"),
    ("public", "private"),
    ("encrypted", "unencrypted"),
    ("synchronous", "asynchronous"),
    ("persistent", "ephemeral"),
    ("persistent", "temporary"),
    ("persistent", "transient"),
    ("stateful", "stateless"),
    ("long", "short"),
    ("horizontal", "vertical"),
    ("permanent", "temporary"),
    ("valid", "invalid"),
    ("visible", "invisible"),
    ("possible", "impossible"),
    ("succeed", "fail"),
    ("success", "failure"),
    ("start", "stop"),
    ("mutable", "immutable"),
    ("high", "low"),
    ("higher", "lower"),
    ("large", "small"),
    ("larger", "smaller"),
    ("fast", "slow"),
    ("faster", "slower"),
    ("before", "after"),
    ("inside", "outside"),
    ("internal", "external"),
    ("complete", "incomplete"),
    ("full", "empty"),
    ("present", "absent"),
    ("available", "unavailable"),
    ("healthy", "unhealthy"),
    ("static", "dynamic"),
    ("automatic", "manual"),
    ("maximum", "minimum"),
    ("add", "remove"),
    ("strong", "weak"),
    ("secure", "insecure"),
    ("allowed", "denied"),
    ("allow", "deny"),
    ("correct", "incorrect"),
    ("equal", "unequal"),
    ("known", "unknown"),
    ("limited", "unlimited"),
    ("necessary", "unnecessary"),
    ("pass", "fail"),
    ("win", "lose"),
)


def _build_antonym_stems() -> dict[str, str]:
    """Map the stem of each negative word to the stem of its positive partner."""
    folded: dict[str, str] = {}
    for positive, negative in ANTONYM_PAIRS:
        positive_stem, negative_stem = stem(positive), stem(negative)
        if positive_stem != negative_stem:
            folded.setdefault(negative_stem, positive_stem)
    return folded


NEGATIVE_STEMS: Final[dict[str, str]] = _build_antonym_stems()
"""Stem of a negative antonym -> stem of the positive word it denies."""
