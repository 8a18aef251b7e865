"""Answer grading: keyword overlap with the reference, done well (see DESIGN.md)."""

from bot.engine.grading.grader import Grader, verdict_for

__all__ = ["Grader", "verdict_for"]
