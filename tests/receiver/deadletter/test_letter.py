"""The dead letter: the stored event, unchanged, plus Knative's three extensions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from jobsink.event import BinaryData, CloudEvent, json_data, text_data
from receiver.deadletter.letter import (
    ERROR_DATA_MAX_BYTES,
    Failure,
    dead_letter,
    error_data,
    extensions,
    failure_of,
)
from tests.seed import SEED_EVENT

DEST = "http://job-sink.knative-eventing.svc.cluster.local/team/failing"
FAILURE = Failure(
    "failing-abc", "BackoffLimitExceeded", "Job has reached the specified backoff limit"
)


def stored(attributes: dict[str, Any], data: Any = None) -> bytes:
    return CloudEvent.from_attributes(attributes, data).to_json()


BASE = {"specversion": "1.0", "id": "1", "source": "s", "type": "t"}
EVENTS = [
    pytest.param(SEED_EVENT, id="seed"),
    pytest.param(stored(BASE), id="no-data"),
    pytest.param(
        stored({**BASE, "datacontenttype": "text/plain"}, text_data("h\u00e9\n")), id="text"
    ),
    pytest.param(stored(BASE, json_data({"n": 1.5, "big": 2**70, "s": "\ud800"})), id="json"),
    pytest.param(
        stored({**BASE, "datacontenttype": "image/png"}, BinaryData(b"\x00\xff")), id="bytes"
    ),
    pytest.param(stored({**BASE, "specversion": "0.3"}, BinaryData(b"\x89PNG")), id="0.3-base64"),
    pytest.param(
        stored({**BASE, "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}), id="extension"
    ),
]


@pytest.mark.parametrize("event", EVENTS)
def test_the_letter_is_the_stored_event_with_three_extensions(event: bytes) -> None:
    letter = json.loads(dead_letter(event, DEST, FAILURE))
    original = json.loads(event)
    added = {key: letter.pop(key) for key in extensions(DEST, FAILURE)}
    assert letter == original
    assert added == extensions(DEST, FAILURE)


@pytest.mark.parametrize("event", EVENTS)
def test_data_round_trips_byte_for_byte(event: bytes) -> None:
    letter = dead_letter(event, DEST, FAILURE)
    for member in ('"data":', '"data_base64":'):
        if member in event.decode():
            assert event.decode().split(member, 1)[1] == letter.decode().split(member, 1)[1]


def test_extensions_follow_knative() -> None:
    found = extensions(DEST, FAILURE)
    assert found["knativeerrordest"] == DEST
    assert found["knativeerrorcode"] == 500  # an Integer, as Knative's dispatchers send it
    data = json.loads(base64.b64decode(str(found["knativeerrordata"])))
    assert data == {"job": "failing-abc", "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit"}  # fmt: skip


def test_an_earlier_dead_letters_extensions_are_replaced() -> None:
    event = stored({**BASE, "knativeerrorcode": 404, "knativeerrordest": "http://elsewhere/"})
    letter = json.loads(dead_letter(event, DEST, FAILURE))
    assert (letter["knativeerrorcode"], letter["knativeerrordest"]) == (500, DEST)


@pytest.mark.parametrize("message", ["x" * 5000, "\u00e9" * 3000, '"\\' * 2000, "\U0001f600" * 900])
def test_error_data_is_cut_to_knatives_1024_bytes_and_stays_json(message: str) -> None:
    raw = base64.b64decode(error_data(Failure("job", "DeadlineExceeded", message)))
    assert len(raw) <= ERROR_DATA_MAX_BYTES
    data = json.loads(raw)
    assert data["message"].endswith("...")
    assert message.startswith(data["message"][:-3])


@pytest.mark.parametrize(
    ("conditions", "failure"),
    [
        ([], None),
        ([{"type": "Complete", "status": "True"}], None),
        ([{"type": "FailureTarget", "status": "True", "reason": "PodFailurePolicy"}], None),
        ([{"type": "Failed", "status": "False"}], None),
        (
            [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy", "message": "m"}],
            Failure("j", "PodFailurePolicy", "m"),
        ),
        ([{"type": "Failed", "status": "True"}], Failure("j", "Failed", "")),
    ],
)
def test_only_a_failed_job_has_a_failure(
    conditions: list[dict[str, str]], failure: Failure | None
) -> None:
    job = {"metadata": {"name": "j"}, "status": {"conditions": conditions}}
    assert failure_of(job) == failure
