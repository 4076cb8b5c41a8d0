"""Helpers of the Knative scenarios: Knative objects as documents, waiting for their Ready
condition, an in-cluster subscriber that is not JobSink for Python, and sending from a Pod."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from controlplane import ControlPlane
from controlplane.knative.images import image_reference

WAIT = 120.0
Document = dict[str, Any]
CURL_IMAGE = "docker.io/curlimages/curl:latest"
#: Knative's event logger (cmd/event_display): logs every CloudEvent it receives, answers 202.
ECHO_NAME = "event-display"
ECHO_PORT = 8080


def eventually(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> float:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - began


def apply(plane: ControlPlane, *documents: Document) -> None:
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))


def get(plane: ControlPlane, namespace: str, kind: str, name: str) -> Document:
    result = plane.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    document: Document = json.loads(result.stdout)
    return document


def ready(document: Document) -> bool:
    conditions = (document.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def wait_ready(plane: ControlPlane, namespace: str, kind: str, name: str) -> Document:
    """The object once its Ready condition is True (its status on timeout, in the message)."""
    seen: dict[str, Document] = {}

    def is_ready() -> bool:
        seen["last"] = get(plane, namespace, kind, name)
        return ready(seen["last"])

    try:
        eventually(is_ready, f"{kind} {namespace}/{name} Ready")
    except AssertionError as error:
        status = json.dumps(seen.get("last", {}).get("status"), indent=1)
        raise AssertionError(f"{error}; last status: {status}") from None
    return seen["last"]


def broker(namespace: str, name: str = "default") -> Document:
    """A Broker of the cluster's default class (MTChannelBasedBroker over InMemoryChannel)."""
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Broker",
        "metadata": {"name": name, "namespace": namespace},
    }


def trigger(
    namespace: str,
    name: str,
    subscriber: Document,
    *,
    broker_name: str = "default",
    filter_attributes: Mapping[str, str] | None = None,
) -> Document:
    spec: Document = {"broker": broker_name, "subscriber": subscriber}
    if filter_attributes:
        spec["filter"] = {"attributes": dict(filter_attributes)}
    return {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Trigger",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def service_ref(name: str) -> Document:
    return {"ref": {"apiVersion": "v1", "kind": "Service", "name": name}}


def echo_subscriber(namespace: str) -> list[Document]:
    """A Deployment of Knative's event logger and its Service (port 80)."""
    labels = {"app": ECHO_NAME}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": ECHO_NAME, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "display",
                                "image": image_reference("event_display"),
                                "ports": [{"containerPort": ECHO_PORT}],
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": ECHO_NAME, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": ECHO_PORT}]},
        },
    ]


def post_from_pod(
    plane: ControlPlane,
    namespace: str,
    name: str,
    url: str,
    headers: Mapping[str, str],
    body: str,
) -> str:
    """POST from a curl Pod in the cluster; returns the HTTP status curl saw."""
    argv = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    argv += ["--data-raw", body]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "curl", "image": CURL_IMAGE, "args": argv}],
        },
    }
    apply(plane, pod)

    def finished() -> bool:
        phase = get(plane, namespace, "pod", name).get("status", {}).get("phase")
        return phase in ("Succeeded", "Failed")

    eventually(finished, f"the curl Pod {name} to finish")
    return str(plane.kubectl("logs", "-n", namespace, name).stdout).strip()


def cloudevent_headers(
    event_type: str, event_id: str, source: str = "my/curl/command"
) -> dict[str, str]:
    """Binary-mode CloudEvent headers, as the documentation's curl command sends them."""
    return {
        "Content-Type": "application/json",
        "Ce-Specversion": "1.0",
        "Ce-Type": event_type,
        "Ce-Source": source,
        "Ce-Id": event_id,
    }


def deployment_logs(plane: ControlPlane, namespace: str, name: str) -> str:
    return str(plane.kubectl("logs", "-n", namespace, f"deployment/{name}", check=False).stdout)
