"""What Knative's broker filter makes of a subscriber's answer.

The broker filter relays a subscriber's 2xx only when its body is empty or a CloudEvent
(``writeResponse`` in ``pkg/broker/filter/filter_handler.go``); any other body makes the
delivery a failure: 502 to the in-memory channel, which retries it, and at last a 5xx to the
sender at the Broker's ingress, although the Jobs were made. Our receiver answers an accepted
event 202 with no body unless the client asks for JSON (``receiver/dataplane/answers.py``), as
Knative's own job-sink does; a scenario through a Broker that fails while the filter logged
that refusal says so, so that the cause is named rather than found again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from controlplane import ControlPlane
from controlplane.knative.manifests import KNATIVE_NAMESPACE

FILTER = "mt-broker-filter"
REFUSED_REPLY = "received a non-empty response not recognized as CloudEvent"
REPLY_WITH_A_BODY = (
    "the data plane answered 202 with a body that is no CloudEvent; Knative's broker filter "
    "accepts only an empty body or a CloudEvent, so it took the delivery as failed (502), the "
    "channel retried it and the Broker answered its sender 5xx"
)


def filter_refused_a_reply(plane: ControlPlane, since: datetime) -> bool:
    logs = plane.kubectl(
        "logs", "-n", KNATIVE_NAMESPACE, f"deployment/{FILTER}",
        f"--since-time={since.strftime('%Y-%m-%dT%H:%M:%SZ')}", check=False,
    ).stdout  # fmt: skip
    return REFUSED_REPLY in str(logs)


@contextlib.contextmanager
def replies_through_a_broker(plane: ControlPlane) -> Iterator[None]:
    """Around a scenario through a Broker: a failure while the broker filter refused the data
    plane's replies names that cause; any other failure stays as it is."""
    began = datetime.now(UTC)
    try:
        yield
    except AssertionError as error:
        if filter_refused_a_reply(plane, began):
            raise AssertionError(f"{REPLY_WITH_A_BODY}\n{error}") from None
        raise
