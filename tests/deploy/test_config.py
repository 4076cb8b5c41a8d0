"""Static checks of config/: schema-valid for the pinned Kubernetes release, and hardened.

The e2e suite (tests/e2e/test_bundle.py) additionally has a real apiserver accept every object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.36.3"

Doc = dict[str, Any]


def _load() -> list[tuple[str, Doc]]:
    found = []
    # cert-manager's kinds have no schema here; tests/cli/test_manifests.py covers that variant.
    for path in sorted((ROOT / "config").glob("*.yaml")):
        if "cert-manager" in path.name:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


DOCS = _load()
IDS = [name for name, _ in DOCS]


def _of_kind(kind: str) -> list[tuple[str, Doc]]:
    return [(name, doc) for name, doc in DOCS if doc["kind"] == kind]


DEPLOYMENTS = _of_kind("Deployment")


@pytest.mark.parametrize("doc", [d for _, d in DOCS], ids=IDS)
def test_object_matches_the_kubernetes_schema_strictly(doc: Doc) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_schema_check_catches_a_typo() -> None:
    _, deployment = DEPLOYMENTS[0]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_namespaced_object_lives_in_the_system_namespace() -> None:
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for name, doc in DOCS:
        if doc["kind"] not in cluster_scoped:
            assert doc["metadata"].get("namespace") == "knative-eventing", name


@pytest.mark.parametrize("deployment", [d for _, d in DEPLOYMENTS], ids=[n for n, _ in DEPLOYMENTS])
class TestDeploymentHardening:
    def test_two_replicas_never_both_down_in_a_rollout(self, deployment: Doc) -> None:
        assert deployment["spec"]["replicas"] == 2
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0

    def test_pod_runs_non_root_with_default_seccomp(self, deployment: Doc) -> None:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"

    def test_containers_are_restricted(self, deployment: Doc) -> None:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]

    def test_containers_have_probes_and_resources(self, deployment: Doc) -> None:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"]
            assert container["livenessProbe"]["httpGet"]["path"]
            assert container["resources"]["requests"]["cpu"]
            assert container["resources"]["requests"]["memory"]
            assert container["resources"]["limits"]["memory"]

    def test_probe_ports_are_declared(self, deployment: Doc) -> None:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            names = {port["name"] for port in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["port"] in names

    def test_a_disruption_budget_keeps_one_replica(self, deployment: Doc) -> None:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budgets = [
            doc
            for _, doc in _of_kind("PodDisruptionBudget")
            if doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert [budget["spec"]["minAvailable"] for budget in budgets] == [1]

    def test_service_account_exists(self, deployment: Doc) -> None:
        accounts = {doc["metadata"]["name"] for _, doc in _of_kind("ServiceAccount")}
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] in accounts


@pytest.mark.parametrize(
    ("service", "ports"),
    [
        pytest.param("job-sink", {"http": (80, "http"), "https": (443, "https")}, id="job-sink"),
        pytest.param("jobsink-webhook", {"https": (443, "https")}, id="webhook"),
    ],
)
def test_service_ports_reach_named_container_ports(
    service: str, ports: dict[str, tuple[int, str]]
) -> None:
    (svc,) = [doc for _, doc in _of_kind("Service") if doc["metadata"]["name"] == service]
    (deployment,) = [
        doc
        for _, doc in DEPLOYMENTS
        if svc["spec"]["selector"].items() <= doc["spec"]["template"]["metadata"]["labels"].items()
    ]
    container_ports = {
        port["name"]
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container["ports"]
    }
    served = {port["name"]: (port["port"], port["targetPort"]) for port in svc["spec"]["ports"]}
    for name, expected in ports.items():
        assert served[name] == expected
        assert expected[1] in container_ports


def _rules() -> list[tuple[str, Doc]]:
    return [
        (f"{name}#{i}", rule)
        for kind in ("ClusterRole", "Role")
        for name, doc in _of_kind(kind)
        for i, rule in enumerate(doc["rules"])
    ]


@pytest.mark.parametrize("rule", [r for _, r in _rules()], ids=[n for n, _ in _rules()])
def test_rbac_rule_names_no_wildcards(rule: Doc) -> None:
    # A rule names resources (apiGroups + resources) or non-resource URLs, never both.
    assert ("nonResourceURLs" in rule) != ("resources" in rule)
    for key in ("apiGroups", "resources", "nonResourceURLs", "verbs"):
        assert "*" not in rule.get(key, [])


SECRET_VERBS = {
    # The receiver's event Secrets (write protocol + sweeper); bindable per namespace.
    ("ClusterRole", "jobsink-receiver-events"): {"create", "get", "list", "delete"},
    # The webhook's own certificate Secret, in the system namespace only.
    ("Role", "jobsink-webhook"): {"create", "get", "update"},
    # The receiver's self-managed HTTPS certificate Secret, likewise.
    ("Role", "jobsink-receiver-certs"): {"create", "get", "update"},
}


def test_events_are_written_by_the_per_namespace_receiver_role_only() -> None:
    writers = {
        (kind, doc["metadata"]["name"]): sorted(
            verb
            for rule in doc["rules"]
            if "events" in rule.get("resources", [])
            for verb in rule["verbs"]
        )
        for kind in ("ClusterRole", "Role")
        for _, doc in _of_kind(kind)
    }
    assert {role: verbs for role, verbs in writers.items() if verbs} == {
        ("ClusterRole", "jobsink-receiver-events"): ["create", "patch"]
    }
    (rule,) = [
        r
        for _, d in _of_kind("ClusterRole")
        if d["metadata"]["name"] == "jobsink-receiver-events"
        for r in d["rules"]
        if "events" in r.get("resources", [])
    ]
    assert rule["apiGroups"] == ["events.k8s.io"]


def test_only_named_roles_touch_secrets_and_none_watches_them() -> None:
    for kind in ("ClusterRole", "Role"):
        for _, doc in _of_kind(kind):
            verbs = {
                verb
                for rule in doc["rules"]
                if "secrets" in rule.get("resources", [])
                for verb in rule["verbs"]
            }
            assert verbs == SECRET_VERBS.get((kind, doc["metadata"]["name"]), set())


@pytest.mark.parametrize(
    ("role", "label"),
    [
        pytest.param(
            "jobsinks-addressable-resolver", "duck.knative.dev/addressable", id="resolver"
        ),
        pytest.param("jobsink-view", "rbac.authorization.k8s.io/aggregate-to-view", id="view"),
        pytest.param("jobsink-edit", "rbac.authorization.k8s.io/aggregate-to-edit", id="edit"),
        pytest.param("jobsink-edit", "rbac.authorization.k8s.io/aggregate-to-admin", id="admin"),
    ],
)
def test_aggregated_roles_carry_their_label(role: str, label: str) -> None:
    (doc,) = [d for _, d in _of_kind("ClusterRole") if d["metadata"]["name"] == role]
    assert doc["metadata"]["labels"][label] == "true"
