"""The command lines: every flag the issue requires, on the component that needs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from controlplane import flags
from controlplane.layout import Layout
from controlplane.ports import Ports

LAYOUT = Layout(Path("/run/cp"))
PORTS = Ports(apiserver=6443, etcd_client=2379, etcd_peer=2380, controller_manager=10257)
Builder = Callable[[Path, Layout, Ports], list[str]]

CASES: list[tuple[str, Builder, str]] = [
    ("etcd data dir", flags.etcd_args, "--data-dir=/run/cp/etcd"),
    ("etcd client url", flags.etcd_args, "--listen-client-urls=http://127.0.0.1:2379"),
    ("etcd peer url", flags.etcd_args, "--listen-peer-urls=http://127.0.0.1:2380"),
    ("etcd no fsync", flags.etcd_args, "--unsafe-no-fsync=true"),
    ("apiserver etcd", flags.apiserver_args, "--etcd-servers=http://127.0.0.1:2379"),
    ("apiserver loopback", flags.apiserver_args, "--bind-address=127.0.0.1"),
    ("apiserver advertise", flags.apiserver_args, "--advertise-address=127.0.0.1"),
    ("apiserver port", flags.apiserver_args, "--secure-port=6443"),
    ("serving cert", flags.apiserver_args, "--tls-cert-file=/run/cp/pki/serving.crt"),
    ("client ca", flags.apiserver_args, "--client-ca-file=/run/cp/pki/ca.crt"),
    ("node authorizer and rbac", flags.apiserver_args, "--authorization-mode=Node,RBAC"),
    ("node restriction", flags.apiserver_args, "--enable-admission-plugins=NodeRestriction"),
    ("kubelet by hostname", flags.apiserver_args, "--kubelet-preferred-address-types=Hostname"),
    (
        "kubelet serving ca",
        flags.apiserver_args,
        "--kubelet-certificate-authority=/run/cp/pki/ca.crt",
    ),
    ("kubelet client", flags.apiserver_args, "--kubelet-client-certificate=/run/cp/pki/admin.crt"),
    (
        "sa signing key",
        flags.apiserver_args,
        "--service-account-signing-key-file=/run/cp/pki/sa.key",
    ),
    ("sa public key", flags.apiserver_args, "--service-account-key-file=/run/cp/pki/sa.pub"),
    ("sa issuer", flags.apiserver_args, f"--service-account-issuer={flags.SERVICE_ACCOUNT_ISSUER}"),
    ("service range", flags.apiserver_args, "--service-cluster-ip-range=10.0.0.0/24"),
    ("no endpoint reconciler", flags.apiserver_args, "--endpoint-reconciler-type=none"),
    ("kcm kubeconfig", flags.controller_manager_args, "--kubeconfig=/run/cp/kubeconfig"),
    ("kcm single", flags.controller_manager_args, "--leader-elect=false"),
    (
        "kcm sa key",
        flags.controller_manager_args,
        "--service-account-private-key-file=/run/cp/pki/sa.key",
    ),
    ("kcm root ca", flags.controller_manager_args, "--root-ca-file=/run/cp/pki/ca.crt"),
    ("kcm port", flags.controller_manager_args, "--secure-port=10257"),
    ("kcm loopback", flags.controller_manager_args, "--bind-address=127.0.0.1"),
]


@pytest.mark.parametrize(("builder", "flag"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_required_flag_is_passed(builder: Builder, flag: str) -> None:
    assert flag in builder(Path("/bin/x"), LAYOUT, PORTS)


@pytest.mark.parametrize(
    "controller",
    [
        "job-controller",
        "garbage-collector-controller",
        "serviceaccount-controller",
        "serviceaccount-token-controller",
        "namespace-controller",
        "ttl-after-finished-controller",
    ],
)
def test_controller_is_enabled(controller: str) -> None:
    argv = flags.controller_manager_args(Path("/bin/kcm"), LAYOUT, PORTS)
    (enabled,) = [a.split("=", 1)[1] for a in argv if a.startswith("--controllers=")]
    assert controller in enabled.split(",")


def test_the_node_lifecycle_controller_runs_only_with_a_node() -> None:
    def controllers(node: bool) -> list[str]:
        argv = flags.controller_manager_args(Path("/bin/kcm"), LAYOUT, PORTS, node=node)
        return next(a for a in argv if a.startswith("--controllers=")).split("=")[1].split(",")

    assert "node-lifecycle-controller" not in controllers(node=False)
    assert "node-lifecycle-controller" in controllers(node=True)


@pytest.mark.parametrize("prefix", ["--admission-control=", "--disable-admission-plugins="])
def test_default_admission_plugins_stay_on(prefix: str) -> None:
    """MutatingAdmissionWebhook, ValidatingAdmissionWebhook and ServiceAccount are defaults."""
    assert not any(a.startswith(prefix) for a in flags.apiserver_args(Path("/x"), LAYOUT, PORTS))


def test_only_node_restriction_is_added_to_the_default_admission_plugins() -> None:
    argv = flags.apiserver_args(Path("/x"), LAYOUT, PORTS)
    enabled = [a for a in argv if a.startswith("--enable-admission-plugins=")]
    assert enabled == ["--enable-admission-plugins=NodeRestriction"]


@pytest.mark.parametrize(
    "builder", [flags.etcd_args, flags.apiserver_args, flags.controller_manager_args]
)
def test_binary_comes_first(builder: Builder) -> None:
    assert builder(Path("/opt/bin/b"), LAYOUT, PORTS)[0] == "/opt/bin/b"


@pytest.mark.parametrize(
    ("pod_address", "present", "absent"),
    [
        (
            None,
            ["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
             "--endpoint-reconciler-type=none"],
            [],
        ),
        (
            "10.244.0.1",
            ["--bind-address=0.0.0.0", "--advertise-address=10.244.0.1"],
            ["--endpoint-reconciler-type=none", "--bind-address=127.0.0.1"],
        ),
    ],
    ids=["no Services: loopback only", "Services: advertised to Pods, lease reconciler"],
)  # fmt: skip
def test_the_apiserver_is_advertised_to_pods_only_when_the_node_routes_services(
    pod_address: str | None, present: list[str], absent: list[str]
) -> None:
    argv = flags.apiserver_args(Path("/bin/apiserver"), LAYOUT, PORTS, pod_address=pod_address)
    assert [flag for flag in present if flag not in argv] == []
    assert [flag for flag in absent if flag in argv] == []


def test_deployments_and_endpoint_slices_are_reconciled_only_with_services() -> None:
    def controllers(services: bool) -> set[str]:
        argv = flags.controller_manager_args(
            Path("/bin/kcm"), LAYOUT, PORTS, node=True, services=services
        )
        return set(next(a for a in argv if a.startswith("--controllers=")).split("=")[1].split(","))

    assert set(flags.SERVICE_CONTROLLERS).isdisjoint(controllers(services=False))
    assert set(flags.SERVICE_CONTROLLERS) <= controllers(services=True)
