"""The data plane's part: each Job it creates is counted for its JobSink and recorded as one
aggregated ``SuccessfulCreate`` Event; a duplicate is neither (real uvicorn, fake apiserver)."""

from __future__ import annotations

from typing import Any, cast

import httpx

from receiver.metrics import Metrics
from tests.receiver.test_http import StaticSinks, make_plane, serve
from tests.seed import SEED_BODY, SEED_HEADERS


def test_created_jobs_are_counted_per_jobsink_and_aggregated_in_one_event(
    fake_url: str, sink: dict[str, Any]
) -> None:
    plane = make_plane(fake_url, StaticSinks({("default", "job-sink-logger"): sink}))
    with serve(plane) as base:
        for event_id in ("1", "2", "3", "3"):  # the last one is a duplicate
            headers = {**SEED_HEADERS, "ce-id": event_id}
            answer = httpx.post(
                f"{base}/default/job-sink-logger", content=SEED_BODY, headers=headers
            )
            assert answer.status_code == 202
    metrics: Metrics = plane.metrics
    assert metrics.sink_jobs_created.labels("default", "job-sink-logger")._value.get() == 3
    kinds = {
        cast(tuple[Any, ...], key)[3]: series.count
        for key, series in plane.recorder.book.series.items()
    }
    assert kinds == {"SuccessfulCreate": 3}
