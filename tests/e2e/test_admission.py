"""Admission through the real apiserver: ``kubectl apply`` meets the JobSink webhooks.

Uses the session ``webhook`` fixture (``jobsink webhook`` registered with url clientConfig on
127.0.0.1 and a caBundle) for accept/default/reject; the fail-closed and certificate scenarios
start their own webhook from ``jobsink certs create`` output so they can stop it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from certs.live import LiveContext
from certs.managed import SelfManaged
from certs.rotation import Material
from controlplane import ControlPlane
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import HttpsProbe, wait_for
from kubeapi import webhookconfigs
from kubeapi.secrets import SecretStore
from tests.e2e.services import RunningWebhook
from tests.e2e.support import EXAMPLES, JOBSINK, jobsink_examples, unique_name
from webhook import configurations

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _example(name: str = "job-sink-success") -> dict[str, Any]:
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return sink


def _apply(plane: ControlPlane, namespace: str, sink: dict[str, Any], *extra: str) -> Any:
    return plane.kubectl(
        "apply", "-n", namespace, *extra, "-f", "-", input=yaml.safe_dump(sink), check=False
    )


def _get(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    out = plane.kubectl("get", "jobsink", name, "-n", namespace, "-o", "yaml").stdout
    stored: dict[str, Any] = yaml.safe_load(out)
    return stored


# --- accepted and defaulted --------------------------------------------------------------------


@pytest.mark.parametrize("path", jobsink_examples(), ids=lambda p: p.stem)
def test_documented_jobsinks_are_accepted_and_defaulted(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str, path: Path
) -> None:
    applied = control_plane.kubectl("apply", "-n", namespace, "-f", str(path))
    assert "created" in applied.stdout
    name = yaml.safe_load(path.read_text())["metadata"]["name"]
    stored = _get(control_plane, namespace, name)
    pod = stored["spec"]["job"]["spec"]["template"]["spec"]
    for container in pod["containers"]:
        assert {"name": "K_EXECUTION_MODE", "value": "batch"} in container["env"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")


def test_yaml_output_shows_the_execution_mode(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    control_plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "job-sink-success.yaml"))
    out = control_plane.kubectl("get", "jobsink", "job-sink-success", "-n", namespace, "-o", "yaml")
    assert "K_EXECUTION_MODE" in out.stdout


def test_suspect_spec_is_accepted_with_a_warning(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    applied = _apply(control_plane, namespace, _example())
    assert applied.returncode == 0, applied.stderr
    assert "Warning: spec.job.spec.ttlSecondsAfterFinished is not set" in applied.stderr


def test_server_dry_run_stores_nothing(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    applied = _apply(control_plane, namespace, _example(), "--dry-run=server", "-o", "yaml")
    assert applied.returncode == 0, applied.stderr
    assert "K_EXECUTION_MODE" in applied.stdout  # the mutating webhook ran
    missing = control_plane.kubectl(
        "get", "jobsink", "job-sink-success", "-n", namespace, check=False
    )
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr


def test_reapply_and_metadata_update_keep_working(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    sink = _example()
    assert _apply(control_plane, namespace, sink).returncode == 0
    assert _apply(control_plane, namespace, sink).returncode == 0  # unchanged: no patch, allowed
    labelled = control_plane.kubectl(
        "label", "jobsink", "job-sink-success", "-n", namespace, "team=data", check=False
    )
    assert labelled.returncode == 0, labelled.stderr


# --- rejected, naming the field -----------------------------------------------------------------


def _pod(sink: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = sink["spec"]["job"]["spec"]["template"]["spec"]
    return pod


def _job(sink: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = sink["spec"]["job"]["spec"]
    return spec


def _duplicate_container(sink: dict[str, Any]) -> object:
    _pod(sink)["containers"].append(copy.deepcopy(_pod(sink)["containers"][0]))
    return None


INVALID: list[Any] = [
    pytest.param(
        lambda s: _pod(s).update(restartPolicy="Always"),
        "spec.job.spec.template.spec.restartPolicy",
        id="restart-policy",
    ),
    pytest.param(
        lambda s: _pod(s)["containers"][0].pop("image"),
        "spec.job.spec.template.spec.containers[0].image",
        id="image-missing",
    ),
    pytest.param(
        lambda s: _pod(s)["containers"][0].update(name="Main_1"),
        "spec.job.spec.template.spec.containers[0].name",
        id="container-name",
    ),
    # The CRD's schema (list-map keys, quantity pattern) answers these two before our validating
    # webhook is called; the user sees the same kind of message either way.
    pytest.param(
        _duplicate_container,
        "spec.job.spec.template.spec.containers[1]",
        id="duplicate-container",
    ),
    pytest.param(
        lambda s: _pod(s)["containers"][0].update(imagePullPolicyy="Always"),
        "spec.job.spec.template.spec.containers[0].imagePullPolicyy",
        id="unknown-field",
    ),
    pytest.param(
        lambda s: _pod(s)["containers"][0].update(resources={"limits": {"cpu": "lots"}}),
        "spec.job.spec.template.spec.containers[0].resources.limits.cpu",
        id="quantity",
    ),
    pytest.param(
        lambda s: _pod(s)["containers"][0].update(ports=[{"containerPort": 70000}]),
        "spec.job.spec.template.spec.containers[0].ports[0].containerPort",
        id="port",
    ),
    pytest.param(
        lambda s: _pod(s).update(volumes=[{"name": "jobsink-event", "emptyDir": {}}]),
        "spec.job.spec.template.spec.volumes[0].name",
        id="reserved-volume",
    ),
    pytest.param(
        lambda s: _job(s).update(parallelism=-1), "spec.job.spec.parallelism", id="parallelism"
    ),
    pytest.param(
        lambda s: _job(s).update(completionMode="Sometimes"),
        "spec.job.spec.completionMode",
        id="completion-mode",
    ),
    pytest.param(
        lambda s: _job(s)["podFailurePolicy"]["rules"][0]["onExitCodes"].update(operator="Maybe"),
        "spec.job.spec.podFailurePolicy.rules[0].onExitCodes.operator",
        id="pod-failure-policy",
    ),
    pytest.param(
        lambda s: _job(s).update(selector={"matchLabels": {"a": "b"}}),
        "spec.job.spec.selector",
        id="selector",
    ),
    pytest.param(lambda s: s["metadata"].update(name="x" * 70), "metadata.name", id="name"),
    pytest.param(lambda s: s["spec"].pop("job"), "spec.job", id="spec-job-missing"),
]


@pytest.mark.parametrize(("mutate", "path"), INVALID)
def test_invalid_jobsink_is_rejected_with_the_field_path(
    control_plane: ControlPlane,
    webhook: RunningWebhook,
    namespace: str,
    mutate: Callable[[dict[str, Any]], object],
    path: str,
) -> None:
    sink = _example()
    mutate(sink)
    applied = _apply(control_plane, namespace, sink)
    assert applied.returncode != 0
    # kubectl renders a 422 with details.causes as it renders the apiserver's own validation.
    assert "is invalid" in applied.stderr
    assert f"{path}: " in applied.stderr
    listed = control_plane.kubectl("get", "jobsinks", "-n", namespace, "-o", "name").stdout
    assert listed.strip() == ""


def test_every_error_is_listed_in_one_answer(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    sink = _example()
    _pod(sink)["restartPolicy"] = "Always"
    _pod(sink)["containers"][0].pop("image")
    applied = _apply(control_plane, namespace, sink)
    assert applied.returncode != 0
    assert "* spec.job.spec.template.spec.restartPolicy: " in applied.stderr
    assert "* spec.job.spec.template.spec.containers[0].image: Required value" in applied.stderr


def test_spec_update_to_invalid_is_rejected(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    sink = _example()
    assert _apply(control_plane, namespace, sink).returncode == 0
    _pod(sink)["restartPolicy"] = "Always"
    applied = _apply(control_plane, namespace, sink)
    assert applied.returncode != 0
    assert "spec.job.spec.template.spec.restartPolicy" in applied.stderr


def test_cluster_policy_is_caught_by_the_dry_run(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    """A policy on Jobs that only the apiserver knows (a CEL ValidatingAdmissionPolicy)."""
    name = unique_name("internal-images")
    policy: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["batch"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["jobs"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "object.spec.template.spec.containers.all(c, "
                    "c.image.startsWith('registry.internal/'))",
                    "message": "images must come from registry.internal",
                }
            ],
        },
    }
    binding: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([policy, binding]))
    try:
        probe = ["create", "job", "probe", "-n", namespace, "--image=busybox", "--dry-run=server"]
        wait_for(
            lambda: control_plane.kubectl(*probe, check=False).returncode != 0,
            what="the admission policy to be enforced",
            timeout=30,
        )
        applied = _apply(control_plane, namespace, _example())
        assert applied.returncode != 0, applied.stderr
        assert "spec.job: the apiserver refused a dry-run create of the Job" in applied.stderr
        assert "images must come from registry.internal" in applied.stderr
        metrics = httpx.get(
            f"{webhook.url}/metrics",
            verify=ssl.create_default_context(cafile=str(control_plane.ca_cert)),
        ).text
        assert 'jobsink_webhook_dry_runs_total{outcome="refused"}' in metrics
        allowed = _example()
        _pod(allowed)["containers"][0]["image"] = "registry.internal/bash:5"
        assert _apply(control_plane, namespace, allowed).returncode == 0
        listed = control_plane.kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout
        assert listed.strip() == ""  # the dry-runs created nothing
    finally:
        for kind, doc in (
            ("validatingadmissionpolicybinding", binding),
            ("validatingadmissionpolicy", policy),
        ):
            control_plane.kubectl(
                "delete", kind, doc["metadata"]["name"], "--ignore-not-found", check=False
            )


# --- a webhook of our own: certificates from `jobsink certs create`, fail closed ----------------


def _scoped(doc: dict[str, Any], namespace: str, suffix: str) -> dict[str, Any]:
    """Limit a configuration to one namespace, under its own name, next to the session's."""
    doc = copy.deepcopy(doc)
    doc["metadata"]["name"] = f"{suffix}.{doc['metadata']['name']}"
    for hook in doc["webhooks"]:
        hook["name"] = f"{suffix}.{hook['name']}"
        hook["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return doc


@pytest.fixture
def own_webhook(
    control_plane: ControlPlane, jobsink_crd: list[str], namespace: str, tmp_path: Path
) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    certs = tmp_path / "certs"
    subprocess.run(
        [str(JOBSINK), "certs", "create", "--out", str(certs), "--ip", LOOPBACK],
        check=True,
        capture_output=True,
    )
    port = free_ports(1)[0]
    process = control_plane.spawn(
        unique_name("own-webhook"),
        [
            str(JOBSINK),
            "webhook",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--tls-cert={certs / 'tls.crt'}",
            f"--tls-key={certs / 'tls.key'}",
            "--no-dry-run",
        ],
    )
    probe = HttpsProbe(certs / "ca.crt")
    try:
        wait_for(
            lambda: probe.ok(f"https://{LOOPBACK}:{port}/readyz"),
            what="own webhook",
            timeout=60,
            watched=[process],
        )
    finally:
        probe.close()
    suffix = unique_name("own")
    docs = [
        _scoped(doc, namespace, suffix)
        for doc in configurations.local(port, (certs / "ca.crt").read_bytes())
    ]
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    try:
        yield process, docs
    finally:
        for doc in docs:
            control_plane.kubectl(
                "delete", doc["kind"], doc["metadata"]["name"], "--ignore-not-found", check=False
            )
        process.stop()


def test_fails_closed_when_the_webhook_is_down(
    control_plane: ControlPlane,
    webhook: RunningWebhook,
    namespace: str,
    own_webhook: tuple[Any, list[dict[str, Any]]],
) -> None:
    process, docs = own_webhook
    sink = _example()
    wait_for(
        lambda: _apply(control_plane, namespace, sink, "--dry-run=server").returncode == 0,
        what="the scoped webhook configurations to be served",
        timeout=30,
    )
    process.stop()
    applied = _apply(control_plane, namespace, sink)
    assert applied.returncode != 0
    assert f'failed calling webhook "{docs[0]["webhooks"][0]["name"]}"' in applied.stderr
    assert "connection refused" in applied.stderr
    missing = control_plane.kubectl(
        "get", "jobsink", "job-sink-success", "-n", namespace, check=False
    )
    assert missing.returncode != 0


# --- self-managed certificates against the real apiserver --------------------------------------


def test_self_managed_replicas_share_one_ca_and_patch_both_configurations(
    control_plane: ControlPlane, api_client: client.ApiClient, namespace: str
) -> None:
    suffix = unique_name("managed")
    docs = [
        _scoped(doc, namespace, suffix)
        for doc in configurations.local(free_ports(1)[0], b"placeholder")
    ]
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    try:
        names = [doc["metadata"]["name"] for doc in docs]

        def publish(bundle: bytes) -> bool:
            webhookconfigs.set_ca_bundle(
                api_client, "mutatingwebhookconfigurations", names[0], bundle
            )
            webhookconfigs.set_ca_bundle(
                api_client, "validatingwebhookconfigurations", names[1], bundle
            )
            return True

        def replica() -> SelfManaged:
            store = SecretStore(api_client, namespace, "jobsink-webhook-certs")
            return SelfManaged(
                store,
                publish,
                LiveContext(),
                dns_names=["jobsink-webhook.test.svc"],
                grace_seconds=0,
            )

        results: list[Material] = []
        barrier = threading.Barrier(3)

        def start() -> None:
            barrier.wait()
            manager = replica()
            asyncio.run(manager.step())
            assert manager.live.pair is not None
            results.append(Material.from_data(manager.store.get().data))  # type: ignore[union-attr]

        threads = [threading.Thread(target=start) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(results) == 3
        assert len({m.ca.cert_pem for m in results}) == 1
        bundle = base64.b64encode(results[0].bundle).decode()
        for doc in docs:
            stored = yaml.safe_load(
                control_plane.kubectl(
                    "get", doc["kind"], doc["metadata"]["name"], "-o", "yaml"
                ).stdout
            )
            assert stored["webhooks"][0]["clientConfig"]["caBundle"] == bundle
        # A restarted replica adopts what is stored instead of issuing anything.
        assert replica().reconcile() == results[0]
    finally:
        for doc in docs:
            control_plane.kubectl(
                "delete", doc["kind"], doc["metadata"]["name"], "--ignore-not-found", check=False
            )


def _stored_material(plane: ControlPlane, namespace: str) -> Material | None:
    secret = plane.kubectl("get", "secret", "jobsink-webhook-certs", "-n", namespace, "-o", "yaml")
    try:
        return Material.from_data(yaml.safe_load(secret.stdout)["data"])
    except ValueError:  # missing keys: not (yet) complete
        return None


def test_self_managed_webhook_serves_patches_and_recovers_without_restart(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    """``jobsink webhook --self-managed``: Secret, caBundle and serving cert all handled by it."""
    suffix = unique_name("selfmgd")
    port = free_ports(1)[0]
    docs = [_scoped(doc, namespace, suffix) for doc in configurations.local(port, b"")]
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    process = control_plane.spawn(
        suffix,
        [
            str(JOBSINK),
            "webhook",
            "--self-managed",
            "--no-dry-run",
            f"--host={LOOPBACK}",
            f"--port={port}",
        ],
        env={
            "JOBSINK_WEBHOOK_CERTS_NAMESPACE": namespace,
            "JOBSINK_WEBHOOK_CERTS_IPS": '["127.0.0.1"]',
            "JOBSINK_WEBHOOK_CERTS_MUTATING_CONFIGURATION": docs[0]["metadata"]["name"],
            "JOBSINK_WEBHOOK_CERTS_VALIDATING_CONFIGURATION": docs[1]["metadata"]["name"],
            "JOBSINK_WEBHOOK_CERTS_RESYNC_SECONDS": "1",
        },
    )
    try:
        sink = _example()
        wait_for(
            lambda: _apply(control_plane, namespace, sink).returncode == 0,
            what="the self-managed webhook to be trusted by the apiserver",
            timeout=60,
            watched=[process],
        )
        stored = _stored_material(control_plane, namespace)
        assert stored is not None
        for doc in docs:
            served = yaml.safe_load(
                control_plane.kubectl(
                    "get", doc["kind"], doc["metadata"]["name"], "-o", "yaml"
                ).stdout
            )
            bundle = served["webhooks"][0]["clientConfig"]["caBundle"]
            assert base64.b64decode(bundle) == stored.bundle
        # Break the Secret: the webhook issues a new CA and serving pair, patches the bundle and
        # serves the new pair, all without a restart, and JobSink writes keep working.
        control_plane.kubectl(
            "patch",
            "secret",
            "jobsink-webhook-certs",
            "-n",
            namespace,
            "--type=json",
            "-p",
            '[{"op": "remove", "path": "/data/tls.crt"}]',
        )
        wait_for(
            lambda: (
                (renewed := _stored_material(control_plane, namespace)) is not None
                and renewed.ca != stored.ca
            ),
            what="the webhook to replace the broken Secret",
            timeout=30,
            watched=[process],
        )
        sink["metadata"]["labels"] = {"rotated": "yes"}
        wait_for(
            lambda: _apply(control_plane, namespace, sink).returncode == 0,
            what="admission to work with the new certificate",
            timeout=60,
            watched=[process],
        )
        assert process.running
    finally:
        for doc in docs:
            control_plane.kubectl(
                "delete", doc["kind"], doc["metadata"]["name"], "--ignore-not-found", check=False
            )
        process.stop()
