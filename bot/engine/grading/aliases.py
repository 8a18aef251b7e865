"""The AWS/DevOps alias table and a matcher that folds every spelling onto one key."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from bot.engine.grading.text import CLAUSE_BREAKS, normalize, stem, tokens

ALIAS_KEY_PREFIX: Final = "@"
"""Alias keys start with this so they never collide with a word stem."""
QUESTION_ALIAS_PREFIX: Final = "~"
"""Keys of a question's own aliases start with this."""

_MATCHER_CACHE_SIZE: Final = 512

# canonical name -> other spellings. Each spelling is tokenised and stemmed like any text,
# so plurals and hyphenation ("auto-scaling groups") match without listing them.
AWS_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "az": ("availability zone", "availability zones", "azs"),
    "asg": ("auto scaling group", "autoscaling group", "asgs"),
    "autoscaling": ("auto scaling", "autoscaling", "auto scale", "autoscale"),
    "alb": ("application load balancer",),
    "nlb": ("network load balancer",),
    "gwlb": ("gateway load balancer",),
    "elb": ("elastic load balancer", "elastic load balancing", "load balancer", "load balancing"),
    "sg": ("security group", "security groups", "sgs"),
    "nacl": ("network acl", "network access control list", "network acls", "nacls"),
    "kms": ("key management service",),
    "k8s": ("kubernetes", "kube"),
    "eks": ("elastic kubernetes service",),
    "ecs": ("elastic container service",),
    "ecr": ("elastic container registry",),
    "ec2": ("elastic compute cloud",),
    "iam": ("identity and access management",),
    "s3": ("simple storage service",),
    "ebs": ("elastic block store", "elastic block storage"),
    "efs": ("elastic file system",),
    "sqs": ("simple queue service",),
    "sns": ("simple notification service",),
    "ses": ("simple email service",),
    "vpc": ("virtual private cloud", "vpcs"),
    "iac": ("infrastructure as code",),
    "cicd": (
        "ci cd",
        "ci/cd",
        "continuous integration and continuous delivery",
        "continuous integration and continuous deployment",
        "continuous integration",
        "continuous delivery",
        "continuous deployment",
    ),
    "sfn": ("step functions", "step function", "state machine"),
    "rds": ("relational database service",),
    "ami": ("amazon machine image", "machine image", "amis"),
    "acm": ("certificate manager",),
    "cdn": ("content delivery network", "content distribution network"),
    "cloudfront": ("cloud front",),
    "cloudwatch": ("cloud watch",),
    "cloudformation": ("cloud formation", "cfn"),
    "cloudtrail": ("cloud trail",),
    "dynamodb": ("dynamo db", "dynamo", "ddb"),
    "route53": ("route 53", "r53"),
    "ssm": ("systems manager", "system manager"),
    "sso": ("single sign on", "identity center"),
    "mfa": ("multi factor authentication", "two factor authentication", "2fa"),
    "rbac": ("role based access control",),
    "least-privilege": ("least privilege", "principle of least privilege", "least privileged"),
    "ha": ("high availability", "highly available"),
    "dr": ("disaster recovery",),
    "rto": ("recovery time objective",),
    "rpo": ("recovery point objective",),
    "tls": ("ssl", "ssl tls", "transport layer security"),
    "cidr": ("classless inter domain routing",),
    "nat": ("nat gateway", "network address translation"),
    "igw": ("internet gateway",),
    "msk": ("managed streaming for kafka",),
    "emr": ("elastic mapreduce",),
    "ttl": ("time to live",),
    "sla": ("service level agreement",),
    "arn": ("amazon resource name",),
    "sts": ("security token service",),
    "waf": ("web application firewall",),
    "ddos": ("distributed denial of service",),
    "api": ("application programming interface", "apis"),
    "apigw": ("api gateway",),
    "vm": ("virtual machine", "virtual machines", "vms"),
    "os": ("operating system",),
    "cli": ("command line interface", "command line"),
    "sdk": ("software development kit",),
    "gpu": ("graphics processing unit",),
    "cpu": ("central processing unit", "processor"),
    "db": ("database",),
    "ip": ("ip address", "internet protocol address"),
    "dns": ("domain name system",),
}
"""Canonical AWS/DevOps term -> other spellings that mean the same thing."""

# A specific term satisfies its general one in full: an answer naming an ALB covers
# "load balancer"; the general term earns only part of a specific one.
_PARENT_NAMES: Final = {
    "alb": "elb",
    "nlb": "elb",
    "gwlb": "elb",
    "asg": "autoscaling",
    "eks": "k8s",
}


def alias_key(name: str) -> str:
    """The key an alias name is folded onto."""
    return ALIAS_KEY_PREFIX + name


ALIAS_PARENTS: Final = {
    alias_key(child): alias_key(parent) for child, parent in _PARENT_NAMES.items()
}
"""Specific alias key -> the key of the general alias it is a kind of."""


def _stems_of(phrase: str) -> tuple[str, ...]:
    """The stems of a phrase's words, without punctuation."""
    return tuple(stem(word) for word in tokens(normalize(phrase)) if word not in CLAUSE_BREAKS)


@dataclass(slots=True)
class _TrieNode:
    """One step of a stem-sequence trie; `key` is set where a spelling ends."""

    children: dict[str, _TrieNode] = field(default_factory=dict)
    key: str | None = None


class AliasMatcher:
    """Finds the longest alias spelling starting at each position of a stem sequence."""

    def __init__(self, table: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Index every (key, spellings) entry of `table`."""
        self._root = _TrieNode()
        for key, spellings in table:
            for spelling in spellings:
                stems = _stems_of(spelling)
                if stems:
                    self._add(stems, key)

    def _add(self, stems: tuple[str, ...], key: str) -> None:
        """Insert one spelling; the first table entry wins a spelling claimed twice."""
        node = self._root
        for part in stems:
            node = node.children.setdefault(part, _TrieNode())
        if node.key is None:
            node.key = key

    @property
    def first_stems(self) -> Collection[str]:
        """Stems that begin some spelling: the cheap membership test before `match`."""
        return self._root.children.keys()

    def match(self, stems: Sequence[str], start: int) -> tuple[str, int] | None:
        """The (key, end index) of the longest spelling at `stems[start:]`, if any."""
        node = self._root
        found: tuple[str, int] | None = None
        for index in range(start, len(stems)):
            child = node.children.get(stems[index])
            if child is None:
                break
            node = child
            if node.key is not None:
                found = (node.key, index + 1)
        return found


_BUILT_IN_ENTRIES: Final = tuple(
    (alias_key(name), (name, *spellings)) for name, spellings in AWS_ALIASES.items()
)
DEFAULT_MATCHER: Final = AliasMatcher(_BUILT_IN_ENTRIES)
"""The matcher for the built-in AWS alias table."""


@lru_cache(maxsize=_MATCHER_CACHE_SIZE)
def matcher_for(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> AliasMatcher:
    """A matcher for question-specific aliases first, then the built-in table."""
    if not extra:
        return DEFAULT_MATCHER
    # Question aliases are keyed by their term's stems so the term and its spellings agree.
    keyed = [
        (QUESTION_ALIAS_PREFIX + " ".join(_stems_of(term)), (term, *spellings))
        for term, spellings in extra
    ]
    return AliasMatcher([*keyed, *_BUILT_IN_ENTRIES])
