"""Helpers of the cluster-network scenarios: Pods that run curl, and a tiny admission webhook
behind a Service (python from Debian's packages, a certificate from the plane's CA)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from controlplane import ControlPlane
from controlplane.node.images import DebianImage, ensure_archive
from tests.e2e.node.runs import REQUIRE_NODE

CURL = "curlimages/curl"
PYTHON_IMAGE = DebianImage("localhost/jobsink-test/python:3.11", ("python3.11",), ("python3.11",))
WEBHOOK_PORT = 8443

WEBHOOK_SERVER = """\
import http.server, json, ssl

class Review(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = review["request"]
        allowed = request["object"]["metadata"]["name"] != "refused-by-the-webhook"
        response = {"uid": request["uid"], "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 403, "message": "the webhook behind its Service says no"}
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": response}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = http.server.HTTPServer(("0.0.0.0", PORT), Review)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("/tls/tls.crt", "/tls/tls.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
""".replace("PORT", str(WEBHOOK_PORT))


def require_services(plane: ControlPlane) -> None:
    """Skip (or fail, with JOBSINK_REQUIRE_NODE=1) when the node does not route Services."""
    assert plane.node is not None
    if plane.node.services:
        return
    reason = "the node does not route Services (another run on this machine does)"
    if os.environ.get(REQUIRE_NODE) == "1":
        pytest.fail(f"{REQUIRE_NODE}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def kubectl_run(
    plane: ControlPlane, namespace: str, name: str, *args: str, image: str = CURL
) -> subprocess.CompletedProcess[str]:
    """``kubectl run NAME --image=IMAGE --restart=Never -- ARGS``, then the Pod's log and its
    container's exit code, as a user sees them. Not ``-i``: kubectl may attach after a
    short-lived container has ended and then print its output twice, or not at all (the README's
    literal ``-ti`` form is run on a terminal by the cluster tests)."""
    plane.kubectl(
        "run", name, f"--image={image}", "--restart=Never", "-n", namespace, "--", *args,
        timeout=60,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            pod = json.loads(
                plane.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout
            )
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                statuses = pod["status"].get("containerStatuses") or [{}]
                state = statuses[0].get("state", {}).get("terminated", {})
                if state:
                    break
            time.sleep(0.5)
        else:
            raise AssertionError(
                f"pod {namespace}/{name} did not end within 180 s: {pod['status']}"
            )
        logs = plane.kubectl("logs", name, "-n", namespace, check=False, timeout=60)
        return subprocess.CompletedProcess(
            ["kubectl", "run", name, f"--image={image}", "--", *args],
            int(state.get("exitCode", 1)),
            logs.stdout,
            logs.stderr,
        )
    finally:
        plane.kubectl("delete", "pod", name, "-n", namespace, "--now", check=False, timeout=60)


@dataclass(frozen=True)
class Webhook:
    namespace: str
    service: str
    configuration: str


def deploy_webhook(plane: ControlPlane, namespace: str) -> Webhook:
    """The python webhook as a Pod behind a Service, and a ValidatingWebhookConfiguration that
    names the Service (not a URL) for ConfigMaps created in ``namespace``."""
    assert plane.node is not None
    plane.node.publish_image(ensure_archive(PYTHON_IMAGE, lambda _: None), PYTHON_IMAGE.reference)
    service = "tiny-webhook"
    # The short name first: it becomes the subject's CN, which may hold 64 characters only.
    pair = plane.authority.issue_server(dns_names=[service, f"{service}.{namespace}.svc"])
    labels = {"app": service}
    objects = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": service, "namespace": namespace},
            "stringData": {"tls.crt": pair.cert_pem.decode(), "tls.key": pair.key_pem.decode()},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": service, "namespace": namespace},
            "data": {"server.py": WEBHOOK_SERVER},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": service, "namespace": namespace, "labels": labels},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "server",
                        "image": PYTHON_IMAGE.reference,
                        "command": ["python3.11", "/app/server.py"],
                        "ports": [{"containerPort": WEBHOOK_PORT}],
                        "readinessProbe": {"tcpSocket": {"port": WEBHOOK_PORT}, "periodSeconds": 1},
                        "volumeMounts": [
                            {"name": "app", "mountPath": "/app"},
                            {"name": "tls", "mountPath": "/tls"},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "app", "configMap": {"name": service}},
                    {"name": "tls", "secret": {"secretName": service}},
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": 443, "targetPort": WEBHOOK_PORT}]},
        },
    ]
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    plane.kubectl("wait", "--for=condition=Ready", "--timeout=120s", "-n", namespace,
                  f"pod/{service}")  # fmt: skip
    configuration = f"{namespace}-tiny-webhook"
    webhook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": configuration},
        "webhooks": [{
            "name": "tiny.webhook.test",
            "clientConfig": {
                "service": {"namespace": namespace, "name": service, "port": 443, "path": "/"},
                "caBundle": base64.b64encode(plane.ca_cert.read_bytes()).decode(),
            },
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["configmaps"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 5,
        }],
    }  # fmt: skip
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(webhook))
    return Webhook(namespace, service, configuration)
