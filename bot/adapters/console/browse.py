"""`awsquiz content list --questions` and `content show ID`: the pack as an author reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.engine.model import Question, Rubric, RubricConcept


def question_json(question: Question) -> dict[str, Any]:
    """One question as `content list --questions --json` and `content show --json` print it."""
    item: dict[str, Any] = {
        "id": question.id,
        "topic": question.topic_id,
        "difficulty": question.difficulty.value,
        "question": question.prompt,
        "reference": question.reference,
        "origin": question.origin,
    }
    if question.rubric is not None:
        item["rubric"] = _rubric_json(question.rubric)
    if question.explanation:
        item["explain"] = question.explanation
    if question.docs:
        item["docs"] = question.docs
    return item


def _rubric_json(rubric: Rubric) -> dict[str, Any]:
    return {
        "subjects": {subject.name: list(subject.names) for subject in rubric.subjects},
        "concepts": [
            {
                "name": concept.name,
                "also": list(concept.phrasings),
                "weight": concept.weight,
                "required": concept.required,
                "optional": concept.optional,
                "of": concept.subject,
            }
            for concept in rubric.concepts
        ],
    }


def print_questions(console: Console, questions: Sequence[Question], title: str) -> None:
    """A table of questions: id, difficulty, whether it has a rubric, the wording."""
    table = Table(title=title, show_lines=False)
    table.add_column("Id", style="dim", no_wrap=True)
    table.add_column("Difficulty")
    table.add_column("Rubric", justify="center")
    table.add_column("Question")
    for question in questions:
        table.add_row(
            escape(question.id),
            question.difficulty.value,
            "yes" if question.rubric is not None else "-",
            escape(question.prompt),
        )
    console.print(table)


def print_question(console: Console, question: Question) -> None:
    """One question with its reference, rubric, explanation and docs link."""
    console.print(f"[bold]{escape(question.prompt)}[/bold]")
    console.print(
        f"[dim]{escape(question.id)} · {question.difficulty.value} · {escape(question.origin)}"
        "[/dim]"
    )
    console.print(f"\n[bold]Reference[/bold]\n{escape(question.reference)}")
    if question.rubric is not None:
        console.print("\n[bold]Rubric[/bold]")
        for subject in question.rubric.subjects:
            others = f" (also: {', '.join(subject.names)})" if subject.names else ""
            console.print(f"  subject {escape(subject.name)}{escape(others)}")
        for concept in question.rubric.concepts:
            console.print(f"  - {escape(_concept_line(concept))}")
    if question.explanation:
        console.print(f"\n[bold]Why[/bold]\n{escape(question.explanation)}")
    if question.docs:
        console.print(f"\n[bold]Learn more[/bold] {escape(question.docs)}")


def _concept_line(concept: RubricConcept) -> str:
    marks = [f"weight {concept.weight:g}"] if concept.weight != 1 else []
    if concept.required:
        marks.append("required")
    if concept.optional:
        marks.append("optional")
    head = concept.label + (f" [{', '.join(marks)}]" if marks else "")
    return f"{head}: {', '.join(concept.phrasings)}" if concept.phrasings else head
