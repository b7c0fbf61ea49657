"""Identity-based policy evaluation, as IAM does it for one principal in one account.

An explicit Deny wins; otherwise an Allow whose Action, Resource and Condition all match allows;
otherwise the request is implicitly denied. Wildcards ``*`` and ``?`` in actions (case-insensitive) and
resources (case-sensitive). Conditions: the String*, Arn*, Bool and Null operators, with ``...IfExists``
and the ``ForAnyValue:``/``ForAllValues:`` set qualifiers. An operator the local mode does not know makes an
Allow not apply and a Deny apply: it never grants more than AWS would.
See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    """One action on one resource, with the request's condition keys (e.g. ``s3:prefix``)."""

    action: str  # service:Operation
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@cache
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wildcard)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(wildcard: str, value: str, *, ignore_case: bool = False) -> bool:
    return _pattern(wildcard, ignore_case).match(value) is not None


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _string_test(operator: str) -> Any:
    tests = {
        "StringEquals": lambda expected, actual: actual == expected,
        "StringNotEquals": lambda expected, actual: actual != expected,
        "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
        "StringNotEqualsIgnoreCase": lambda expected, actual: actual.lower() != expected.lower(),
        "StringLike": lambda expected, actual: matches(expected, actual),
        "StringNotLike": lambda expected, actual: not matches(expected, actual),
        "ArnEquals": lambda expected, actual: actual == expected,
        "ArnNotEquals": lambda expected, actual: actual != expected,
        "ArnLike": lambda expected, actual: matches(expected, actual),
        "ArnNotLike": lambda expected, actual: not matches(expected, actual),
        "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
    }
    return tests.get(operator)


class UnknownCondition(Exception):
    pass


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str | Sequence[str]]) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    expected_values = [str(value) for value in _listed(expected)]
    present = key in context
    if operator == "Null":
        return (not present) == (expected_values[0].lower() == "true")
    test = _string_test(operator)
    if test is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnknownCondition(operator)
    if not present:
        return if_exists or qualifier == "ForAllValues"
    actual = context[key]
    actual_values = [actual] if isinstance(actual, str) else list(actual)
    negated = "Not" in operator

    def one(value: str) -> bool:
        results = [test(candidate, value) for candidate in expected_values]
        return all(results) if negated else any(results)

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual_values)
    return any(one(value) for value in actual_values)


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str | Sequence[str]]) -> bool:
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def _element_matches(statement: Mapping[str, Any], name: str, value: str, *, ignore_case: bool) -> bool:
    """Whether ``Action``/``Resource`` (or its ``Not`` form) covers ``value``."""
    if name in statement:
        return any(matches(str(item), value, ignore_case=ignore_case) for item in _listed(statement[name]))
    negated = f"Not{name}"
    if negated in statement:
        return not any(matches(str(item), value, ignore_case=ignore_case) for item in _listed(statement[negated]))
    return False


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if not _element_matches(statement, "Action", request.action, ignore_case=True):
        return False
    if not _element_matches(statement, "Resource", request.resource, ignore_case=False):
        return False
    try:
        return _conditions_hold(statement.get("Condition", {}), request.context)
    except UnknownCondition:
        return statement.get("Effect") == "Deny"  # never grant more than AWS would


def statements_of(documents: Iterable[str | Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every statement of the policy documents (JSON text or parsed)."""
    statements: list[Mapping[str, Any]] = []
    for document in documents:
        parsed = json.loads(document) if isinstance(document, str) else document
        statements.extend(_listed(parsed.get("Statement", [])))
    return statements


def evaluate(statements: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    allowed = False
    for statement in statements:
        if statement_applies(statement, request):
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
