"""Kubernetes resource quantities (``resource.Quantity``) as the apiserver reads them.

A quantity arrives either as a JSON string (``"500m"``, ``"64Mi"``, ``"1e3"``) or as a JSON
number (``cpu: 0.25``, ``memory: 1000``); the apiserver parses both with the same grammar::

    quantity := sign? number suffix?
    number   := digits | digits "." digits? | "." digits
    suffix   := "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"          (binary SI)
              | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" (decimal SI)
              | ("e" | "E") sign? digits                       (decimal exponent)

The model keeps the value exactly as given (no canonicalisation such as ``"0.5"`` -> ``"500m"``),
so a JobSink round-trips byte for byte; ``parse_quantity`` gives the numeric value for the
semantic rules (non-negative resources, requests <= limits).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, StrictFloat, StrictInt, StrictStr

QUANTITY_PATTERN = (
    r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_QUANTITY = re.compile(QUANTITY_PATTERN)
_NUMBER_END = re.compile(r"[0-9.]*")

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityError(ValueError):
    """The value is not a Kubernetes quantity."""


def quantity_text(value: str | int | float) -> str:
    """The characters the apiserver parses: a JSON number is parsed from its literal text."""
    if isinstance(value, bool):  # bool is an int subclass; JSON true is not a quantity
        raise QuantityError("quantities must be a string or a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError("quantities must be finite numbers")
        return repr(value)
    return str(value)


def check_quantity(value: str | int | float) -> str | int | float:
    """Return ``value`` unchanged if the apiserver would parse it as a quantity."""
    if not _QUANTITY.fullmatch(quantity_text(value)):
        raise QuantityError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (for example 500m, 64Mi, 0.25, 1e3)"
        )
    return value


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact numeric value of a quantity (``"64Mi"`` -> ``Decimal(67108864)``)."""
    text = quantity_text(check_quantity(value))
    sign = -1 if text.startswith("-") else 1
    unsigned = text.lstrip("+-")
    split = _NUMBER_END.match(unsigned)
    number_end = split.end() if split else 0
    number, suffix = unsigned[:number_end], unsigned[number_end:]
    magnitude = Decimal(number)
    if suffix in _BINARY:
        magnitude *= Decimal(1024) ** _BINARY[suffix]
    elif suffix in _DECIMAL:
        magnitude = magnitude.scaleb(_DECIMAL[suffix])
    else:  # decimal exponent, already validated by the grammar
        magnitude = magnitude.scaleb(int(suffix[1:]))
    return sign * magnitude


Quantity = Annotated[StrictStr | StrictInt | StrictFloat, AfterValidator(check_quantity)]
"""A resource quantity, kept as given: a string in the quantity grammar or a finite JSON number."""
