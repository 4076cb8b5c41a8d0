"""Knative Eventing's components as Pods on the local node.

    knative = start_knative(plane, say)   # images published, config/ applied, waited until used
    ...
    knative.stop()                        # webhook configurations and the namespace deleted

Pods, not host processes: a Broker's address is a cluster DNS name
(``broker-ingress.knative-eventing.svc.cluster.local``) and Knative's webhook is reached by the
apiserver through its Service, so only a node that routes Services and runs the cluster DNS can
host it. Knative's components then run as in any cluster: with their own service accounts and
the module's RBAC (not cluster-admin), their webhook managing its own certificate.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from controlplane.errors import ControlPlaneError
from controlplane.knative.binaries import (
    COMMANDS,
    KNATIVE_VERSION,
    Progress,
    ensure_knative,
    knative_buildable,
)
from controlplane.knative.images import ensure_image_archive, image_reference
from controlplane.knative.manifests import (
    KNATIVE_NAMESPACE,
    Document,
    InstallPlan,
    install_plan,
    load_config,
)
from controlplane.readiness import wait_for

START_TIMEOUT = 240.0
BROKER_CLASS_ANNOTATION = "eventing.knative.dev/broker.class"
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


class Node(Protocol):
    @property
    def services(self) -> bool: ...

    def publish_image(self, archive: Path, reference: str) -> str: ...


class Plane(Protocol):
    """What Knative needs of a started ``controlplane.ControlPlane``."""

    @property
    def node(self) -> Node | None: ...

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> Any: ...


def knative_unavailable_reason(plane: Plane | None = None) -> str | None:
    """Why Knative cannot run (on ``plane``, when given), or None."""
    if plane is not None:
        if plane.node is None:
            return "Knative's components run as Pods: the control plane has no node"
        if not plane.node.services:
            return (
                "Knative's components need Services and the cluster DNS, which this node does "
                "not route (another run on this machine may route them)"
            )
    return knative_buildable()


@dataclass
class StartupTimes:
    """Seconds spent in each step of :func:`start_knative` (the build excluded)."""

    images: float = 0.0
    apply: float = 0.0
    ready: float = 0.0

    @property
    def total(self) -> float:
        return self.images + self.apply + self.ready


@dataclass
class RunningKnative:
    """Knative Eventing's core, in-memory channel and multi-tenant channel broker, Ready."""

    plane: Plane
    plan: InstallPlan
    times: StartupTimes = field(default_factory=StartupTimes)
    version: str = KNATIVE_VERSION

    @property
    def namespace(self) -> str:
        return KNATIVE_NAMESPACE

    def stop(self) -> None:
        """Unregister the webhooks first (``failurePolicy: Fail``: with no webhook Pod, every
        Knative object would be refused), then delete Knative's namespace without waiting."""
        for document in self.plan.rest:
            if document["kind"] in WEBHOOK_KINDS:
                self.plane.kubectl(
                    "delete", document["kind"], document["metadata"]["name"],
                    "--ignore-not-found", check=False,
                )  # fmt: skip
        self.plane.kubectl(
            "delete", "namespace", KNATIVE_NAMESPACE, "--ignore-not-found", "--wait=false",
            check=False,
        )  # fmt: skip


def start_knative(plane: Plane, say: Progress) -> RunningKnative:
    """Publish Knative's images on the node, apply its config/, and wait until its Deployments
    are Available and its webhook defaults objects."""
    reason = knative_unavailable_reason(plane)
    if reason is not None:
        raise ControlPlaneError(f"cannot run Knative Eventing: {reason}")
    assert plane.node is not None
    files = ensure_knative(say)
    times = StartupTimes()

    began = time.monotonic()
    say(f"publishing Knative Eventing {KNATIVE_VERSION}'s {len(COMMANDS)} images on the node")
    for command in COMMANDS:
        plane.node.publish_image(ensure_image_archive(files, command), image_reference(command))
    times.images = time.monotonic() - began

    began = time.monotonic()
    plan = install_plan(load_config(files.directory / "config"))
    running = RunningKnative(plane, plan, times)
    try:
        _apply(plane, plan.first)
        plane.kubectl(
            "wait", "--for=condition=Established", f"--timeout={START_TIMEOUT:.0f}s",
            *(f"crd/{crd['metadata']['name']}" for crd in plan.crds),
            timeout=START_TIMEOUT + 10,
        )  # fmt: skip
        _apply(plane, plan.rest)
        times.apply = time.monotonic() - began

        began = time.monotonic()
        say("waiting for Knative's Deployments and webhook")
        for deployment in plan.deployments:
            if deployment["spec"].get("replicas") == 0:
                continue  # scaled up by Knative's controller once a PingSource exists
            metadata = deployment["metadata"]
            plane.kubectl(
                "wait", "-n", metadata["namespace"], "--for=condition=Available",
                f"--timeout={START_TIMEOUT:.0f}s", f"deployment/{metadata['name']}",
                timeout=START_TIMEOUT + 10,
            )  # fmt: skip
        wait_for(
            lambda: _webhook_defaults(plane),
            what="Knative's webhook to default a Broker",
            timeout=START_TIMEOUT,
        )
        times.ready = time.monotonic() - began
    except BaseException:
        running.stop()
        raise
    say(
        f"Knative Eventing {KNATIVE_VERSION} ready in {times.total:.1f}s (images "
        f"{times.images:.1f}s, apply {times.apply:.1f}s, "
        f"Deployments and webhook {times.ready:.1f}s)"
    )
    return running


def _apply(plane: Plane, documents: list[Document]) -> None:
    # Server-side: Knative's CRDs are larger than the annotation client-side apply keeps, and
    # Knative's webhook later owns fields (its certificate's Secret, the webhooks' rules).
    plane.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=jobsink-controlplane",
        "-f", "-", input=yaml.safe_dump_all(documents), timeout=START_TIMEOUT,
    )  # fmt: skip


def probe_broker() -> Document:
    """A Broker whose server-side dry-run create shows whether Knative's defaulting webhook is
    called: it names the Broker's class in an annotation."""
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Broker",
        "metadata": {"name": "knative-webhook-probe", "namespace": "default"},
    }


def _webhook_defaults(plane: Plane) -> bool:
    result = plane.kubectl(
        "create", "--dry-run=server", "-o", "json", "-f", "-",
        input=yaml.safe_dump(probe_broker()), check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return False
    try:
        annotations = json.loads(result.stdout)["metadata"].get("annotations") or {}
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ControlPlaneError(f"unexpected dry-run answer: {result.stdout!r}") from error
    return BROKER_CLASS_ANNOTATION in annotations
