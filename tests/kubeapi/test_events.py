"""Job and Secret resources: what a refused watch turns into."""

from __future__ import annotations

from typing import Any, cast

import pytest

from kubeapi import events
from kubeapi.calls import Caller, KubeError
from kubeapi.jobsinks import Gone


class RefusingCaller:
    """A ``Caller`` whose watches the apiserver refuses with ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status

    def stream(self, path: str, **_: Any) -> Any:
        raise KubeError(self.status, "Refused", f"watch {path} refused")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(410, Gone, id="expired-is-gone"),
        pytest.param(403, KubeError, id="forbidden-stays-kube-error"),
    ],
)
def test_a_refused_metadata_watch(status: int, error: type[Exception]) -> None:
    jobs = events.jobs(cast(Caller, RefusingCaller(status)))
    with pytest.raises(error, match="refused"):
        jobs.watch_metadata(None, "sinks.knative.dev/job-sink-id", "1", timeout_seconds=5)
