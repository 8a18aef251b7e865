"""Answer grading: keyword overlap with the reference, done well (see DESIGN.md)."""

from bot.engine.grading.grader import Grader

__all__ = ["Grader"]
