"""Choosing questions: never repeat until the pool runs out, then the ones scored lowest."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from bot.engine.model import Question


def freshest(
    pool: Sequence[Question], recent_ids: Sequence[str], rng: random.Random, count: int
) -> list[Question]:
    """Return `count` questions of `pool`: unseen ones first (in random order), then seen ones
    from the longest ago. `recent_ids` lists what was seen, newest first.
    """
    age = {question_id: index for index, question_id in enumerate(recent_ids)}
    never_seen = len(recent_ids)
    shuffled = list(pool)
    rng.shuffle(shuffled)
    # Unseen questions get the largest age, so they sort first; the sort is stable, so ties
    # keep their random order.
    shuffled.sort(key=lambda q: -age.get(q.id, never_seen))
    return shuffled[:count]


def weakest(
    pool: Sequence[Question],
    recent_ids: Sequence[str],
    best_scores: Mapping[str, int],
    count: int,
) -> list[Question]:
    """Return `count` questions of a pool the user has seen all of: the ones they scored
    lowest first (seen but never answered counts lowest), the longest ago first among equals.
    """
    age = {question_id: index for index, question_id in enumerate(recent_ids)}
    ordered = sorted(pool, key=lambda q: (best_scores.get(q.id, -1), -age.get(q.id, 0)))
    return ordered[:count]
