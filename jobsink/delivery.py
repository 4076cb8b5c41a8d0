"""``spec.delivery``: Knative's DeliverySpec on a JobSink, read as a retry policy and validated.

Pure functions. ``jobsink.validation.delivery`` checks it for the webhook; the receiver's
dead-letter dispatcher turns a stored ``spec.delivery`` into a :class:`RetryPolicy` with
:func:`retry_policy`, which fills in what is absent with the defaults of a Knative Broker
(``config-br-defaults``: ten retries, exponential, 0.2 s), since a JobSink most often stands
where a Broker's subscriber would.

Durations are ISO 8601 (``PT1S``, ``PT0.5S``, ``P1DT2H``), as Knative's ``period.Parse`` takes
them; years and months count as 365 and 30 days, as its ``DurationApprox`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urljoin, urlsplit

BackoffPolicy = Literal["exponential", "linear"]
BACKOFF_POLICIES: Final = ("exponential", "linear")

DEFAULT_RETRY: Final = 10
DEFAULT_BACKOFF_POLICY: Final[BackoffPolicy] = "exponential"
DEFAULT_BACKOFF_DELAY: Final = 0.2
DEFAULT_TIMEOUT: Final = 30.0
MAX_BACKOFF: Final = 3600.0
"""No single wait is longer than an hour, whatever ``retry`` and ``backoffDelay`` ask for."""

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
_UNIT_SECONDS: Final = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)


class DurationError(ValueError):
    """Not an ISO 8601 duration."""


def parse_duration(text: str) -> float:
    """Seconds in an ISO 8601 duration such as ``PT0.5S`` or ``P1DT2H``."""
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.groups()) or text.endswith("T"):
        raise DurationError(f"{text!r} is not an ISO 8601 duration (for example PT1S)")
    return sum(
        float(part.replace(",", ".")) * unit
        for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True)
        if part is not None
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How one dead letter is sent: ``retry`` retries after the first attempt, each attempt
    limited to ``timeout`` seconds."""

    retry: int = DEFAULT_RETRY
    backoff_policy: BackoffPolicy = DEFAULT_BACKOFF_POLICY
    backoff_delay: float = DEFAULT_BACKOFF_DELAY
    timeout: float = DEFAULT_TIMEOUT

    @property
    def attempts(self) -> int:
        return self.retry + 1

    def delay_before(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry), as Knative
        documents it: ``backoffDelay * n`` (linear) or ``backoffDelay * 2^n`` (exponential)."""
        if self.backoff_policy == "linear":
            delay = self.backoff_delay * retry_number
        else:
            delay = self.backoff_delay * 2.0 ** min(retry_number, 64)
        return min(delay, MAX_BACKOFF)

    def schedule(self) -> list[float]:
        """The wait before each retry, in order."""
        return [self.delay_before(n) for n in range(1, self.retry + 1)]


def retry_policy(delivery: Mapping[str, Any] | None) -> RetryPolicy:
    """The policy of a stored ``spec.delivery``; what is absent or unreadable takes its default
    (the webhook refuses unreadable values, so that only happens when it was bypassed)."""
    delivery = delivery or {}
    retry = delivery.get("retry")
    policy = delivery.get("backoffPolicy")
    return RetryPolicy(
        retry=retry if isinstance(retry, int) and retry >= 0 else DEFAULT_RETRY,
        backoff_policy="linear" if policy == "linear" else DEFAULT_BACKOFF_POLICY,
        backoff_delay=_seconds(delivery.get("backoffDelay"), DEFAULT_BACKOFF_DELAY),
        timeout=_seconds(delivery.get("timeout"), DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT,
    )


def _seconds(value: object, default: float) -> float:
    if not isinstance(value, str):
        return default
    try:
        return parse_duration(value)
    except DurationError:
        return default


def dead_letter_sink(sink: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``spec.delivery.deadLetterSink`` of a JobSink, or None when it has none."""
    delivery = (sink.get("spec") or {}).get("delivery")
    if not isinstance(delivery, Mapping):
        return None
    destination = delivery.get("deadLetterSink")
    return destination if isinstance(destination, Mapping) else None


def is_absolute(uri: str) -> bool:
    """An absolute URL with a host, which Knative requires of a ``uri`` without ``ref``."""
    parts = urlsplit(uri)
    return bool(parts.scheme) and bool(parts.netloc)


def join_uri(base: str, uri: str | None) -> str:
    """Knative's rule for a Destination with both: ``uri`` resolved against the ref's URL."""
    return urljoin(base, uri) if uri else base
