"""The verified sender of a request: what authorization decides on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """The claims of a verified token that say who sent it.

    ``sub`` is the token's subject (``system:serviceaccount:<namespace>:<name>`` for a Kubernetes
    service account), ``issuer`` its ``iss``, ``audiences`` its ``aud`` (always a tuple, also when
    the token carries one string). With authentication off there is no subject (``None``).
    """

    sub: str
    issuer: str
    audiences: tuple[str, ...]
