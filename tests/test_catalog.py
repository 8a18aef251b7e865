"""Catalog: loose topic lookup, difficulty parsing and question selection."""

from __future__ import annotations

import pytest

from bot.app import topic_nicknames
from bot.engine.catalog import Catalog, parse_difficulty
from bot.engine.errors import UnknownDifficultyError, UnknownQuestionError, UnknownTopicError
from bot.engine.model import Difficulty, Question, Topic

TOPIC_NAMES = (
    "Amazon ECS, Amazon EC2, AWS Glue Jobs, AWS Step Functions, AWS Lambda, Amazon S3, "
    "Amazon Elasticsearch Service, Amazon CloudWatch, Docker, Terraform"
)


@pytest.mark.parametrize(
    ("query", "topic_id"),
    [
        ("lambda", "lambda"),
        ("Lambda", "lambda"),
        ("AWS Lambda", "lambda"),
        ("  LAMBDA ", "lambda"),
        ("lamda", "lambda"),
        ("step functions", "step-functions"),
        ("Step-Functions", "step-functions"),
        ("stepfunctions", "step-functions"),
        ("sfn", "step-functions"),
        ("opensearch", "elasticsearch-service"),
        ("elasticsearch", "elasticsearch-service"),
        ("glue", "glue-jobs"),
        ("Elastic Container Service", "ecs"),
        ("ecs", "ecs"),
        ("EC2", "ec2"),
        ("s3", "s3"),
        ("Simple Storage Service", "s3"),
        ("cloudwatch", "cloudwatch"),
        ("terraform", "terraform"),
    ],
)
def test_find_topic_matches_loosely(catalog: Catalog, query: str, topic_id: str) -> None:
    assert catalog.find_topic(query).id == topic_id


@pytest.mark.parametrize("query", ["EKS", "eks", "kubernetes", "xyz", "", "  ", "e"])
def test_unknown_topics_fail_listing_every_topic(catalog: Catalog, query: str) -> None:
    with pytest.raises(UnknownTopicError) as caught:
        catalog.find_topic(query)

    assert caught.value.topic == query
    assert ", ".join(caught.value.known) == TOPIC_NAMES
    assert str(caught.value) == f"Unknown topic {query!r}. Topics: {TOPIC_NAMES}."


def test_eks_does_not_match_ecs_or_ec2_even_though_one_letter_apart(catalog: Catalog) -> None:
    for query in ("EKS", "eks"):
        with pytest.raises(UnknownTopicError):
            catalog.find_topic(query)
    assert catalog.find_topic("ECS").id == "ecs"


def test_nicknames_come_from_the_alias_table(catalog: Catalog) -> None:
    plain = Catalog(catalog.topics, catalog.questions)

    with pytest.raises(UnknownTopicError):
        plain.find_topic("sfn")
    assert catalog.find_topic("sfn").id == "step-functions"
    assert "sfn" in topic_nicknames()


def test_a_prefix_matching_one_topic_finds_it_but_an_ambiguous_one_does_not() -> None:
    topics = [Topic("cloudwatch", "Amazon CloudWatch"), Topic("cloudtrail", "AWS CloudTrail")]
    questions = [
        Question("cloudwatch/a", "cloudwatch", "A?", "a", Difficulty.BASIC),
        Question("cloudtrail/b", "cloudtrail", "B?", "b", Difficulty.BASIC),
    ]
    catalog = Catalog(topics, questions)

    assert catalog.find_topic("cloudw").id == "cloudwatch"
    assert catalog.find_topic("cloudt").id == "cloudtrail"
    with pytest.raises(UnknownTopicError) as caught:
        catalog.find_topic("cloud")
    assert caught.value.known == ("Amazon CloudWatch", "AWS CloudTrail")


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("basic", Difficulty.BASIC),
        ("Basic", Difficulty.BASIC),
        (" ADVANCED ", Difficulty.ADVANCED),
        ("interview", Difficulty.INTERVIEW),
    ],
)
def test_parse_difficulty_accepts_any_case(name: str, level: Difficulty) -> None:
    assert parse_difficulty(name) is level


@pytest.mark.parametrize("name", ["hard", "", "basics", "expert"])
def test_unknown_difficulty_fails_listing_the_levels(name: str) -> None:
    with pytest.raises(UnknownDifficultyError) as caught:
        parse_difficulty(name)

    assert caught.value.known == ("basic", "advanced", "interview")
    assert str(caught.value) == (
        f"Unknown difficulty {name!r}. Choose one of: basic, advanced, interview."
    )


def test_select_filters_by_topics_and_difficulty(catalog: Catalog) -> None:
    ecs_advanced = catalog.select(topic_ids={"ecs"}, difficulty=Difficulty.ADVANCED)
    two_topics = catalog.select(topic_ids={"ecs", "lambda"})

    assert [q.id for q in ecs_advanced] == [
        "ecs/blue-green-deployments",
        "ecs/service-auto-scaling",
        "ecs/task-placement-strategies",
        "ecs/integration",
    ]
    assert len(two_topics) == 11 + 10
    assert {q.topic_id for q in two_topics} == {"ecs", "lambda"}
    assert catalog.select() == catalog.questions
    assert catalog.select(topic_ids=set()) == ()


def test_counts_per_topic_and_difficulty(catalog: Catalog) -> None:
    counts = catalog.counts()

    assert counts["ecs"] == {
        Difficulty.BASIC: 5,
        Difficulty.ADVANCED: 4,
        Difficulty.INTERVIEW: 2,
    }
    assert sum(sum(c.values()) for c in counts.values()) == 106


def test_unknown_question_ids_raise_a_named_error(catalog: Catalog) -> None:
    with pytest.raises(UnknownQuestionError) as caught:
        catalog.question("ecs/nope")

    assert caught.value.question_id == "ecs/nope"
    assert catalog.question("ecs/clusters").reference == "Logical grouping of tasks or services."
