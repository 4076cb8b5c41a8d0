"""Rendering of the Job and the event Secret that a JobSink creates for one CloudEvent.

Shared by the receiver (real events) and by validation and the webhook (a placeholder event), so the
Job that admission checks is the Job the receiver will create. Output is plain JSON-ready dicts: the
receiver sends them as they are, never through the Kubernetes client's models.

What the Job gets on top of ``spec.job`` (docs/reference/jobsink-api.md, "Names, labels, owners"
and "The event volume"):

* name ``names.job_name(sink, source, id)``, the JobSink's namespace;
* the user's labels and annotations, plus the sink name/id labels and event source/id annotations;
* an owner reference to the JobSink (``controller: true``), so deleting the sink deletes its Jobs;
* a Secret volume ``jobsink-event``; in every container and initContainer a read-only mount of it at
  ``/etc/jobsink-event`` unless the container mounts ``jobsink-event`` itself, and ``K_EVENT_PATH``
  (the mount directory) unless the container sets it;
* for an event with a valid trace context (``jobsink.tracecontext``): the annotations
  ``sinks.knative.dev/traceparent`` (and ``/tracestate``), and in every container and
  initContainer ``TRACEPARENT`` (and ``TRACESTATE``) unless the container sets a variable of that
  name in ``env``.

Everything else in ``spec.job.spec`` (``suspend``, ``podFailurePolicy``, ...) passes through as is.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Final, Protocol

from jobsink import tracecontext
from jobsink.defaults import copy_json, default
from jobsink.delivery import dead_letter_sink
from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    DEAD_LETTER_PENDING,
    ENV_EVENT_PATH,
    EVENT_KEY,
    EVENT_MOUNT_PATH,
    EVENT_VOLUME,
    LABEL_DEAD_LETTER,
    LABEL_SINK_ID,
    LABEL_SINK_NAME,
    job_name,
)
from jobsink.types import API_VERSION, KIND

PLACEHOLDER_UID: Final = "00000000-0000-0000-0000-000000000000"
"""Owner uid used when rendering before the JobSink exists (admission of a CREATE)."""
PLACEHOLDER_NAME_SUFFIX: Final = "xxxxx"
"""Stands for the 5 random characters the apiserver appends to ``generateName``."""


class Event(Protocol):
    """What rendering needs from a CloudEvent (``jobsink.event.CloudEvent`` satisfies it)."""

    @property
    def source(self) -> str: ...

    @property
    def id(self) -> str: ...

    def to_json(self) -> bytes: ...


@dataclass(frozen=True)
class PlaceholderEvent:
    """A minimal valid event, for rendering a JobSink's Job when no real event exists yet."""

    source: str = "jobsink.validation"
    id: str = "placeholder"
    type: str = "dev.jobsink.placeholder"

    def to_json(self) -> bytes:
        attributes = {"specversion": "1.0", "id": self.id, "source": self.source, "type": self.type}
        return json.dumps(attributes, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Rendered:
    """The objects for one event: create ``job`` first, then ``secret`` owned by it."""

    name: str
    job: dict[str, Any]
    secret: dict[str, Any]


def sink_name(sink: dict[str, Any]) -> str:
    """The JobSink's name; before admission assigns it, ``generateName`` plus placeholder chars."""
    meta = sink.get("metadata") or {}
    name = meta.get("name")
    if name:
        return str(name)
    return f"{meta.get('generateName') or ''}{PLACEHOLDER_NAME_SUFFIX}"


def render(
    sink: dict[str, Any], event: Event, trace: tracecontext.TraceContext | None = None
) -> Rendered:
    """The Job and event Secret for ``event`` sent to ``sink`` (a JobSink as a plain dict);
    ``trace`` is the event's trace context, handed on to the Job."""
    return render_defaulted(default(sink), event, trace)


def render_defaulted(
    sink: dict[str, Any], event: Event, trace: tracecontext.TraceContext | None = None
) -> Rendered:
    """:func:`render` for a caller that already holds ``default(sink)``; the Job reuses its parts.

    ``sink`` must be that private copy: its ``spec.job.spec`` becomes the Job's spec and gets the
    event volume, mounts and variables, so the caller must not read the pod spec afterwards.
    """
    meta = sink.get("metadata") or {}
    owner = sink_name(sink)
    name = job_name(owner, event.source, event.id)
    template = (sink.get("spec") or {}).get("job")
    if not isinstance(template, dict):
        raise ValueError(
            "spec.job: Required value: a JobSink without a Job template renders nothing"
        )
    user_meta = template.get("metadata") or {}
    labels = {**(user_meta.get("labels") or {}), LABEL_SINK_NAME: owner, LABEL_SINK_ID: name}
    annotations = {
        **(user_meta.get("annotations") or {}),
        ANNOTATION_EVENT_SOURCE: event.source,
        ANNOTATION_EVENT_ID: event.id,
    }
    namespace = meta.get("namespace") or "default"
    job_spec = template.get("spec") or {}  # the caller's private copy: safe to modify
    inject_event(job_spec, secret_name=name, env=tracecontext.job_environment(trace))
    job_labels = labels
    if dead_letter_sink(sink) is not None:
        # Only the Job: it is what the dead-letter dispatcher watches and marks when done.
        job_labels = {**labels, LABEL_DEAD_LETTER: DEAD_LETTER_PENDING}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": job_labels,
            "annotations": {**annotations, **tracecontext.job_annotations(trace)},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": KIND,
                    "name": owner,
                    "uid": meta.get("uid") or PLACEHOLDER_UID,
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": job_spec,
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": dict(annotations),
        },
        "immutable": True,
        "type": "Opaque",
        "data": {EVENT_KEY: base64.b64encode(event.to_json()).decode("ascii")},
    }
    return Rendered(name=name, job=job, secret=secret)


def secret_owned_by(secret: dict[str, Any], job_name: str, job_uid: str) -> dict[str, Any]:
    """A copy of ``secret`` owned by the created Job, so deleting the Job deletes the event."""
    owned: dict[str, Any] = copy_json(secret)
    owned["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": job_name,
            "uid": job_uid,
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ]
    return owned


def dry_run_job(sink: dict[str, Any]) -> dict[str, Any]:
    """The Job the receiver would create, for a server-side dry-run create at admission time."""
    return render(sink, PlaceholderEvent()).job


def inject_event(job_spec: dict[str, Any], secret_name: str, env: list[dict[str, str]]) -> None:
    """Add the event volume (Secret ``secret_name``), its mounts and the variables ``env`` to
    ``job_spec`` in place; the spec's template and pod spec must be the caller's own."""
    template = _member(job_spec, "template", {})
    pod = _member(template, "spec", {})
    # A user volume of that name would shadow the event; validation rejects it, and rendering
    # replaces it so objects stored before that rule still get their event.
    volumes = _member(pod, "volumes", [])
    event_volume = {"name": EVENT_VOLUME, "secret": {"secretName": secret_name}}
    index = next((i for i, v in enumerate(volumes) if v.get("name") == EVENT_VOLUME), None)
    if index is None:
        volumes.append(event_volume)
    else:
        volumes[index] = event_volume
    for kind in ("initContainers", "containers"):
        for container in pod.get(kind) or []:
            _mount_event(container)
            _add_variables(container, env)


def _mount_event(container: dict[str, Any]) -> None:
    mounts = _member(container, "volumeMounts", [])
    own = next((m for m in mounts if m.get("name") == EVENT_VOLUME), None)
    if own is None:
        mounts.append({"name": EVENT_VOLUME, "mountPath": EVENT_MOUNT_PATH, "readOnly": True})
        directory = EVENT_MOUNT_PATH
    else:
        directory = str(own.get("mountPath") or EVENT_MOUNT_PATH)
    env = _member(container, "env", [])
    if not any(var.get("name") == ENV_EVENT_PATH for var in env):
        env.append({"name": ENV_EVENT_PATH, "value": directory})


def _add_variables(container: dict[str, Any], variables: list[dict[str, str]]) -> None:
    """Append ``variables`` the container does not set in ``env`` itself (``envFrom`` cannot be
    seen here; a variable in ``env`` wins over ``envFrom`` in Kubernetes)."""
    if not variables:
        return
    env = _member(container, "env", [])
    own = {var.get("name") for var in env}
    env.extend(dict(var) for var in variables if var["name"] not in own)


def _member(obj: dict[str, Any], name: str, empty: Any) -> Any:
    """``obj[name]``, first set to ``empty`` when absent or JSON null."""
    if obj.get(name) is None:
        obj[name] = empty
    return obj[name]
