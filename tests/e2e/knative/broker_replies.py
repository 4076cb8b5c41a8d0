"""What Knative's broker filter makes of a subscriber's answer, and the expected failure it gives
JobSink for Python's receiver today.

The broker filter relays a subscriber's 2xx only when its body is empty or a CloudEvent
(``writeResponse`` in ``pkg/broker/filter/filter_handler.go``); any other body makes the
delivery a failure: 502 to the in-memory channel, which retries it, and at last a 5xx to the
sender at the Broker's ingress. Knative's own job-sink answers 202 with no body. JobSink for
Python's receiver answers 202 with a JSON body (``receiver/dataplane/answers.py``,
``accepted``): its Jobs are made, once each, but the Broker tells its sender the delivery
failed. A scenario through a Broker to our receiver is therefore an expected failure when, and
only when, the broker filter logged that refusal while it ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from controlplane import ControlPlane
from controlplane.knative.manifests import KNATIVE_NAMESPACE
from tests.e2e.knative.conftest import DataPlane

FILTER = "mt-broker-filter"
REFUSED_REPLY = "received a non-empty response not recognized as CloudEvent"
OUR_REPLY_HAS_A_BODY = (
    "JobSink for Python answers 202 with a JSON body; Knative's broker filter accepts only an "
    "empty body or a CloudEvent, so it takes every delivery to our receiver as failed (502), "
    "the channel retries it and the Broker answers its sender 5xx"
)


def filter_refused_a_reply(plane: ControlPlane, since: datetime) -> bool:
    logs = plane.kubectl(
        "logs", "-n", KNATIVE_NAMESPACE, f"deployment/{FILTER}",
        f"--since-time={since.strftime('%Y-%m-%dT%H:%M:%SZ')}", check=False,
    ).stdout  # fmt: skip
    return REFUSED_REPLY in str(logs)


@contextlib.contextmanager
def replies_through_a_broker(plane: ControlPlane, data_plane: DataPlane) -> Iterator[None]:
    """Around a scenario through a Broker: its failure is expected (``xfail``) when the data
    plane is ours and the broker filter refused our replies meanwhile; any other failure stays
    one."""
    began = datetime.now(UTC)
    try:
        yield
    except AssertionError:
        if data_plane.ours and filter_refused_a_reply(plane, began):
            pytest.xfail(OUR_REPLY_HAS_A_BODY)
        raise
