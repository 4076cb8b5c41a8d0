"""Rendering from a JobSink's template gives exactly what rendering afresh gives, for a table of
JobSinks and events; a template is made once per (uid, generation) and never reused across
either."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from jobsink import tracecontext
from jobsink.event import CloudEvent
from jobsink.render import render
from receiver.jobtemplates import JobTemplates
from tests.receiver.conftest import SINK

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def sink_with(change: dict[str, Any] | None = None, generation: int = 1) -> dict[str, Any]:
    sink = copy.deepcopy(SINK)
    sink["metadata"]["generation"] = generation
    pod = sink["spec"]["job"]["spec"]["template"]["spec"]
    for path, value in (change or {}).items():
        target: Any = sink
        *parents, last = path.split(".")
        for part in parents:
            target = pod if part == "POD" else target[part]
        target[last] = value
    return sink


SINKS = [
    ("the logger", sink_with()),
    ("user labels and annotations", sink_with({"spec.job.metadata": {
        "labels": {"team": "a", "sinks.knative.dev/sink-name": "spoofed"},
        "annotations": {"note": "x"}}})),
    ("init containers, own env and mounts", sink_with({"POD.initContainers": [
        {"name": "init", "image": "busybox", "env": [{"name": "TRACEPARENT", "value": "mine"}]}],
        "POD.containers": [{"name": "main", "image": "busybox",
                            "volumeMounts": [{"name": "jobsink-event", "mountPath": "/in"}],
                            "env": [{"name": "K_EVENT_PATH", "value": "/elsewhere"}]}]})),
    ("a user volume named like the event's", sink_with({"POD.volumes": [
        {"name": "data", "emptyDir": {}}, {"name": "jobsink-event", "emptyDir": {}}]})),
    ("a dead-letter sink", sink_with({"spec.delivery": {
        "deadLetterSink": {"uri": "http://dead.example/letters"}}})),
]  # fmt: skip


def event(id: str, *, traced: bool) -> CloudEvent:
    attributes: dict[str, object] = {"specversion": "1.0", "id": id, "source": "s/1", "type": "t"}
    if traced:
        attributes |= {"traceparent": TRACEPARENT, "tracestate": "a=b"}
    return CloudEvent.from_attributes(attributes, None)


@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
@pytest.mark.parametrize("sink", [s[1] for s in SINKS], ids=[s[0] for s in SINKS])
def test_filled_from_the_template_equals_rendered_afresh(
    sink: dict[str, Any], traced: bool
) -> None:
    templates = JobTemplates()
    for id in ("1", "2", "ünïcode/id"):
        sent = event(id, traced=traced)
        trace = tracecontext.of_extensions(sent.extra)
        fresh, filled = render(sink, sent, trace), templates.render(sink, sent, trace)
        assert filled == fresh
        # The same bytes on the wire, member order included.
        assert orjson.dumps(filled.job) == orjson.dumps(fresh.job)
        assert orjson.dumps(filled.secret) == orjson.dumps(fresh.secret)
    assert len(templates) == 1


def test_a_new_generation_or_uid_gets_a_new_template() -> None:
    templates = JobTemplates()
    first = templates.render(sink_with(), event("1", traced=False))
    changed = sink_with({"POD.containers": [{"name": "main", "image": "other"}]}, generation=2)
    second = templates.render(changed, event("1", traced=False))
    assert second.job["spec"]["template"]["spec"]["containers"][0]["image"] == "other"
    replaced = sink_with()
    replaced["metadata"]["uid"] = "sink-uid-2"
    third = templates.render(replaced, event("1", traced=False))
    assert third.job["metadata"]["ownerReferences"][0]["uid"] == "sink-uid-2"
    assert first.job["metadata"]["ownerReferences"][0]["uid"] == "sink-uid-1"
    assert len(templates) == 3


def test_the_least_recently_used_template_goes_first() -> None:
    templates = JobTemplates(max_entries=2)
    for generation in (1, 2, 1, 3):
        templates.render(sink_with(generation=generation), event("1", traced=False))
    assert len(templates) == 2
    stale = sink_with({"POD.containers": [{"name": "main", "image": "new"}]}, generation=2)
    # Generation 2 was dropped: its new content is rendered, not a stale template.
    assert (
        templates.render(stale, event("1", traced=False)).job["spec"]["template"]["spec"][
            "containers"
        ][0]["image"]
        == "new"
    )


def test_a_sink_without_a_generation_is_rendered_afresh() -> None:
    templates = JobTemplates()
    sink = copy.deepcopy(SINK)
    assert templates.render(sink, event("1", traced=True)) == render(sink, event("1", traced=True))
    assert len(templates) == 0
