"""A request's W3C trace context added to the events it carries that have none of their own."""

from __future__ import annotations

from jobsink.event import CloudEvent, json_data
from receiver.dataplane import wire
from tests.jobsink.test_render import curl_event

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_an_event_gets_the_request_context_as_extensions_in_order() -> None:
    event = curl_event()
    traced = wire.with_request_trace(
        wire.Single(event), [(b"traceparent", VALID.encode()), (b"tracestate", b"a=1")]
    )
    assert isinstance(traced, wire.Single)
    assert traced.event.attributes["traceparent"] == VALID
    assert traced.event.attributes["tracestate"] == "a=1"
    stored = traced.event.to_json()
    assert stored.index(b'"traceparent"') < stored.index(b'"tracestate"') < stored.index(b'"data"')
    untouched = wire.with_request_trace(wire.Single(event), [])
    assert isinstance(untouched, wire.Single)
    assert untouched.event is event


def test_a_03_event_with_bytes_keeps_its_encoding_when_traced() -> None:
    event = CloudEvent.from_attributes(
        {"specversion": "0.3", "id": "1", "source": "s", "type": "t", "datacontenttype": "x/y"},
        json_data("text"),
    )
    traced = wire.with_request_trace(wire.Single(event), [(b"traceparent", VALID.encode())])
    assert isinstance(traced, wire.Single)
    assert traced.event.data == event.data
    assert traced.event.attributes["specversion"] == "0.3"
