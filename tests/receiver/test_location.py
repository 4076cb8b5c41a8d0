"""An event's Location must be readable by the sender: at most 8 KiB, or the event is refused.

The Location holds the event's source and id, percent-escaped. Past 8 KiB a sender's client may
not read the 202 at all (h11, under httpx, reads at most 16 KiB of head), so such an event is
refused with 413 naming the attribute, before anything is written. httpx is the client here: a
client we did not write, with a bounded head buffer. The expected Locations are written out with
the standard library, not with the receiver's own code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import Served, StaticSinks, make_plane, serve
from tests.seed import SEED_HEADERS

PATH = "/default/job-sink-logger"
PREFIX = "/namespaces/default/name/job-sink-logger/sources/"
LIMIT = 8192


def location(source: str, id: str) -> str:
    return f"{PREFIX}{quote(source, safe='')}/ids/{quote(id, safe='')}"


def source_for(length: int, id: str = "1") -> str:
    """An ASCII source whose Location (with ``id``) is ``length`` bytes long."""
    return "s" * (length - len(location("", id)))


@pytest.fixture
def served(fake: FakeKubeApi, fake_url: str, sink: dict[str, Any]) -> Iterator[Served]:
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks)
    with serve(plane) as url:
        yield Served(url, fake, sinks, plane)


def structured(served: Served, source: str, id: str) -> httpx.Response:
    event = {"specversion": "1.0", "id": id, "source": source, "type": "t"}
    return httpx.post(
        served.url + PATH,
        content=json.dumps(event),
        headers={"content-type": "application/cloudevents+json"},
        timeout=10,
    )


@pytest.mark.parametrize(
    ("source", "id", "status", "attribute"),
    [
        pytest.param(source_for(LIMIT), "1", 202, None, id="exactly-8KiB"),
        pytest.param(source_for(LIMIT + 1), "1", 413, "source", id="one-byte-over"),
        pytest.param("s", "😀" * 700, 413, "id", id="unicode-id-escaped-past-the-limit"),
        pytest.param("ü" * 1350, "1", 202, None, id="unicode-source-escaped-within"),
    ],
)
def test_the_location_limit_is_on_the_escaped_location(
    served: Served, source: str, id: str, status: int, attribute: str | None
) -> None:
    response = structured(served, source, id)
    assert response.status_code == status, response.text
    if status == 202:
        assert response.headers["location"] == location(source, id)
        assert len(response.headers["location"]) <= LIMIT
        poll = httpx.get(served.url + response.headers["location"], timeout=10)
        assert poll.status_code == 202  # the Job is there and running
    else:
        assert response.json()["attribute"] == attribute
        assert "Location" in response.json()["error"]
        assert served.fake.writes() == []


def test_source_and_id_of_10KiB_each_are_refused_readably(served: Served) -> None:
    """Before: a 202 whose 20 KiB Location httpx could not read (and a Job created)."""
    headers = {**SEED_HEADERS, "ce-source": "s" * 10240, "ce-id": "i" * 10240}
    response = httpx.post(served.url + PATH, content=b"{}", headers=headers, timeout=10)
    assert response.status_code == 413
    assert response.json()["attribute"] in ("source", "id")
    assert "location" not in response.headers
    assert served.fake.writes() == []


def test_in_a_batch_only_the_event_with_the_long_location_is_refused(served: Served) -> None:
    base = {"specversion": "1.0", "type": "t"}
    batch = [
        {**base, "source": "ok", "id": "1"},
        {**base, "source": source_for(LIMIT + 1), "id": "1"},
    ]
    response = httpx.post(
        served.url + PATH,
        content=json.dumps(batch),
        headers={"content-type": "application/cloudevents-batch+json"},
        timeout=10,
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 413]
    assert results[1]["attribute"] == "source"
    assert len(served.fake.of("jobs")) == 1
