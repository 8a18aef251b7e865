"""`awsquiz grade --explain`: a grade as a readable report, for pack authors."""

from __future__ import annotations

from bot.engine.model import Grade, Question


def explain_grade(grade: Grade, item: Question | None, line: int) -> str:
    """The grade of one input line: verdict, each rubric concept's fate, what was wrong."""
    title = f"line {line}: " + (item.id if item is not None else "reference answer")
    lines = [title, f"  score {grade.score}/100 · {grade.verdict.value}"]
    contradicted = set(grade.negation_conflicts)
    covered = set(grade.covered)
    if item is not None and item.rubric is not None:
        lines.append("  concepts (weight):")
        for concept in item.rubric.concepts:
            if concept.label in contradicted:
                status = "CONTRADICTED"
            elif concept.label in covered:
                status = "covered"
            else:
                status = "optional, not said" if concept.optional else "MISSED"
            marks = " required" if concept.required else ""
            lines.append(f"    [{status}] {concept.label} ({concept.weight:g}{marks})")
    else:
        lines.append(f"  covered: {', '.join(grade.covered) or 'none'}")
        lines.append(f"  missed: {', '.join(grade.missed) or 'none'}")
        if grade.negation_conflicts:
            lines.append(f"  contradicted: {', '.join(grade.negation_conflicts)}")
    lines.extend(f"  wrong: {note}" for note in grade.contradictions)
    if item is not None:
        lines.append(f"  reference: {item.reference}")
        if item.explanation:
            lines.append(f"  why: {item.explanation}")
        if item.docs:
            lines.append(f"  docs: {item.docs}")
    return "\n".join(lines)
