"""Kueue's documents for the local control plane (pure) and where its build is looked for."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from controlplane.kueue.binaries import BUILD_SCRIPT, KUEUE_VERSION, KueueFiles, find_kueue
from controlplane.kueue.manifests import (
    KUEUE_USER,
    KueuePorts,
    cluster_role,
    configuration,
    namespaced_role,
    probe_job,
    role_binding,
    webhook_configurations,
)

CA = b"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
BASE = "https://127.0.0.1:9443"


def _webhook(name: str, path: str) -> dict[str, Any]:
    return {
        "name": name,
        "clientConfig": {
            "service": {"name": "webhook-service", "namespace": "system", "path": path}
        },
        "failurePolicy": "Fail",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "rules": [{"operations": ["CREATE"], "resources": ["x"]}],
    }


def _configuration(kind: str, *webhooks: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": f"{kind.lower()}-configuration"},
        "webhooks": list(webhooks),
    }


def test_the_script_and_the_package_pin_the_same_release() -> None:
    assert f"KUEUE_VERSION={KUEUE_VERSION}\n" in BUILD_SCRIPT.read_text()


def test_the_configuration_keeps_kueue_on_loopback_and_off_unqueued_jobs() -> None:
    config = configuration(KueuePorts(webhook=1, health=2, metrics=3), "127.0.0.1", "/certs")
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    assert config["manageJobsWithoutQueueName"] is False
    assert config["internalCertManagement"] == {"enable": False}
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["integrations"] == {"frameworks": ["batch/job"]}
    assert config["webhook"] == {"host": "127.0.0.1", "port": 1, "certDir": "/certs"}
    assert config["health"]["healthProbeBindAddress"] == "127.0.0.1:2"
    assert config["metrics"]["bindAddress"] == "127.0.0.1:3"
    assert config["featureGates"] == {"VisibilityOnDemand": False}


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        pytest.param("/mutate-batch-v1-job", True, id="job"),
        pytest.param("/validate-batch-v1-job", True, id="job-validation"),
        pytest.param("/mutate-kueue-x-k8s-io-v1beta2-clusterqueue", True, id="clusterqueue"),
        pytest.param("/validate-kueue-x-k8s-io-v1beta2-workload", True, id="workload"),
        pytest.param("/mutate--v1-pod", False, id="pod"),
        pytest.param("/mutate-apps-v1-deployment", False, id="deployment"),
        pytest.param("/mutate-jobset-x-k8s-io-v1alpha2-jobset", False, id="jobset"),
    ],
)
def test_only_the_webhooks_of_jobs_and_kueues_own_kinds_are_registered(
    path: str, kept: bool
) -> None:
    module = [_configuration("MutatingWebhookConfiguration", _webhook("m.kb.io", path))]
    found = webhook_configurations(module, BASE, CA)
    assert [w["clientConfig"] for doc in found for w in doc["webhooks"]] == (
        [{"url": BASE + path, "caBundle": base64.b64encode(CA).decode()}] if kept else []
    )


def test_webhook_configurations_keep_everything_but_the_client_config() -> None:
    job = _webhook("mjob.kb.io", "/mutate-batch-v1-job")
    module = [
        _configuration("MutatingWebhookConfiguration", job, _webhook("p", "/mutate--v1-pod")),
        _configuration("ValidatingWebhookConfiguration", _webhook("p", "/validate--v1-pod")),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook-service"}},
    ]
    (mutating,) = webhook_configurations(module, BASE, CA)
    assert mutating["metadata"] == {"name": "kueue-mutatingwebhookconfiguration-configuration"}
    (webhook,) = mutating["webhooks"]
    assert {k: v for k, v in webhook.items() if k != "clientConfig"} == {
        k: v for k, v in job.items() if k != "clientConfig"
    }
    assert "service" in job["clientConfig"]  # the module's document is not modified


@pytest.mark.parametrize(
    ("role", "metadata"),
    [
        pytest.param(
            cluster_role({"kind": "ClusterRole", "metadata": {"name": "manager-role"}}),
            {"name": "kueue-manager-role"},
            id="cluster-role",
        ),
        pytest.param(
            namespaced_role(
                {"kind": "Role", "metadata": {"name": "manager-secrets-role", "namespace": "sys"}}
            ),
            {"name": "kueue-manager-secrets-role", "namespace": "kueue-system"},
            id="secrets-role",
        ),
    ],
)
def test_the_modules_roles_are_bound_to_kueues_own_user(
    role: dict[str, Any], metadata: dict[str, str]
) -> None:
    binding = role_binding(role)
    assert role["metadata"] == metadata
    assert binding["kind"] == role["kind"] + "Binding"
    assert binding["metadata"] == metadata
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role["kind"],
        "name": metadata["name"],
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KUEUE_USER}
    ]


def test_the_probe_job_names_a_queue() -> None:
    labels = probe_job("q")["metadata"]["labels"]
    assert labels == {"kueue.x-k8s.io/queue-name": "q"}


def test_an_incomplete_cache_is_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path))
    files = KueueFiles.in_cache(tmp_path)
    assert find_kueue() is None
    files.crds.mkdir(parents=True)
    (files.crds / "a.yaml").write_text("{}")
    files.cluster_role.parent.mkdir(parents=True)
    files.cluster_role.write_text("{}")
    files.secrets_role.write_text("{}")
    files.webhooks.write_text("{}")
    assert find_kueue() is None  # no manager yet
    files.manager.write_text("#!/bin/sh\n")
    files.manager.chmod(0o755)
    assert find_kueue() == files
    assert re.search(rf"kueue-{re.escape(KUEUE_VERSION)}$", str(files.directory))
