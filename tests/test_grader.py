"""Behaviour of the answer grader: each test fails without the feature it names."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from bot.engine.grading import Grader
from bot.engine.grading.text import tokens
from bot.engine.model import Verdict

HA_QUESTION = "How do you ensure high availability for EC2 workloads?"
HA_REFERENCE = (
    "Use multiple Availability Zones, Auto Scaling Groups, Elastic Load Balancer,"
    " and health checks."
)
EBS_REFERENCE = (
    "EBS is persistent and can be detached; instance store is ephemeral and lost on stop/terminate."
)
BANK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aws-devops-zero-to-hero"


@pytest.fixture
def grader() -> Grader:
    """A fresh grader."""
    return Grader()


@pytest.mark.parametrize(
    "reference",
    [
        HA_REFERENCE,
        EBS_REFERENCE,
        "Binpack, random, spread.",
        "ECS is AWS-native, EKS is Kubernetes-based. Fargate is a serverless compute engine.",
        "Use IAM roles for tasks, security groups, VPC isolation, and secrets management.",
    ],
)
def test_reference_graded_against_itself_is_correct(grader: Grader, reference: str) -> None:
    grade = grader.grade(reference, reference)
    assert grade.score >= 90
    assert grade.verdict is Verdict.CORRECT
    assert grade.missed == ()


def test_unrelated_reference_scores_low(grader: Grader) -> None:
    grade = grader.grade(EBS_REFERENCE, HA_REFERENCE, question=HA_QUESTION)
    assert grade.score <= 20
    assert grade.verdict is Verdict.INCORRECT


def test_words_copied_from_the_question_earn_nothing(grader: Grader) -> None:
    reference = "Auto Scaling adjusts the number of EC2 instances based on demand."
    question = "What does Auto Scaling do with EC2 instances?"
    copied = grader.grade(
        "Auto Scaling does things with EC2 instances.", reference, question=question
    )
    assert copied.score == 0
    # The same words are worth something when the question did not ask them.
    assert grader.grade("Auto Scaling does things with EC2 instances.", reference).score > 0


def test_acronym_alias_covers_the_spelled_out_concept(grader: Grader) -> None:
    grade = grader.grade("ASG across AZs behind an ALB, with health checks", HA_REFERENCE)
    assert "Auto Scaling Groups" in grade.covered
    assert "multiple Availability Zones" in grade.covered
    assert "Elastic Load Balancer" in grade.covered  # an ALB is a kind of ELB
    assert grade.verdict is Verdict.CORRECT


def test_question_specific_alias_counts(grader: Grader) -> None:
    reference = "Use Systems Manager Parameter Store for configuration."
    without = grader.grade("Use PS for configuration", reference)
    with_alias = grader.grade(
        "Use PS for configuration", reference, aliases=[("Parameter Store", ("PS",))]
    )
    assert with_alias.score > without.score


def test_negated_answer_conflicts_and_scores_lower(grader: Grader) -> None:
    positive = grader.grade("use multiple availability zones", HA_REFERENCE)
    negated = grader.grade("do not use multiple availability zones", HA_REFERENCE)
    assert negated.negation_conflicts == ("multiple Availability Zones",)
    assert positive.negation_conflicts == ()
    assert negated.score < positive.score


def test_antonym_contradicts_the_reference(grader: Grader) -> None:
    reference = "The port must stay open."
    assert grader.grade("the port is closed", reference).negation_conflicts == ("stay open",)
    assert grader.grade("the port is not closed", reference).negation_conflicts == ()


def test_typo_in_a_long_word_still_matches(grader: Grader) -> None:
    assert "persistent" in grader.grade("EBS is persistant", EBS_REFERENCE).covered
    reference = "Use cross-region replication."
    assert "cross-region replication" in grader.grade("cross region replicaton", reference).covered


def test_short_service_names_do_not_fuzzy_match(grader: Grader) -> None:
    assert grader.grade("ECS", "EC2").score == 0
    assert grader.grade("EKS", "ECS").score == 0
    assert grader.grade("EC2", "EC2").score == 100


def test_covered_and_missed_are_reference_phrases(grader: Grader) -> None:
    grade = grader.grade("I would binpack or spread tasks", "Binpack, random, spread.")
    assert grade.covered == ("Binpack", "spread")
    assert grade.missed == ("random",)
    assert grader.concepts("Binpack, random, spread.") == ("Binpack", "random", "spread")
    assert grader.concepts(HA_REFERENCE, question=HA_QUESTION) == (
        "multiple Availability Zones",
        "Auto Scaling Groups",
        "Elastic Load Balancer",
        "health checks",
    )


def test_author_concepts_override_extraction(grader: Grader) -> None:
    concepts = ("multi-AZ", "Auto Scaling")
    assert grader.concepts(HA_REFERENCE, concepts=concepts) == concepts
    grade = grader.grade("Auto Scaling groups", HA_REFERENCE, concepts=concepts)
    assert grade.covered == ("Auto Scaling",)
    assert grade.missed == ("multi-AZ",)


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   \n\t ",
        "?!.,;:()",
        "the and of to",
        "\u200b\u200c\u200d\ufeff",
        "\u202eseno\u202c \u200fRTL\u200f",
        "🚀🔥 ☁️ 👍🏽",
        "Z̵̢̛a̴͎͝l̷̙̈g̶̤̊o̵̧͛",
        "\ud800",
    ],
)
def test_degenerate_answers_score_zero(grader: Grader, answer: str) -> None:
    grade = grader.grade(answer, HA_REFERENCE)
    assert grade.score == 0
    assert grade.verdict is Verdict.INCORRECT


def test_odd_unicode_is_normalised_not_fatal(grader: Grader) -> None:
    zero_width = "multiple Avail\u200bability Zones, Auto\u00adScaling Groups"
    assert "multiple Availability Zones" in grader.grade(zero_width, HA_REFERENCE).covered
    full_width = "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "HEALTH CHECKS")
    assert "health checks" in grader.grade(full_width, HA_REFERENCE).covered
    accented = "héalth chécks"
    assert "health checks" in grader.grade(accented, HA_REFERENCE).covered
    curly = "don\u2019t use multiple availability zones"
    assert grader.grade(curly, HA_REFERENCE).negation_conflicts


@pytest.mark.parametrize(
    "reference",
    ["サーバーレス コンピューティング と イベント駆動", "Настройка шифрования: ключи и политика"],
)
def test_concepts_in_other_scripts_are_shown_and_matched_as_written(
    grader: Grader, reference: str
) -> None:
    # Marks that are part of a letter (the dakuten of バ, the breve of й) are kept.
    grade = grader.grade(reference, reference)
    assert grade.score == 100
    assert grade.covered
    for phrase in grade.covered:
        assert phrase.casefold() in reference.casefold()


def test_huge_answer_does_not_crash(grader: Grader) -> None:
    huge = (HA_REFERENCE + " lorem ipsum ") * 5000
    grade = grader.grade(huge, HA_REFERENCE)
    assert 0 <= grade.score <= 100
    assert len(grade.covered) == 4


def test_grading_is_deterministic(grader: Grader) -> None:
    answer = "ASG in two AZs, no load balancer"
    first = grader.grade(answer, HA_REFERENCE, question=HA_QUESTION)
    assert all(
        Grader().grade(answer, HA_REFERENCE, question=HA_QUESTION) == first for _ in range(5)
    )


def _bank_pairs() -> list[tuple[str, str]]:
    """(question, reference) pairs of the third-party bank: `### N. Question` then the answer."""
    pairs: list[tuple[str, str]] = []
    for path in sorted(BANK.glob("*.md")):
        for block in re.split(r"^### ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
            heading, _, body = block.partition("\n")
            question = re.sub(r"^\d+\.\s*", "", heading).replace("**Scenario:**", "").strip()
            answer = body.replace("**Answer:**", "").strip()
            if answer:
                pairs.append((question, answer))
    return pairs


@pytest.mark.skipif(not BANK.is_dir(), reason=f"third-party question bank not found at {BANK}")
def test_third_party_bank_self_grades_full_and_cross_grades_low(grader: Grader) -> None:
    pairs = _bank_pairs()
    assert len(pairs) > 400
    self_scores = [grader.grade(ref, ref, question=q).score for q, ref in pairs]
    assert min(self_scores) >= 90
    shifted = pairs[1:] + pairs[:1]  # each question answered with its neighbour's reference
    cross_scores = [
        grader.grade(other, ref, question=q).score
        for (q, ref), (_, other) in zip(pairs, shifted, strict=True)
    ]
    assert statistics.median(cross_scores) <= 30


def test_every_default_pack_reference_self_grades_full_and_cross_grades_low(
    grader: Grader,
) -> None:
    from statistics import median

    from content.loader import default_pack

    questions = default_pack().questions
    for item in questions:
        own = grader.grade(
            item.reference,
            item.reference,
            question=item.prompt,
            concepts=item.concepts,
            aliases=item.aliases,
        )
        assert own.score >= 90, item.id
    # Each reference against the question seven places on (another topic, mostly).
    cross = [
        grader.grade(
            questions[(i + 7) % len(questions)].reference, item.reference, question=item.prompt
        ).score
        for i, item in enumerate(questions)
    ]
    assert median(cross) <= 10
    assert max(cross) < 70  # never "correct" for another question's answer


def test_a_number_with_thousands_separators_is_one_word() -> None:
    assert tokens("up to 10,000 children, and 5, 10 or 1,000,000") == [
        "up",
        "to",
        "10000",
        "children",
        ",",
        "and",
        "5",
        ",",
        "10",
        "or",
        "1000000",
    ]
