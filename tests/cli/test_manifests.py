"""``jobsink manifests``: the bundle's content and order, and the namespace and image overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli import manifests
from cli.exits import ExitCode
from tests.cli.conftest import single_command_app

APP = single_command_app(manifests.register)
ROOT = manifests.REPO_ROOT


def _kinds(docs: list[manifests.Document]) -> list[str]:
    return [str(doc["kind"]) for doc in docs]


def test_order_puts_dependencies_first_and_webhooks_last() -> None:
    docs = [
        {"kind": "ValidatingWebhookConfiguration"},
        {"kind": "Deployment"},
        {"kind": "SomethingNew"},
        {"kind": "CustomResourceDefinition"},
        {"kind": "Namespace"},
        {"kind": "MutatingWebhookConfiguration"},
    ]
    assert _kinds(manifests.ordered(docs)) == [
        "Namespace",
        "CustomResourceDefinition",
        "Deployment",
        "SomethingNew",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param("knative-eventing", "jobsink-system", id="exact"),
        pytest.param("job-sink.knative-eventing.svc", "job-sink.jobsink-system.svc", id="dns-name"),
        pytest.param("knative-eventing/webhook-cert", "jobsink-system/webhook-cert", id="ref"),
        pytest.param("knative-eventing-extra", "knative-eventing-extra", id="longer-word"),
        pytest.param("my-knative-eventing", "my-knative-eventing", id="suffix"),
    ],
)
def test_namespace_rewrites_whole_words_in_values(before: str, after: str) -> None:
    doc = {"metadata": {"namespace": before, "labels": {"knative-eventing": before}}}
    (moved,) = manifests.with_namespace([doc], "jobsink-system")
    assert moved["metadata"]["namespace"] == after
    assert list(moved["metadata"]["labels"]) == ["knative-eventing"], "keys never change"


def test_image_override_only_touches_our_image() -> None:
    deployment = {
        "kind": "Deployment",
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "image": manifests.DEFAULT_IMAGE},
                        {"name": "b", "image": "other:1"},
                    ]
                }
            }
        },
    }
    (changed,) = manifests.with_image([deployment], "registry.example/jobsink:9")
    images = [c["image"] for c in changed["spec"]["template"]["spec"]["containers"]]
    assert images == ["registry.example/jobsink:9", "other:1"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "jobsink:0.1.0"


def test_cert_manager_objects_are_dropped_unless_asked() -> None:
    docs = [{"apiVersion": "cert-manager.io/v1", "kind": "Certificate"}, {"kind": "Service"}]
    assert _kinds(manifests.without_cert_manager(docs)) == ["Service"]


def test_bundle_from_the_repository() -> None:
    docs = manifests.bundle(ROOT)
    kinds = _kinds(docs)
    assert kinds[0] == "Namespace"
    assert kinds.count("Deployment") == 2
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    assert ("Service", "job-sink") in names
    if any((ROOT / "crds").glob("*.yaml")):
        assert kinds[1] == "CustomResourceDefinition"


EVENT_POLICY_CRD = ("CustomResourceDefinition", "eventpolicies.eventing.knative.dev")


@pytest.mark.parametrize("asked", [False, True])
def test_the_event_policy_crd_comes_only_when_asked(asked: bool) -> None:
    docs = manifests.bundle(ROOT, event_policy_crd=asked)
    names = [(doc["kind"], doc["metadata"]["name"]) for doc in docs]
    assert (EVENT_POLICY_CRD in names) is asked
    if asked:
        # Before the receiver that watches it, with the other CRDs.
        assert names.index(EVENT_POLICY_CRD) < names.index(("Deployment", "job-sink"))


def test_the_event_policy_crd_flag_reaches_the_bundle(runner: CliRunner) -> None:
    result = runner.invoke(APP, ["manifests", "--event-policy-crd"])
    assert result.exit_code == 0, result.output
    assert "name: eventpolicies.eventing.knative.dev" in result.stdout


def test_the_receiver_may_list_and_watch_event_policies() -> None:
    docs = manifests.bundle(ROOT)
    role = next(
        d
        for d in docs
        if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "jobsink-receiver"
    )
    rules = [r for r in role["rules"] if "eventpolicies" in r.get("resources", [])]
    assert rules == [
        {
            "apiGroups": ["eventing.knative.dev"],
            "resources": ["eventpolicies"],
            "verbs": ["list", "watch"],
        }
    ]


def test_command_writes_the_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "dist" / "jobsink.yaml"
    result = runner.invoke(
        APP, ["manifests", "--out", str(out), "--namespace", "js", "--image", "img:1"]
    )
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(out.read_text()) if d]
    assert f"wrote {out} ({len(docs)} objects)" in result.stderr
    assert {d["metadata"].get("namespace") for d in docs} <= {"js", None}
    assert docs[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": docs[0]["metadata"],
    }
    assert docs[0]["metadata"]["name"] == "js"


def test_command_prints_to_stdout_by_default(runner: CliRunner) -> None:
    result = runner.invoke(APP, ["manifests"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# JobSink for Python: install bundle.")


@pytest.mark.parametrize(
    ("with_crd", "message"),
    [
        pytest.param(False, "no CRD found", id="no-crd"),
        pytest.param(True, "no manifests found", id="no-config"),
    ],
)
def test_missing_sources_are_one_line(
    runner: CliRunner, tmp_path: Path, with_crd: bool, message: str
) -> None:
    if with_crd:
        (tmp_path / "crds").mkdir()
        (tmp_path / "crds" / "crd.yaml").write_text("kind: CustomResourceDefinition\n")
    result = runner.invoke(APP, ["manifests", "--source", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr


def _env(deployment: manifests.Document) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _by_name(docs: list[manifests.Document]) -> dict[tuple[str, str], manifests.Document]:
    return {(str(d["kind"]), str(d["metadata"]["name"])): d for d in docs}


def test_cert_manager_variant_wires_both_certificates() -> None:
    default = _by_name(manifests.bundle(ROOT))
    docs = _by_name(manifests.bundle(ROOT, cert_manager=True, namespace="js"))
    assert ("Certificate", "jobsink-webhook-tls") in docs
    assert ("Certificate", "job-sink-server-tls") in docs
    assert _env(docs[("Deployment", "jobsink-webhook")])["JOBSINK_WEBHOOK_SELF_MANAGED"] == "false"
    receiver = _env(docs[("Deployment", "job-sink")])
    assert receiver["JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION"] == "permissive"
    assert receiver["JOBSINK_RECEIVER_TLS_CERT"] == "/etc/jobsink/tls/tls.crt"
    assert receiver["JOBSINK_RECEIVER_TLS_KEY"] == "/etc/jobsink/tls/tls.key"
    assert receiver["JOBSINK_RECEIVER_TLS_CA"] == "/etc/jobsink/tls/ca.crt"
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        (configuration,) = [d for (k, _), d in docs.items() if k == kind]
        annotations = configuration["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == "js/jobsink-webhook-tls"
    # What only self-managed certificates need is gone; the default bundle keeps it.
    for rbac in (("ClusterRole", "jobsink-webhook-ca-bundle"), ("Role", "jobsink-receiver-certs")):
        assert rbac not in docs
        assert rbac in default
    assert not any(str(d["apiVersion"]).startswith("cert-manager.io/") for d in default.values())


def test_default_bundle_self_manages_the_webhook_certificate() -> None:
    docs = _by_name(manifests.bundle(ROOT))
    assert _env(docs[("Deployment", "jobsink-webhook")])["JOBSINK_WEBHOOK_SELF_MANAGED"] == "true"
    receiver = _env(docs[("Deployment", "job-sink")])
    assert receiver["JOBSINK_RECEIVER_PORT"] == "8080"
    assert receiver["JOBSINK_RECEIVER_HTTPS_PORT"] == "8443"
    assert receiver["JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION"] == "disabled"
    assert "JOBSINK_RECEIVER_TLS_CERT" not in receiver  # self-managed once HTTPS is turned on


def test_receiver_service_maps_443_to_the_https_listener() -> None:
    docs = _by_name(manifests.bundle(ROOT))
    ports = {p["name"]: p for p in docs[("Service", "job-sink")]["spec"]["ports"]}
    assert (ports["http"]["port"], ports["http"]["targetPort"]) == (80, "http")
    assert (ports["https"]["port"], ports["https"]["targetPort"]) == (443, "https")
    container = docs[("Deployment", "job-sink")]["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named == {"http": 8080, "https": 8443}


@pytest.mark.parametrize(
    ("flags", "mode"),
    [
        pytest.param([], "disabled", id="default"),
        pytest.param(["--transport-encryption", "strict"], "strict", id="strict"),
        pytest.param(["--cert-manager"], "permissive", id="cert-manager-default"),
        pytest.param(
            ["--cert-manager", "--transport-encryption", "strict"],
            "strict",
            id="cert-manager-strict",
        ),
    ],
)
def test_transport_encryption_flag_sets_the_receivers_mode(
    runner: CliRunner, flags: list[str], mode: str
) -> None:
    result = runner.invoke(APP, ["manifests", *flags])
    assert result.exit_code == 0, result.stderr
    docs = _by_name([d for d in yaml.safe_load_all(result.stdout) if d])
    assert _env(docs[("Deployment", "job-sink")])["JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION"] == mode


def test_unknown_transport_mode_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(APP, ["manifests", "--transport-encryption", "on"])
    assert result.exit_code == 2
    assert "--transport-encryption" in result.stderr
