"""What the scenarios put in the cluster besides Knative and the JobSinks: a subscriber that
always fails, events posted from one Pod, and a Trigger's delivery spec.

Pods talk only inside the node's Pod and Service networks. The failing subscriber runs on the
local Python base image (``make image`` builds on it; published on the node by the fixture);
the posts run in the curl image with its shell, so neither needs the project image.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from controlplane import ControlPlane
from controlplane.image.base import BASE_REFERENCE
from tests.e2e.knative.cluster import CURL_IMAGE, Document, apply, eventually, get

#: Seconds a POST may take: longer than a Trigger's retries here (about 2 min at most).
POST_TIMEOUT = 150
FAILING_NAME = "always-fails"
FAILING_PORT = 8080
FAILING_BODY = "this subscriber always fails"
#: Answers every POST with 500 and prints one line per request, so the test can count the
#: attempts Knative made before it gave the event to the dead-letter sink.
FAILING_SERVER = f"""
import http.server
class Refuse(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = {FAILING_BODY!r}.encode()
        self.send_response(500)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print("refused", self.headers.get("ce-id"), flush=True)
http.server.ThreadingHTTPServer(("", {FAILING_PORT}), Refuse).serve_forever()
"""


def failing_subscriber(namespace: str) -> list[Document]:
    """A Deployment answering every event 500, and its Service (port 80)."""
    labels = {"app": FAILING_NAME}
    container = {
        "name": "refuse",
        "image": BASE_REFERENCE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-u", "-c", FAILING_SERVER],
        "ports": [{"containerPort": FAILING_PORT}],
        "readinessProbe": {"tcpSocket": {"port": FAILING_PORT}, "periodSeconds": 1},
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": FAILING_NAME, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": FAILING_NAME, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": FAILING_PORT}]},
        },
    ]


def with_delivery(trigger: Document, delivery: Mapping[str, object]) -> Document:
    """The Trigger with ``spec.delivery`` (retries, backoff, dead-letter sink)."""
    return {**trigger, "spec": {**trigger["spec"], "delivery": dict(delivery)}}


def start_posts(
    plane: ControlPlane,
    namespace: str,
    name: str,
    url: str,
    events: Sequence[Mapping[str, str]],
    body: str,
    *,
    at_once: bool = False,
) -> None:
    """Start a curl Pod that POSTs every event (a mapping of CloudEvents headers): one after
    the other, or ``at_once`` (each in a curl process of its own). :func:`answers` waits for it.

    A Broker over an in-memory channel answers only once the Trigger's delivery ended, retries
    included: a scenario that lifts a fault while events are posted does not wait here."""
    posts = []
    for headers in events:
        argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\\n", "-X", "POST", url]
        # A Broker answers once the Trigger's delivery and its retries ended; a delivery that
        # never ends shows as 000 instead of holding the test.
        argv += ["--max-time", str(POST_TIMEOUT)]
        for key, value in headers.items():
            argv += ["-H", f"{key}: {value}"]
        argv += ["--data-raw", body]
        posts.append(" ".join(shlex.quote(arg) for arg in argv) + (" &" if at_once else ""))
    script = "\n".join([*posts, "wait"])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "post", "image": CURL_IMAGE, "command": ["sh", "-c", script]}],
        },
    }
    apply(plane, pod)


def answers(plane: ControlPlane, namespace: str, name: str, timeout: float = 300.0) -> list[str]:
    """The HTTP statuses the curl Pod ``name`` got, in the order the answers came."""

    def finished() -> bool:
        phase = get(plane, namespace, "pod", name).get("status", {}).get("phase")
        return phase in ("Succeeded", "Failed")

    eventually(finished, f"the curl Pod {name} to finish", timeout=timeout)
    log = str(plane.kubectl("logs", "-n", namespace, name).stdout)
    return [line.strip() for line in log.splitlines() if line.strip()]


def post_all_from_pod(
    plane: ControlPlane,
    namespace: str,
    name: str,
    url: str,
    events: Sequence[Mapping[str, str]],
    body: str,
    *,
    at_once: bool = False,
) -> list[str]:
    """:func:`start_posts`, then its :func:`answers`."""
    start_posts(plane, namespace, name, url, events, body, at_once=at_once)
    longest = POST_TIMEOUT * (1 if at_once else len(events))
    return answers(plane, namespace, name, timeout=60.0 + longest)
