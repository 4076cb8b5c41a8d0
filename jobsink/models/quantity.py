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
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, DecimalException
from typing import Annotated

from pydantic import AfterValidator, StrictFloat, StrictInt, StrictStr

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
QUANTITY_PATTERN = rf"^{_NUMBER}(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
"""The grammar as a portable regular expression (the CRD's ``pattern``)."""
_QUANTITY = re.compile(rf"{_NUMBER}(?:[KMGTPE]i|[numkMGTPE]|[eE](?P<exponent>[+-]?[0-9]+))?")
_NUMBER_END = re.compile(r"[0-9.]*")

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}  # powers of 1024
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# Quantities are exact decimals: never round them to the default context's 28 digits.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _exponent_fits(exponent: str | None) -> bool:
    """The apiserver reads the exponent of ``1e3`` as an int64 and rejects anything larger."""
    return exponent is None or -(2**63) <= int(exponent) < 2**63


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
    match = _QUANTITY.fullmatch(quantity_text(value))
    if match is None or not _exponent_fits(match.group("exponent")):
        raise QuantityError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (for example 500m, 64Mi, 0.25, 1e3)"
        )
    return value


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact numeric value of a quantity (``"64Mi"`` -> ``Decimal(67108864)``)."""
    text = quantity_text(check_quantity(value))
    unsigned = text.lstrip("+-")
    split = _NUMBER_END.match(unsigned)
    number_end = split.end() if split else 0
    number, suffix = unsigned[:number_end], unsigned[number_end:]
    try:
        magnitude = Decimal(number)
        if suffix in _BINARY:
            magnitude = _EXACT.multiply(magnitude, _EXACT.power(1024, _BINARY[suffix]))
        elif suffix in _DECIMAL:
            magnitude = magnitude.scaleb(_DECIMAL[suffix], context=_EXACT)
        else:  # decimal exponent, already validated by the grammar
            magnitude = magnitude.scaleb(int(suffix[1:]), context=_EXACT)
    except DecimalException:
        raise QuantityError(f"quantity {text!r} is out of range") from None
    return _EXACT.minus(magnitude) if text.startswith("-") else magnitude


Quantity = Annotated[StrictStr | StrictInt | StrictFloat, AfterValidator(check_quantity)]
"""A resource quantity, kept as given: a string in the quantity grammar or a finite JSON number."""
