"""A Pod on the local node works as on a cluster: Services route, the cluster DNS answers for
the cluster and for nothing else, the apiserver is reachable through ``kubernetes`` with the
Pod's own credentials, the apiserver reaches a webhook through its Service, and the docs'
``kubectl run curl --image=curlimages/curl ...`` pulls its image from the node's registry.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from kubernetes import client

from controlplane import ControlPlane
from controlplane.node.addresses import DNS_SERVICE_IP
from tests.e2e.node.cluster_network import deploy_webhook, kubectl_run, require_services
from tests.e2e.node.runs import eventually
from tests.e2e.services import create_namespace, delete_namespace
from tests.e2e.support import unique_name

METRICS = "/metrics"
SA = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture
def namespace(
    node_plane: ControlPlane, node_api_client: client.ApiClient, request: pytest.FixtureRequest
) -> Iterator[str]:
    require_services(node_plane)
    name = unique_name("net", request.node.name)
    create_namespace(node_api_client, name)
    yield name
    delete_namespace(node_api_client, name)


@pytest.mark.parametrize(
    "host",
    ["kube-dns.kube-system.svc.cluster.local", DNS_SERVICE_IP],
    ids=["by DNS name", "by ClusterIP"],
)
def test_a_pod_reaches_the_cluster_dns_metrics_through_its_service(
    node_plane: ControlPlane, namespace: str, host: str
) -> None:
    # CoreDNS runs in its own Pod on the same bridge: Pod -> ClusterIP -> Pod.
    result = kubectl_run(node_plane, namespace, "metrics", "-sS", "-m", "10",
                         f"http://{host}:9153{METRICS}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "coredns_build_info" in result.stdout


def test_a_pod_reaches_the_apiserver_through_the_kubernetes_service_as_itself(
    node_plane: ControlPlane, namespace: str
) -> None:
    script = (
        f'curl -sS -m 10 --cacert {SA}/ca.crt -H "Authorization: Bearer $(cat {SA}/token)" '
        '-H "Content-Type: application/json" -X POST '
        '-d \'{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}\' '
        "https://kubernetes.default.svc.cluster.local/apis/authentication.k8s.io/v1/selfsubjectreviews"
    )
    result = kubectl_run(node_plane, namespace, "whoami", "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    # Not parsed as one document: `kubectl run -i` may print a short-lived Pod's output twice
    # (attach, then logs), so the answer can appear more than once, even interleaved.
    users = set(re.findall(r'"username":\s*"([^"]+)"', result.stdout))
    assert users == {f"system:serviceaccount:{namespace}:default"}, result.stdout


def test_a_name_outside_the_cluster_fails_fast_and_is_never_forwarded(
    node_plane: ControlPlane, namespace: str
) -> None:
    began = time.monotonic()
    result = kubectl_run(node_plane, namespace, "outside", "-sS", "-m", "20", "http://example.com/")
    took = time.monotonic() - began
    assert "Could not resolve host: example.com" in result.stdout + result.stderr
    assert result.returncode != 0
    # Refused by the cluster DNS at once: no resolver was asked to wait on the outside.
    assert took < 15, took
    resolv = kubectl_run(node_plane, namespace, "resolv", "cat", "/etc/resolv.conf")
    # A set: `kubectl run -i` may print a short-lived Pod's output twice (attach, then logs).
    assert {line for line in resolv.stdout.splitlines() if line.startswith("nameserver")} == {
        f"nameserver {DNS_SERVICE_IP}"
    }


def test_the_docs_kubectl_run_curl_pulls_from_the_nodes_registry_and_prints_curls_output(
    node_plane: ControlPlane, namespace: str
) -> None:
    log = node_plane.layout.log("registry")
    before = log.read_text()
    url = f"http://kube-dns.kube-system.svc.cluster.local:9153{METRICS}"
    result = kubectl_run(node_plane, namespace, "curl", "-X", "POST", "-v", "-sS", "-m", "10", url)
    assert result.returncode == 0, result.stderr
    assert f"> POST {METRICS} HTTP/1.1" in result.stdout + result.stderr
    assert "coredns_build_info" in result.stdout
    # Untagged means :latest, which the kubelet pulls on every start: containerd asks the
    # registry for the manifest (HEAD, then GETs only what it does not hold yet).
    pulled = log.read_text()[len(before) :]
    assert re.search(r'"(HEAD|GET) /v2/curlimages/curl/manifests/latest\S* HTTP/1.1" 200', pulled)
    events = node_plane.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    messages = [item["message"] for item in json.loads(events)["items"]]
    assert any(m.startswith('Successfully pulled image "curlimages/curl"') for m in messages)


def test_the_apiserver_reaches_a_webhook_through_its_service(
    node_plane: ControlPlane, namespace: str
) -> None:
    webhook = deploy_webhook(node_plane, namespace)
    try:

        def allowed() -> bool:
            # Fails (failurePolicy Fail) until kube-proxy routes the Service to the Pod.
            name = f"allowed-{time.monotonic_ns()}"
            created = node_plane.kubectl("create", "configmap", name, "-n", namespace, check=False)
            return created.returncode == 0

        eventually(allowed, "a ConfigMap admitted by the webhook behind its Service", 60)
        refused = node_plane.kubectl(
            "create", "configmap", "refused-by-the-webhook", "-n", namespace, check=False
        )
        assert refused.returncode != 0
        assert "the webhook behind its Service says no" in refused.stderr
    finally:
        node_plane.kubectl(
            "delete", "validatingwebhookconfiguration", webhook.configuration, check=False
        )
