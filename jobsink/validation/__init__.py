"""Validation of JobSinks: every error carries its Kubernetes field path.

``validate`` answers the question the apiserver will answer later, when the receiver creates a Job
for an event: would that Job be accepted? It runs, in order,

1. structural validation against the generated models (types, unknown fields, required fields);
2. the JobSink's own rules (``spec.job`` required, a name short enough for the labels, a
   ``spec.delivery`` Knative would accept);
3. conflicts between the template and the injected event volume, mount and variable;
4. the apiserver's Job and pod rules on the Job's spec as rendering makes it: the JobSink's, with
   the event volume, mounts and variables added (``jobsink.render.inject_event``).

The Job spec's paths are reported at the JobSink's paths (``spec.job.spec...``).
"""

from __future__ import annotations

from typing import Any

from jobsink.defaults import default_for_reading
from jobsink.render import inject_event
from jobsink.validation.advice import warnings
from jobsink.validation.delivery import validate_delivery
from jobsink.validation.errors import FieldError, required
from jobsink.validation.injection import injected_paths, is_under, validate_injection
from jobsink.validation.job import validate_job_spec
from jobsink.validation.meta import validate_annotations, validate_labels, validate_sink_metadata
from jobsink.validation.structure import validate_structure

__all__ = ["DELIVERY_PATH", "FieldError", "validate", "warnings"]

JOB_SPEC_PATH = "spec.job.spec"
POD_SPEC_PATH = f"{JOB_SPEC_PATH}.template.spec"
DELIVERY_PATH = "spec.delivery"
#: The event Secret's name in the checked Job spec. A real Job's is derived from the event
#: (``names.job_name``), always a valid name, and only its presence is checked: any valid name
#: gives the same verdict, without hashing a placeholder event per review.
EVENT_SECRET = "jobsink-event-placeholder"


def validate(obj: dict[str, Any]) -> list[FieldError]:
    """All the reasons ``obj`` (a JobSink as a plain dict) would be refused; [] if none.

    ``obj`` is defaulted first (a no-op when the webhook already did), so the answer is the same
    for a raw and a defaulted object, and paths match what :func:`render` produces. The event is
    injected into that same copy, of which only the parts defaulting and injection change are
    copied (copying was a good part of the admission time); ``obj`` is not modified.
    """
    errors = validate_structure(obj)
    if errors:
        return errors
    errors = validate_sink_metadata(obj.get("metadata") or {})
    errors += validate_delivery((obj.get("spec") or {}).get("delivery"), DELIVERY_PATH)
    obj = default_for_reading(obj)
    job = (obj.get("spec") or {}).get("job")
    if job is None:
        return [*errors, required("spec.job", "the Job template to run for each event")]
    meta = job.get("metadata") or {}
    errors += validate_labels(meta.get("labels"), "spec.job.metadata.labels")
    errors += validate_annotations(meta.get("annotations"), "spec.job.metadata.annotations")
    job_spec = job.get("spec") or {}
    pod = job_spec.get("template", {}).get("spec") or {}
    errors += validate_injection(pod, POD_SPEC_PATH)
    skipped = injected_paths(pod, POD_SPEC_PATH)  # before injection adds those elements to pod
    inject_event(job_spec, secret_name=EVENT_SECRET, env=[])
    errors += [
        error
        for error in validate_job_spec(job_spec, JOB_SPEC_PATH)
        if not is_under(error.path, skipped)
    ]
    return errors
