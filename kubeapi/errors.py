"""Failed Kubernetes calls: one exception hierarchy, mapped once from the apiserver's answer.

The apiserver explains a refusal with a ``Status`` object: an HTTP ``code``, a machine-readable
``reason`` and, for validation failures, ``details.causes`` naming each offending field. Every
failed call in ``kubeapi`` becomes one of the classes below through :func:`from_status` (an HTTP
answer, or a watch's ``ERROR`` event) or :func:`no_answer` (nothing came back), so callers catch
``NotFound`` or ``Conflict`` instead of comparing status codes, and nothing of the ``Status`` is
lost on the way: the webhook reports each cause at its own field.

``AlreadyExists`` is a ``Conflict``: both are HTTP 409, and a caller that only needs "someone
else wrote first" (a lost race, a failed precondition) catches ``Conflict`` for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers that say "try again later" rather than "this request is wrong"."""

MESSAGE_LIMIT = 1000
"""Characters kept of a message: a proxy's HTML error page can be long, and it ends up in logs."""


@dataclass(frozen=True)
class Cause:
    """One reason for a refusal (``metav1.StatusCause``). ``field`` is a path in the sent object,
    such as ``spec.template.spec.containers[0].image``, or "" when the cause names none."""

    field: str
    reason: str
    message: str


@dataclass(frozen=True)
class Details:
    """What the apiserver said about the object it refused (``metav1.StatusDetails``)."""

    name: str = ""
    group: str = ""
    kind: str = ""
    causes: tuple[Cause, ...] = ()
    retry_after_seconds: int | None = None


class KubeError(Exception):
    """A failed call. ``status`` 0 means no HTTP answer (connection refused, reset, timeout);
    otherwise ``reason``, ``message`` and ``details`` come from the apiserver's ``Status``."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        retry_after: float | None = None,
        details: Details | None = None,
    ) -> None:
        super().__init__(status, reason, message)
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.details = details or Details()

    def __str__(self) -> str:
        return f"{self.status or 'no answer'} {self.reason}: {self.message}"

    @property
    def causes(self) -> tuple[Cause, ...]:
        return self.details.causes

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later: no answer, 429 or a server error."""
        return self.status == 0 or self.status in RETRY_STATUSES


class NoAnswer(KubeError):
    """Nothing came back: connection refused or reset, TLS failure, timeout. Always retryable;
    note that a write may or may not have been applied."""


class BadRequest(KubeError):
    """400: malformed, or refused by strict field validation (unknown or duplicate fields)."""


class Unauthorized(KubeError):
    """401: the credentials were not accepted."""


class Forbidden(KubeError):
    """403: RBAC, or an admission plugin such as ResourceQuota, said no."""


class NotFound(KubeError):
    """404: the object, its namespace or its resource type does not exist."""


class Conflict(KubeError):
    """409: the object changed since it was read (a failed precondition); read it again."""


class AlreadyExists(Conflict):
    """409 ``AlreadyExists``: a create found the name taken."""


class Gone(KubeError):
    """410: the resourceVersion (of a watch, or a list's continue token) is older than the
    apiserver keeps; list again."""


class Invalid(KubeError):
    """422: the object fails validation or an admission policy; ``causes`` say where."""


class TooManyRequests(KubeError):
    """429: the apiserver (or client-side throttling) asks to slow down; see ``retry_after``."""


class ServerError(KubeError):
    """5xx: the apiserver or something in front of it failed; worth retrying."""


_BY_CODE: dict[int, type[KubeError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def error_class(status: int, reason: str = "") -> type[KubeError]:
    """The class for an HTTP ``status`` (and, for 409, the ``Status`` reason)."""
    if status == 0:
        return NoAnswer
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists
    if status >= 500:
        return ServerError
    return _BY_CODE.get(status, KubeError)


def from_status(
    code: int,
    status: Mapping[str, Any],
    *,
    http_reason: str = "",
    retry_after: float | None = None,
) -> KubeError:
    """The error for an answer with HTTP ``code`` whose body decoded to ``status`` (a ``Status``,
    or ``{}`` when the body was not one). A ``Retry-After`` header wins over
    ``details.retryAfterSeconds``; both say how long to wait."""
    reason = _text(status.get("reason")) or http_reason
    details = _details(status.get("details"))
    if retry_after is None and details.retry_after_seconds is not None:
        retry_after = float(details.retry_after_seconds)
    message = _text(status.get("message"))[:MESSAGE_LIMIT]
    return error_class(code, reason)(
        code, reason, message, retry_after=retry_after, details=details
    )


def from_watch_status(status: Mapping[str, Any]) -> KubeError:
    """The error a watch's ``ERROR`` event carries (its object is a ``Status``; its ``code`` is
    the HTTP status the apiserver would have answered, 410 for an expired resourceVersion)."""
    code = status.get("code")
    return from_status(code if isinstance(code, int) else 500, status)


def no_answer(reason: str, message: str) -> NoAnswer:
    return NoAnswer(0, reason, message[:MESSAGE_LIMIT])


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _details(value: object) -> Details:
    if not isinstance(value, Mapping):
        return Details()
    causes = value.get("causes")
    retry = value.get("retryAfterSeconds")
    return Details(
        name=_text(value.get("name")),
        group=_text(value.get("group")),
        kind=_text(value.get("kind")),
        causes=tuple(
            Cause(_text(c.get("field")), _text(c.get("reason")), _text(c.get("message")))
            for c in (causes if isinstance(causes, list) else [])
            if isinstance(c, Mapping)
        ),
        retry_after_seconds=retry if isinstance(retry, int) and retry >= 0 else None,
    )
