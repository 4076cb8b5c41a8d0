"""The quantity grammar, table-driven against what the apiserver's parser accepts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from jobsink.models.quantity import (
    QUANTITY_PATTERN,
    Quantity,
    QuantityError,
    check_quantity,
    parse_quantity,
    quantity_text,
)

QUANTITY: TypeAdapter[str | int | float] = TypeAdapter(Quantity)

ACCEPTED = {
    "zero": "0",
    "integer": "1",
    "millicores": "500m",
    "decimal": "0.5",
    "leading dot": ".5",
    "trailing dot": "5.",
    "trailing dot with suffix": "1.G",
    "plus sign": "+1",
    "minus sign": "-1",
    "nano": "10n",
    "micro": "10u",
    "kilo": "1k",
    "mega": "2M",
    "giga": "3G",
    "tera": "4T",
    "peta": "5P",
    "exa": "6E",
    "kibi": "1Ki",
    "mebi": "64Mi",
    "gibi": "1.5Gi",
    "tebi": "1Ti",
    "pebi": "1Pi",
    "exbi": "1Ei",
    "exponent": "1e3",
    "upper exponent": "1E3",
    "negative exponent": "1e-3",
    "positive exponent": "12e+6",
    "decimal exponent": "1.5e2",
    "json integer": 1000,
    "json float": 0.25,
    "json negative": -1,
    "json exponent float": 1e-07,
}

REJECTED = {
    "letters": "abc",
    "empty": "",
    "only sign": "-",
    "only dot": ".",
    "unknown suffix": "1K",
    "lower binary": "1ki",
    "binary without i": "1Kb",
    "double suffix": "1Mi1",
    "space": "1 Mi",
    "leading space": " 1",
    "exponent without digits": "1e",
    "fractional exponent": "1e3.5",
    "exponent beyond int64": "1e9223372036854775808",
    "two dots": "1.2.3",
    "suffix only": "Mi",
    "json true": True,
    "json false": False,
    "json null": None,
    "list": [1],
    "infinity": float("inf"),
    "nan": float("nan"),
}


@pytest.mark.parametrize("value", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_and_kept_as_given(value: str | int | float) -> None:
    result = QUANTITY.validate_python(value)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("value", REJECTED.values(), ids=REJECTED.keys())
def test_rejected(value: object) -> None:
    with pytest.raises(ValidationError):
        QUANTITY.validate_python(value)


def test_rejection_message_names_the_grammar() -> None:
    with pytest.raises(QuantityError, match="quantities must match the regular expression"):
        check_quantity("abc")


VALUES = {
    "millicores": ("500m", Decimal("0.5")),
    "mebi": ("64Mi", Decimal(64 * 1024**2)),
    "gibi fraction": ("1.5Gi", Decimal(3 * 1024**3 // 2)),
    "kilo": ("1k", Decimal(1000)),
    "exponent": ("1e3", Decimal(1000)),
    "negative exponent": ("25e-2", Decimal("0.25")),
    "nano": ("10n", Decimal("0.00000001")),
    "negative": ("-2M", Decimal(-2_000_000)),
    "json float": (0.25, Decimal("0.25")),
    "json int": (3, Decimal(3)),
    "trailing dot": ("5.", Decimal(5)),
    "leading dot": (".5", Decimal("0.5")),
    "exa": ("2E", Decimal(2 * 10**18)),
}


@pytest.mark.parametrize(("value", "expected"), VALUES.values(), ids=VALUES.keys())
def test_parse_quantity(value: str | int | float, expected: Decimal) -> None:
    assert parse_quantity(value) == expected


def test_parse_quantity_out_of_range() -> None:
    with pytest.raises(QuantityError, match="out of range"):
        parse_quantity("1e5000000000000000000")


def test_parse_quantity_rejects_garbage() -> None:
    with pytest.raises(QuantityError):
        parse_quantity("abc")


TEXTS = {
    "float": (0.25, "0.25"),
    "tiny float": (1e-07, "1e-07"),
    "whole float": (1000.0, "1000.0"),
    "int": (1000, "1000"),
    "string": ("64Mi", "64Mi"),
}


@pytest.mark.parametrize(("value", "text"), TEXTS.values(), ids=TEXTS.keys())
def test_quantity_text_is_what_the_crd_pattern_accepts(value: str | int | float, text: str) -> None:
    """The string a webhook writes for a numeric quantity passes the CRD's pattern unchanged."""
    assert quantity_text(value) == text
    assert re.fullmatch(QUANTITY_PATTERN, text)
    assert parse_quantity(text) == parse_quantity(value)


@given(st.from_regex(QUANTITY_PATTERN, fullmatch=True))
def test_every_string_in_the_grammar_is_accepted_and_parses(text: str) -> None:
    exponent = re.search(r"[eE]([+-]?[0-9]+)$", text)
    if exponent and not -(2**63) <= int(exponent.group(1)) < 2**63:
        with pytest.raises(ValidationError):  # the apiserver reads exponents as int64
            QUANTITY.validate_python(text)
        return
    assert QUANTITY.validate_python(text) == text
    if exponent and abs(int(exponent.group(1))) > 10**17:
        return  # beyond exact decimal range: see test_parse_quantity_out_of_range
    assert isinstance(parse_quantity(text), Decimal)


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers())
def test_every_finite_json_number_is_a_quantity(number: float) -> None:
    assert QUANTITY.validate_python(number) == number
    assert parse_quantity(number) == Decimal(repr(number))
