"""What the status says about ``spec.delivery.deadLetterSink``: Knative's DeliveryStatus fields
and the ``DeadLetterSinkResolved`` condition, from a resolution the reconciler made.

Pure. The reconciler resolves the Destination (a ``ref`` through the referent's
``status.address``, a ``uri`` as it is, both by :func:`jobsink.delivery.join_uri`) and hands the
outcome here as a :class:`Resolution`. As on Knative's Brokers and Triggers the fields sit inline
in ``.status`` (``deadLetterSinkUri``, ``deadLetterSinkCACerts``, ``deadLetterSinkAudience``);
unlike them, ``Ready`` does not depend on the condition, because a JobSink whose dead-letter sink
is missing still runs every event's Job, and that must not stop.

The condition is published only while a dead-letter sink is configured, so JobSinks without one
keep the status they always had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

DEAD_LETTER_SINK_RESOLVED: Final = "DeadLetterSinkResolved"
STATUS_FIELDS: Final = ("deadLetterSinkUri", "deadLetterSinkCACerts", "deadLetterSinkAudience")

REASON_NOT_FOUND: Final = "NotFound"
"""The referent does not exist (yet)."""
REASON_NO_ADDRESS: Final = "NoAddress"
"""The referent exists but publishes no ``status.address.url`` (not Addressable, or not ready)."""
REASON_UNRESOLVABLE: Final = "Unresolvable"
"""The referent's kind is unknown to the cluster, reading it failed, or the Destination is one
the webhook would deny (stored while it was bypassed)."""


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a dead-letter sink: a URL, or why there is none."""

    url: str | None = None
    ca_certs: str | None = None
    audience: str | None = None
    reason: str | None = None
    message: str | None = None

    @classmethod
    def failed(cls, reason: str, message: str) -> Resolution:
        return cls(reason=reason, message=message)

    def status_fields(self) -> dict[str, str]:
        values = (self.url, self.ca_certs, self.audience)
        return {
            name: value
            for name, value in zip(STATUS_FIELDS, values, strict=True)
            if value is not None
        }


def ref_of(destination: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ref = destination.get("ref")
    return ref if isinstance(ref, Mapping) else None


def address_of(referent: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``status.address`` of an Addressable, when it has a URL."""
    address = (referent.get("status") or {}).get("address")
    if isinstance(address, Mapping) and isinstance(address.get("url"), str) and address["url"]:
        return address
    return None
