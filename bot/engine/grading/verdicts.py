"""Verdict thresholds: where a score becomes correct, partial or incorrect."""

from __future__ import annotations

from typing import Final

from bot.engine.model import Verdict

CORRECT_THRESHOLD: Final = 70
"""A score at or above this is a correct answer."""
PARTIAL_THRESHOLD: Final = 35
"""A score at or above this (and below CORRECT_THRESHOLD) is a partial answer."""


def verdict_for(score: int) -> Verdict:
    """The verdict for a score."""
    if score >= CORRECT_THRESHOLD:
        return Verdict.CORRECT
    if score >= PARTIAL_THRESHOLD:
        return Verdict.PARTIAL
    return Verdict.INCORRECT
