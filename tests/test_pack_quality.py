"""Quality gates over every shipped question: the answer keys must grade their own references
full, tell the questions of a topic apart, not hide the answer in the prompt, and show the
learner everything the rubric asks for. `pytest tests/test_pack_quality.py -k TOPIC` checks one
topic while it is being written.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from bot.engine.catalog import Catalog
from bot.engine.grading.grader import Grader
from bot.engine.grading.text import STOPWORDS, normalize, stem, tokens
from bot.engine.model import Difficulty, Question
from content.loader import bank_packs, load_catalog

SELF_GRADE_FLOOR = 90
CROSS_GRADE_CEILING = 50
GIVEN_AWAY_SHARE = 1 / 3
"""A prompt may name at most this share of its rubric's weight: the rest is for the learner."""

CATALOG: Catalog = load_catalog()
TOPICS = [topic.id for topic in CATALOG.topics]
GRADER = Grader()


def content_stems(text: str) -> set[str]:
    return {stem(word) for word in tokens(normalize(text)) if word.isalnum()} - STOPWORDS


def _questions(topic_id: str) -> tuple[Question, ...]:
    return CATALOG.select(topic_ids={topic_id})


def _grade(answer: str, question: Question) -> int:
    return GRADER.grade_question(answer, question).score


@pytest.mark.parametrize("topic_id", TOPICS)
def test_every_question_has_a_rubric_explanation_and_docs_link(topic_id: str) -> None:
    for question in _questions(topic_id):
        assert question.rubric is not None, question.origin
        assert question.explanation, f"{question.origin}: {question.id} has no explain"
        assert question.docs.startswith("https://"), f"{question.origin}: {question.id} docs"


@pytest.mark.parametrize("topic_id", TOPICS)
def test_each_reference_grades_full_against_its_own_question(topic_id: str) -> None:
    low = {
        q.id: score
        for q in _questions(topic_id)
        if (score := _grade(q.reference, q)) < SELF_GRADE_FLOOR
    }
    assert not low, f"references graded under {SELF_GRADE_FLOOR} by their own rubric: {low}"


@pytest.mark.parametrize("topic_id", TOPICS)
def test_the_reference_of_another_question_of_the_topic_grades_low(topic_id: str) -> None:
    high = {
        f"{q.id} <- {other.id}": score
        for q, other in itertools.permutations(_questions(topic_id), 2)
        if other.id not in q.overlaps
        and q.id not in other.overlaps
        and (score := _grade(other.reference, q)) >= CROSS_GRADE_CEILING
    }
    assert not high, f"another question's reference scores {CROSS_GRADE_CEILING}+: {high}"


@pytest.mark.parametrize("topic_id", TOPICS)
def test_no_prompt_names_most_of_its_own_answer(topic_id: str) -> None:
    given_away = {}
    for question in _questions(topic_id):
        assert question.rubric is not None
        prompt = content_stems(question.prompt)
        counted = [c for c in question.rubric.concepts if not c.optional]
        named = [c for c in counted if content_stems(c.name) <= prompt]
        total = sum(c.weight for c in counted)
        if sum(c.weight for c in named) > GIVEN_AWAY_SHARE * total:
            given_away[question.id] = [c.name for c in named]
    assert not given_away, f"prompts that name their own answer's concepts: {given_away}"


@pytest.mark.parametrize("topic_id", TOPICS)
def test_every_rubric_concept_is_stated_in_the_reference_or_explanation(topic_id: str) -> None:
    unstated = {}
    for question in _questions(topic_id):
        assert question.rubric is not None
        shown = f"{question.reference}\n{question.explanation}"
        grade = GRADER.grade(
            shown, question.reference, aliases=question.aliases, rubric=question.rubric
        )
        required = {c.label for c in question.rubric.concepts if not c.optional}
        if missing := sorted(required - set(grade.covered)):
            unstated[question.id] = missing
    assert not unstated, f"concepts the learner is never shown: {unstated}"


def test_the_bank_covers_an_aws_interview() -> None:
    per_topic = Counter(q.topic_id for q in CATALOG.questions)
    interview = Counter(
        q.topic_id for q in CATALOG.questions if q.difficulty is Difficulty.INTERVIEW
    )
    seed_topics = {"ecs", "ec2", "glue-jobs", "step-functions", "lambda", "s3"}
    seed_topics |= {"elasticsearch-service", "cloudwatch", "docker", "terraform"}
    assert len(CATALOG.questions) >= 500
    for topic_id in seed_topics:
        assert per_topic[topic_id] >= 25, topic_id
        assert interview[topic_id] >= 10, topic_id
    others = [t for t in per_topic if t not in seed_topics]
    assert len(others) >= 10
    assert all(per_topic[t] >= 20 for t in others), per_topic
    assert bank_packs(), "the bank ships inside the package"
