"""The Subscriptions API filter dialects of an EventPolicy, one table per concern."""

from __future__ import annotations

from typing import Any

import pytest

from receiver.auth.policy_filters import FilterError, matches_all, parse_filters

EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "1",
    "source": "/orders",
    "type": "com.example.order.created",
    "subject": "order-7",
    "priority": 3,
    "urgent": True,
}

MATCHING: list[tuple[str, list[dict[str, Any]], bool]] = [
    ("no filters", [], True),
    ("exact match", [{"exact": {"type": "com.example.order.created"}}], True),
    ("exact is case-sensitive", [{"exact": {"type": "COM.example.order.created"}}], False),
    (
        "exact on two attributes",
        [{"exact": {"type": "com.example.order.created", "source": "/x"}}],
        False,
    ),
    ("prefix match", [{"prefix": {"type": "com.example."}}], True),
    ("prefix mismatch", [{"prefix": {"type": "org.example."}}], False),
    ("suffix match", [{"suffix": {"type": ".created"}}], True),
    ("suffix mismatch", [{"suffix": {"type": ".deleted"}}], False),
    ("missing attribute", [{"exact": {"dataschema": "x"}}], False),
    ("integer extension in decimal", [{"exact": {"priority": "3"}}], True),
    ("boolean extension as Go prints it", [{"exact": {"urgent": "true"}}], True),
    (
        "all: both",
        [{"all": [{"prefix": {"type": "com."}}, {"exact": {"subject": "order-7"}}]}],
        True,
    ),
    (
        "all: one fails",
        [{"all": [{"prefix": {"type": "com."}}, {"exact": {"subject": "x"}}]}],
        False,
    ),
    ("any: one", [{"any": [{"prefix": {"type": "org."}}, {"suffix": {"type": "created"}}]}], True),
    ("any: none", [{"any": [{"prefix": {"type": "org."}}, {"suffix": {"type": "x"}}]}], False),
    ("not: inner fails", [{"not": {"exact": {"type": "com.example.order.deleted"}}}], True),
    ("not: inner passes", [{"not": {"prefix": {"type": "com."}}}], False),
    (
        "list is a conjunction",
        [{"prefix": {"type": "com."}}, {"exact": {"source": "/other"}}],
        False,
    ),
    (
        "nested",
        [
            {
                "any": [
                    {
                        "all": [
                            {"not": {"exact": {"subject": "x"}}},
                            {"suffix": {"source": "orders"}},
                        ]
                    }
                ]
            }
        ],
        True,
    ),
]


@pytest.mark.parametrize(
    ("filters", "passes"), [(f, p) for _, f, p in MATCHING], ids=[c[0] for c in MATCHING]
)
def test_dialects_match_as_knative_evaluates_them(
    filters: list[dict[str, Any]], passes: bool
) -> None:
    assert (matches_all(parse_filters(filters), EVENT) is None) is passes


REASONS: list[tuple[list[dict[str, Any]], str | None, str]] = [
    (
        [{"prefix": {"type": "org."}}],
        "type",
        "prefix: attribute 'type' is 'com.example.order.created', wanted 'org.'",
    ),
    (
        [{"exact": {"dataschema": "x"}}],
        "dataschema",
        "exact: the event has no attribute 'dataschema'",
    ),
    (
        [{"not": {"exact": {"subject": "order-7"}}}],
        "subject",
        "not: the event matches exact(subject='order-7')",
    ),
    (
        [{"any": [{"prefix": {"type": "a"}}, {"suffix": {"type": "b"}}]}],
        "type",
        "any: none matched",
    ),
    ([{"any": [{"prefix": {"type": "a"}}, {"exact": {"source": "b"}}]}], None, "any: none matched"),
]


@pytest.mark.parametrize(("filters", "attribute", "text"), REASONS)
def test_a_mismatch_names_the_attribute_and_what_was_wanted(
    filters: list[dict[str, Any]], attribute: str | None, text: str
) -> None:
    why = matches_all(parse_filters(filters), EVENT)
    assert why is not None
    assert why.attribute == attribute
    assert why.text.startswith(text)


INVALID: list[tuple[Any, str]] = [
    ({"exact": {"type": "a"}}, "spec.filters: must be a list"),
    ([{}], "spec.filters[0]: needs exactly one dialect"),
    ([{"exact": {"type": "a"}, "prefix": {"type": "b"}}], "got exact, prefix"),
    ([{"regex": {"type": "a"}}], "unknown dialect 'regex'"),
    ([{"exact": {"type": ""}}], "spec.filters[0].exact.type: must be a non-empty string"),
    ([{"exact": {"type": 3}}], "spec.filters[0].exact.type: must be a non-empty string"),
    ([{"exact": ["type"]}], "spec.filters[0].exact: must map attribute names to strings"),
    ([{"all": {"exact": {"type": "a"}}}], "spec.filters[0].all: must be a list"),
    (
        [{"not": {"all": [{"cesql": "type = 'a'"}]}}],
        "spec.filters[0].not.all[0].cesql: CloudEvents SQL",
    ),
    ([{"cesql": "type LIKE 'com.%'"}], "not supported by this receiver"),
    ([{"not": "x"}], "spec.filters[0].not: must be an object"),
]


@pytest.mark.parametrize(("raw", "message"), INVALID)
def test_a_filter_that_cannot_be_evaluated_is_refused_with_its_path(raw: Any, message: str) -> None:
    with pytest.raises(FilterError) as error:
        parse_filters(raw)
    assert message in str(error.value)


def test_nesting_is_bounded() -> None:
    deep: dict[str, Any] = {"exact": {"type": "a"}}
    for _ in range(40):
        deep = {"not": deep}
    with pytest.raises(FilterError, match="nested more than"):
        parse_filters([deep])
