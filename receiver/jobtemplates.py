"""Each JobSink's Job rendered once per (uid, generation); per event only what differs is filled in.

``jobsink.render`` builds the Job and Secret of one event from the JobSink: it defaults the whole
JobSink (a deep copy), walks its pod template to add the event volume, mounts and variables,
and builds the metadata. All of that but a handful of values is the same for every event of
one JobSink generation, so :class:`JobTemplates` renders it once, for a placeholder event, and
makes each event's objects from that: new metadata (name, the sink-id label, the event's
source and id, its trace context), a new event volume naming the event's Secret, and, for an
event with a trace context, containers with its variables. Everything else is shared between
the bodies, which are only ever encoded, never changed.

The result equals ``jobsink.render.render`` for every JobSink and event
(``tests/receiver/test_jobtemplates.py`` checks it over a table of both). A JobSink without a
``generation`` (one that never went through the apiserver) is rendered afresh every time.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from jobsink import tracecontext
from jobsink.defaults import default
from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    EVENT_KEY,
    EVENT_VOLUME,
    LABEL_SINK_ID,
    job_name,
)
from jobsink.render import Event, PlaceholderEvent, Rendered, render, render_defaulted, sink_name

MAX_TEMPLATES = 1024
"""JobSink generations kept; the least recently used goes first."""


@dataclass(frozen=True)
class _Template:
    owner: str
    job: dict[str, Any]
    secret: dict[str, Any]


class JobTemplates:
    """Thread-safe: the receiver's workers render concurrently."""

    def __init__(self, max_entries: int = MAX_TEMPLATES) -> None:
        self._max = max_entries
        self._templates: OrderedDict[tuple[str, int], _Template] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._templates)

    def render(
        self,
        sink: dict[str, Any],
        event: Event,
        trace: tracecontext.TraceContext | None = None,
        name: str | None = None,
    ) -> Rendered:
        """What ``jobsink.render.render(sink, event, trace)`` gives; ``name``: the event's
        ``job_name``, when the caller has it already."""
        template = self._template(sink)
        if template is None:
            return render(sink, event, trace)
        return _fill(template, event, trace, name)

    def _template(self, sink: dict[str, Any]) -> _Template | None:
        meta = sink.get("metadata") or {}
        generation = meta.get("generation")
        if not isinstance(generation, int):
            return None
        key = (str(meta.get("uid") or ""), generation)
        with self._lock:
            found = self._templates.get(key)
            if found is not None:
                self._templates.move_to_end(key)
                return found
        rendered = render_defaulted(default(sink), PlaceholderEvent())
        made = _Template(sink_name(sink), rendered.job, rendered.secret)
        with self._lock:
            self._templates[key] = made
            while len(self._templates) > self._max:
                self._templates.popitem(last=False)
        return made


def _fill(
    template: _Template,
    event: Event,
    trace: tracecontext.TraceContext | None,
    name: str | None = None,
) -> Rendered:
    if name is None:
        name = job_name(template.owner, event.source, event.id)
    job_meta, secret_meta = template.job["metadata"], template.secret["metadata"]
    ours = {ANNOTATION_EVENT_SOURCE: event.source, ANNOTATION_EVENT_ID: event.id}
    job = {
        **template.job,
        "metadata": {
            **job_meta,
            "name": name,
            "labels": {**job_meta["labels"], LABEL_SINK_ID: name},
            "annotations": {
                **job_meta["annotations"],
                **ours,
                **tracecontext.job_annotations(trace),
            },
        },
        "spec": _spec(template.job["spec"], name, tracecontext.job_environment(trace)),
    }
    secret = {
        **template.secret,
        "metadata": {
            **secret_meta,
            "name": name,
            "labels": {**secret_meta["labels"], LABEL_SINK_ID: name},
            "annotations": {**secret_meta["annotations"], **ours},
        },
        "data": {EVENT_KEY: base64.b64encode(event.to_json()).decode("ascii")},
    }
    return Rendered(name=name, job=job, secret=secret)


def _spec(spec: dict[str, Any], name: str, env: list[dict[str, str]]) -> dict[str, Any]:
    """The template's Job spec with the event volume naming ``name`` and, in every container,
    the variables of ``env`` it does not set itself (as ``jobsink.render`` adds them)."""
    template = spec["template"]
    pod = template["spec"]
    volumes = list(pod["volumes"])
    index = next(i for i, volume in enumerate(volumes) if volume.get("name") == EVENT_VOLUME)
    volumes[index] = {"name": EVENT_VOLUME, "secret": {"secretName": name}}
    filled = {**pod, "volumes": volumes}
    if env:
        for kind in ("initContainers", "containers"):
            if pod.get(kind):
                filled[kind] = [_with_variables(c, env) for c in pod[kind]]
    return {**spec, "template": {**template, "spec": filled}}


def _with_variables(container: dict[str, Any], variables: list[dict[str, str]]) -> dict[str, Any]:
    env = container.get("env") or []
    own = {var.get("name") for var in env}
    return {**container, "env": [*env, *(dict(v) for v in variables if v["name"] not in own)]}
