"""The JobSink resource (``sinks.knative.dev/v1alpha1``, kind ``JobSink``) as typed wire models.

``spec.job`` is a Job *template*: labels and annotations for the Jobs, and a ``batch/v1``
``JobSpec`` taken verbatim from the generated models, so every JobSpec field the pinned
Kubernetes knows is accepted and nothing else is. The status has Knative's duck shape
(``duckv1.Status`` + ``duckv1.AddressStatus``) so Knative sources, Triggers and Brokers resolve a
``ref`` to a JobSink exactly as they resolve any other Addressable.

The CRD (``crds/jobsink.yaml``) is generated from these classes by ``tools/modelgen/crd.py``; the
field descriptions below become the ``kubectl explain`` text.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr

from jobsink.models.base import KubeModel
from jobsink.models.batch_v1 import JobSpec, ObjectMeta
from jobsink.models.scalars import Int32, Int64, Time

GROUP = "sinks.knative.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "JobSink"
LIST_KIND = "JobSinkList"
PLURAL = "jobsinks"
SINGULAR = "jobsink"
CATEGORIES = ("all", "knative", "eventing", "sink")
CRD_NAME = f"{PLURAL}.{GROUP}"


class JobTemplateMetadata(KubeModel):
    """Metadata copied onto every Job created for an event.

    Only labels and annotations: the Job name, namespace and owner are derived by JobSink.
    """

    labels: dict[str, StrictStr] | None = Field(
        default=None,
        description="Labels added to every Job (for example kueue.x-k8s.io/queue-name).",
    )
    annotations: dict[str, StrictStr] | None = Field(
        default=None,
        description="Annotations added to every Job.",
    )


class JobTemplate(KubeModel):
    """The Job to run for each event: its labels/annotations and its batch/v1 JobSpec."""

    metadata: JobTemplateMetadata | None = Field(
        default=None,
        description="Labels and annotations for the Jobs; names are derived from the event.",
    )
    spec: JobSpec = Field(
        description=(
            "The batch/v1 JobSpec of every Job created for an event. The event is mounted into "
            "each container at /etc/jobsink-event/event, and K_EVENT_PATH names its directory."
        ),
    )


class KReference(KubeModel):
    """A reference to an Addressable object (Knative's ``duckv1.KReference``)."""

    apiVersion: StrictStr = Field(description="API version of the referent.")
    kind: StrictStr = Field(description="Kind of the referent, for example JobSink or Broker.")
    name: StrictStr = Field(description="Name of the referent.")
    namespace: StrictStr | None = Field(
        default=None,
        description="Namespace of the referent; defaults to the namespace of the JobSink.",
    )


class Destination(KubeModel):
    """Where events go (Knative's ``duckv1.Destination``): a ``ref``, a ``uri``, or both."""

    ref: KReference | None = Field(
        default=None,
        description="An Addressable whose status.address.url is the destination.",
    )
    uri: StrictStr | None = Field(
        default=None,
        description=(
            "An absolute URL; or, with ref, a URL resolved against the referent's address "
            "(a path such as /extra)."
        ),
    )
    CACerts: StrictStr | None = Field(
        default=None,
        description="PEM CA certificates to trust for an https destination.",
    )
    audience: StrictStr | None = Field(
        default=None, description="OIDC audience of the destination."
    )


class DeliverySpec(KubeModel):
    """What happens to the event of a Job that fails (Knative's ``DeliverySpec`` shape).

    An addition to Knative's JobSink API: Knative's own CRD would prune it.
    """

    deadLetterSink: Destination | None = Field(
        default=None,
        description=(
            "Where the original event of a Job that ends Failed is sent, with the "
            "knativeerrordest, knativeerrorcode and knativeerrordata extensions."
        ),
    )
    retry: Int32 | None = Field(
        default=None,
        description="Retries of the dead-letter delivery after its first attempt (default 10).",
    )
    backoffPolicy: StrictStr | None = Field(
        default=None,
        description="How the delay between retries grows: exponential (default) or linear.",
    )
    backoffDelay: StrictStr | None = Field(
        default=None,
        description="ISO 8601 duration the retry delays are based on (default PT0.2S).",
    )
    timeout: StrictStr | None = Field(
        default=None,
        description="ISO 8601 duration of each delivery attempt (default PT30S).",
    )


class JobSinkSpec(KubeModel):
    """The desired state of a JobSink."""

    # Optional in the model so that a JobSink without it is a validation error with its path
    # ("spec.job: Required value") rather than a type error; jobsink.validation requires it.
    job: JobTemplate | None = Field(
        default=None,
        description="The Job template instantiated once per event. Required.",
    )
    delivery: DeliverySpec | None = Field(
        default=None,
        description=(
            "Where the events of failed Jobs go (a dead-letter sink) and how that delivery is "
            "retried; an addition to Knative's JobSink API."
        ),
    )


class Condition(KubeModel):
    """A Knative condition (``knative.dev/pkg/apis.Condition``)."""

    type: StrictStr = Field(description="Type of condition, for example Ready or Addressable.")
    status: StrictStr = Field(description="Status of the condition: True, False or Unknown.")
    severity: StrictStr | None = Field(
        default=None,
        description="Severity of a non-Ready condition: Error (empty), Warning or Info.",
    )
    lastTransitionTime: Time | None = Field(
        default=None,
        description="The last time the condition transitioned from one status to another.",
    )
    reason: StrictStr | None = Field(
        default=None,
        description="A one-word CamelCase reason for the condition's last transition.",
    )
    message: StrictStr | None = Field(
        default=None,
        description="A human-readable message with details about the transition.",
    )


class Addressable(KubeModel):
    """Where events for this JobSink are sent (``duckv1.Addressable``)."""

    name: StrictStr | None = Field(
        default=None, description="Name of the address, for example http or https."
    )
    url: StrictStr | None = Field(default=None, description="The URL events are POSTed to.")
    CACerts: StrictStr | None = Field(
        default=None,
        description="PEM CA certificates that sign the receiver's serving certificate.",
    )
    audience: StrictStr | None = Field(
        default=None, description="OIDC audience of this address, when authentication is on."
    )


class AppliedEventPolicy(KubeModel):
    """An EventPolicy that applies to this JobSink (Knative eventing duck type)."""

    apiVersion: StrictStr | None = Field(default=None, description="API version of the policy.")
    name: StrictStr = Field(description="Name of the EventPolicy.")


class JobSinkJobStatus(KubeModel):
    """How to find the Jobs this JobSink created."""

    selector: StrictStr | None = Field(
        default=None,
        description="Label selector matching every Job created for this JobSink.",
    )


class JobSinkStatus(KubeModel):
    """The observed state of a JobSink (``duckv1.Status`` + ``duckv1.AddressStatus`` + job)."""

    observedGeneration: Int64 | None = Field(
        default=None,
        description="The metadata.generation this status was computed for.",
    )
    conditions: list[Condition] | None = Field(
        default=None,
        description="The latest observations of the JobSink's state; Ready summarises them.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    annotations: dict[str, StrictStr] | None = Field(
        default=None,
        description="Additional status information recorded by controllers.",
    )
    address: Addressable | None = Field(
        default=None,
        description="The primary address events are sent to (status.address.url).",
    )
    addresses: list[Addressable] | None = Field(
        default=None,
        description="Every address the JobSink is reachable at, primary first.",
    )
    job: JobSinkJobStatus | None = Field(
        default=None,
        description="How to select the Jobs created for this JobSink.",
    )
    policies: list[AppliedEventPolicy] | None = Field(
        default=None,
        description="EventPolicies that apply to this JobSink.",
    )
    deadLetterSinkUri: StrictStr | None = Field(
        default=None,
        description="The resolved URL of spec.delivery.deadLetterSink (Knative's DeliveryStatus).",
    )
    deadLetterSinkCACerts: StrictStr | None = Field(
        default=None,
        description="PEM CA certificates of the resolved dead-letter sink.",
    )
    deadLetterSinkAudience: StrictStr | None = Field(
        default=None, description="OIDC audience of the resolved dead-letter sink."
    )


class JobSink(KubeModel):
    """JobSink turns every CloudEvent POSTed to its address into a batch/v1 Job."""

    apiVersion: Literal["sinks.knative.dev/v1alpha1"] = Field(
        description="APIVersion of this object: sinks.knative.dev/v1alpha1."
    )
    kind: Literal["JobSink"] = Field(description="Kind of this object: JobSink.")
    metadata: ObjectMeta | None = Field(default=None, description="Standard object metadata.")
    spec: JobSinkSpec | None = Field(default=None, description="The desired state.")
    status: JobSinkStatus | None = Field(default=None, description="The observed state.")
