"""What the chat load benchmarks share: plausible answers, attempt counting, target verdicts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final

from bot.app import Services
from bot.engine.model import UserRef

SEED: Final = 20250303
"""Both benchmarks draw users' questions and answers from this seed, run after run."""
P99_TARGET_SECONDS: Final = 0.100
THROUGHPUT_RATIO_TARGET: Final = 0.5
"""The issues' targets: p99 to the platform's first response, throughput against a bare app."""
BARE_REPLY: Final = "ok"
"""What the bare baseline app answers every command with."""
KEPT_WORD_SHARE: Final = 0.7
"""A plausible answer keeps about this share of the reference's words."""


def plausible_answer(reference: str, rng: random.Random) -> str:
    """What a candidate might type: most of the reference's words, some left out."""
    words = reference.split()
    kept = [word for word in words if rng.random() < KEPT_WORD_SHARE]
    return " ".join(kept or words[:1])


async def attempt_counts(services: Services, users: Sequence[UserRef]) -> dict[str, int]:
    """Stored attempts per user, read back from the database."""
    return {user.user: len(await services.store.attempts(user)) for user in users}


def lost_and_doubled(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """Each user answered once: count users with no new attempt, and extra attempts."""
    deltas = [after[user] - before[user] for user in before]
    return sum(1 for d in deltas if d < 1), sum(d - 1 for d in deltas if d > 1)


def verdict(met: bool) -> str:
    """The house word for a target."""
    return "ok" if met else "MISSED"
