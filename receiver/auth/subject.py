"""The authenticated sender of a request, as its verified token names it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """A verified token's subject (``sub``: ``system:serviceaccount:<ns>:<name>`` for a Kubernetes
    service account), its issuer and audiences. Authentication off: there is no subject (None)."""

    sub: str
    issuer: str
    audiences: tuple[str, ...]
