"""The install bundle (``jobsink manifests``) against a real kube-apiserver: every object accepted.

Applied with ``--dry-run=server --validate=strict``: the apiserver runs defaulting, schema and
field validation and admission on each object without storing it, so no typo survives, while
Deployments that could never run here (no kubelet) are not created. The system namespace is a
fresh one per test (created for real, since nothing namespaced can be dry-run into a namespace
that does not exist), which also exercises ``--namespace``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from cli import manifests

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _dry_run(kubectl: Kubectl, docs: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    return kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        "-",
        input=yaml.safe_dump_all(docs),
        check=False,
    )


def _bundle_in(namespace: str) -> list[dict[str, Any]]:
    docs = manifests.bundle(manifests.REPO_ROOT, namespace=namespace)
    # The namespace itself exists already (the fixture made it); everything else is dry-run.
    return [doc for doc in docs if doc["kind"] != "Namespace"]


def test_every_object_of_the_bundle_is_accepted(kubectl: Kubectl, namespace: str) -> None:
    docs = _bundle_in(namespace)
    result = _dry_run(kubectl, docs)
    assert result.returncode == 0, result.stderr
    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(docs), result.stdout
    kinds = {doc["kind"] for doc in docs}
    assert {"CustomResourceDefinition", "Deployment", "Service", "ClusterRole"} <= kinds


def test_the_event_policy_crd_variant_is_accepted(kubectl: Kubectl, namespace: str) -> None:
    docs = [
        doc
        for doc in manifests.bundle(manifests.REPO_ROOT, namespace=namespace, event_policy_crd=True)
        if doc["kind"] != "Namespace"
    ]
    result = _dry_run(kubectl, docs)
    assert result.returncode == 0, result.stderr
    assert "eventpolicies.eventing.knative.dev created (server dry run)" in result.stdout


def test_cert_manager_variant_is_accepted_apart_from_cert_manager_kinds(
    kubectl: Kubectl, namespace: str
) -> None:
    """cert-manager's own CRDs are not installed here; every Kubernetes object is checked."""
    docs = [
        doc
        for doc in manifests.bundle(manifests.REPO_ROOT, namespace=namespace, cert_manager=True)
        if doc["kind"] != "Namespace" and not doc["apiVersion"].startswith("cert-manager.io/")
    ]
    result = _dry_run(kubectl, docs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(docs)


@pytest.mark.parametrize(
    ("kind", "corrupt", "message"),
    [
        pytest.param(
            "Deployment",
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolcy="x"),
            'unknown field "spec.template.spec.containers[0].imagePullPolcy"',
            id="unknown-field",
        ),
        pytest.param(
            "Service",
            lambda d: d["spec"]["ports"][0].update(port=70000),
            "spec.ports[0].port",
            id="bad-port",
        ),
        pytest.param(
            "ClusterRole",
            lambda d: d["rules"][0].update(verbs="get"),
            "rules",
            id="wrong-type",
        ),
    ],
)
def test_a_broken_manifest_is_refused(
    kubectl: Kubectl, namespace: str, kind: str, corrupt: Callable[[Any], None], message: str
) -> None:
    """The check above has teeth: one corrupted object makes the apply fail, naming the field."""
    docs = _bundle_in(namespace)
    target = next(doc for doc in docs if doc["kind"] == kind)
    corrupt(target)
    result = _dry_run(kubectl, [target])
    assert result.returncode != 0
    assert message in result.stderr
