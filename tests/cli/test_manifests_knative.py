"""``jobsink manifests --knative-eventing``: only what replaces Knative Eventing's ``job-sink``
data plane, under Knative's selector and ports, with our own identity and our status writer off."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli import manifests
from cli.exits import ExitCode
from controlplane.knative.jobsink_python import OWN_CLUSTER_OBJECTS, OWN_NAMESPACED_OBJECTS
from receiver.settings import Settings
from tests.cli.conftest import single_command_app

APP = single_command_app(manifests.register)
ROOT = manifests.REPO_ROOT
NAMESPACE = "knative-eventing"
SA = "jobsink-receiver-knative"

#: Knative Eventing v0.50.0's objects of its JobSink data plane (config/core/), by kind and name.
KNATIVES = {
    ("ServiceAccount", "job-sink"),
    ("ClusterRole", "knative-eventing-job-sink"),
    ("ClusterRoleBinding", "knative-eventing-job-sink"),
    ("Service", "job-sink"),
    ("Deployment", "job-sink"),
    ("Certificate", "job-sink-server-tls"),
    ("CustomResourceDefinition", "jobsinks.sinks.knative.dev"),
}


SPREAD = (
    *("spec", "template", "spec", "affinity", "podAntiAffinity"),
    *("preferredDuringSchedulingIgnoredDuringExecution", 0, "podAffinityTerm", "labelSelector"),
)


def bundle(**options: Any) -> list[manifests.Document]:
    return manifests.knative_eventing_bundle(ROOT, **options)


def by_name(docs: list[manifests.Document]) -> dict[tuple[str, str], manifests.Document]:
    return {(str(d["kind"]), str(d["metadata"]["name"])): d for d in docs}


def deployment(docs: list[manifests.Document]) -> manifests.Document:
    return by_name(docs)[("Deployment", "job-sink")]


def container(docs: list[manifests.Document]) -> dict[str, Any]:
    found: dict[str, Any] = deployment(docs)["spec"]["template"]["spec"]["containers"][0]
    return found


def env(docs: list[manifests.Document]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(docs).get("env", [])}


def test_the_objects_in_apply_order() -> None:
    assert [(d["kind"], d["metadata"]["name"]) for d in bundle()] == [
        ("ServiceAccount", SA),
        ("ClusterRole", SA),
        ("ClusterRole", "jobsink-receiver-knative-events"),
        ("ClusterRoleBinding", SA),
        ("ClusterRoleBinding", "jobsink-receiver-knative-events"),
        ("Role", SA),
        ("RoleBinding", SA),
        ("Deployment", "job-sink"),
    ]


def test_of_knatives_objects_only_the_deployment_is_replaced() -> None:
    ours = set(by_name(bundle()))
    assert ours & KNATIVES == {("Deployment", "job-sink")}
    kinds = {kind for kind, _ in ours}
    for absent in ("CustomResourceDefinition", "Service", "Namespace", "Secret"):
        assert absent not in kinds
    assert not kinds & {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(("metadata", "namespace"), NAMESPACE, id="namespace"),
        pytest.param(
            ("spec", "selector"),
            {"matchLabels": {"sinks.knative.dev/sink": "job-sink"}},
            id="knatives-selector",
        ),
        pytest.param(
            ("spec", "template", "metadata", "labels", "sinks.knative.dev/sink"),
            "job-sink",
            id="pods-carry-the-label-knatives-service-selects",
        ),
        pytest.param(
            ("spec", "template", "spec", "serviceAccountName"), SA, id="our-service-account"
        ),
        pytest.param(
            ("spec", "template", "spec", "containers", 0, "name"),
            "job-sink",
            id="container-named-like-knatives",
        ),
        pytest.param(
            ("spec", "template", "spec", "containers", 0, "image"),
            "localhost/jobsink:1",
            id="our-image",
        ),
        pytest.param(
            ("spec", "template", "spec", "containers", 0, "args"), ["receiver"], id="receiver"
        ),
        pytest.param(
            ("spec", "template", "spec", "containers", 0, "ports"),
            [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                {"name": "https", "containerPort": 8443, "protocol": "TCP"},
            ],
            id="ports-knatives-service-targets",
        ),
        pytest.param(
            (
                "spec",
                "template",
                "spec",
                "affinity",
                "podAntiAffinity",
                "preferredDuringSchedulingIgnoredDuringExecution",
                0,
                "podAffinityTerm",
                "labelSelector",
            ),
            {"matchLabels": {"sinks.knative.dev/sink": "job-sink"}},
            id="spread-by-the-same-label",
        ),
    ],
)
def test_the_deployment(path: tuple[str | int, ...], expected: Any) -> None:
    value: Any = deployment(bundle(image="localhost/jobsink:1"))
    for part in path:
        value = value[part]
    assert value == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("JOBSINK_RECEIVER_STATUS_RECONCILER", "false", id="status-reconciler-off"),
        pytest.param("JOBSINK_RECEIVER_KNATIVE_FEATURES", "config-features", id="knative-flags"),
        pytest.param("JOBSINK_RECEIVER_AUTHENTICATION_OIDC", None, id="auth-from-flags-only"),
        pytest.param("JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION", "disabled", id="http-by-default"),
    ],
)
def test_the_receivers_settings(variable: str, value: str | None) -> None:
    assert env(bundle()).get(variable) == value


def test_the_deployments_settings_are_valid_receiver_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env(bundle()).items():
        if name.startswith("JOBSINK_RECEIVER_"):
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert not settings.status.enabled
    assert settings.knative.features == "config-features"


def test_every_binding_names_our_service_account() -> None:
    bindings = [d for d in bundle() if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert len(bindings) == 3
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": SA, "namespace": NAMESPACE}
        ]


def test_no_status_writes_and_no_lease() -> None:
    rules = [rule for d in bundle() for rule in d.get("rules", [])]
    resources = {resource for rule in rules for resource in rule.get("resources", [])}
    assert "jobsinks" in resources
    assert not resources & {"jobsinks/status", "leases"}


@pytest.mark.parametrize(
    ("mode", "tls_env"),
    [
        pytest.param(None, False, id="default-disabled"),
        pytest.param("permissive", True, id="permissive-serves-knatives-certificate"),
        pytest.param("strict", True, id="strict-serves-knatives-certificate"),
    ],
)
def test_transport_encryption_serves_knatives_certificate(mode: str | None, tls_env: bool) -> None:
    docs = bundle(transport_encryption=mode)
    variables = env(docs)
    assert variables["JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION"] == (mode or "disabled")
    assert ("JOBSINK_RECEIVER_TLS_CERT" in variables) is tls_env
    volumes = deployment(docs)["spec"]["template"]["spec"]["volumes"]
    tls = next(v for v in volumes if v["name"] == "tls")
    # Knative's Secret, required once the HTTPS listener depends on it.
    assert tls["secret"]["secretName"] == "job-sink-server-tls"
    assert tls["secret"].get("optional", False) is not tls_env


def test_the_command_prints_the_mode(runner: CliRunner) -> None:
    result = runner.invoke(APP, ["manifests", "--knative-eventing", "--image", "img:2"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# JobSink for Python in place of Knative Eventing's")
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert container(docs)["image"] == "img:2"
    assert len(docs) == 8


@pytest.mark.parametrize("flag", ["--cert-manager", "--event-policy-crd"])
def test_knatives_own_parts_are_not_added(runner: CliRunner, flag: str) -> None:
    result = runner.invoke(APP, ["manifests", "--knative-eventing", flag])
    assert result.exit_code == ExitCode.USAGE
    assert f"--knative-eventing does not take {flag}" in result.stderr


def test_switching_back_deletes_every_object_but_the_deployment() -> None:
    added = {
        f"{d['kind'].lower()}/{d['metadata']['name']}"
        for d in bundle()
        if d["kind"] != "Deployment"
    }
    assert added == {*OWN_CLUSTER_OBJECTS, *OWN_NAMESPACED_OBJECTS}
