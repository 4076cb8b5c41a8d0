"""Our validation verdict equals the real kube-apiserver's on the rendered Job.

For every JobSink of the corpus (tests/jobsink/corpus.py) the Job the receiver would create is sent
to the pinned 1.36 apiserver as a server-side dry-run create with strict field validation. A valid
case must be accepted, an invalid one refused, and the apiserver must name the field we name.
Cases refused for JobSink-only reasons (``admission_only``) have no Job to compare and are skipped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controlplane import ControlPlane
from jobsink.defaults import default
from jobsink.render import dry_run_job
from jobsink.validation import validate
from tests.e2e.support import unique_name
from tests.jobsink.corpus import CASES, Case

UNDECODABLE = "cannot be handled as a Job"
COMPARABLE = [case for case in CASES if not case.admission_only]


@pytest.fixture(scope="module")
def oracle_namespace(control_plane: ControlPlane) -> Iterator[str]:
    """One namespace for the whole corpus: a dry run persists nothing, so cases cannot interfere."""
    name = unique_name("oracle")
    control_plane.kubectl("create", "namespace", name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


def apiserver_path(path: str) -> str:
    """Our JobSink path as the apiserver names it in the rendered Job."""
    if path == "metadata.name":
        return "metadata.labels"  # the sink name reaches the Job as a label value
    return path.removeprefix("spec.job.")


def loose(path: str) -> str:
    """A path without map keys, indexes and ``metadata``, which the two sides print differently
    (the apiserver says ``spec.template.labels`` for the pod template's labels, for example)."""
    return re.sub(r"\[[^\]]*\]", "", path).replace("metadata.", "")


def dry_run(control_plane: ControlPlane, namespace: str, job: dict[str, Any]) -> tuple[bool, str]:
    job["metadata"]["namespace"] = namespace
    result = control_plane.kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-o",
        "name",
        "-f",
        "-",
        input=json.dumps(job),
        check=False,
    )
    return result.returncode == 0, result.stderr


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert sum(c.valid for c in CASES) >= 10
    assert sum(not c.valid for c in CASES) >= 20


@pytest.mark.parametrize("case", COMPARABLE, ids=[c.id for c in COMPARABLE])
def test_verdict_matches_apiserver(
    control_plane: ControlPlane, oracle_namespace: str, case: Case
) -> None:
    accepted, stderr = dry_run(control_plane, oracle_namespace, dry_run_job(default(case.obj)))
    assert accepted == case.valid, stderr or "the apiserver accepted the rendered Job"
    if not accepted and UNDECODABLE not in stderr:  # decoding errors may not name a field
        named = loose(stderr)
        missing = [p for p in case.errors if loose(apiserver_path(p)) not in named]
        assert not missing, f"the apiserver does not name {missing}: {stderr}"


# ---- differential fuzzing: random combinations of edge values, same verdict as the apiserver ----

PFP_RULES = {
    "valid": {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}},
    "named": {
        "action": "Count",
        "onExitCodes": {"containerName": "main", "operator": "NotIn", "values": [0, 1]},
    },
    "unknown-container": {
        "action": "FailJob",
        "onExitCodes": {"containerName": "x", "operator": "In", "values": [1]},
    },
    "fail-index": {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [3]}},
    "conditions": {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "False"}],
    },
    "bad-status": {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "Maybe"}],
    },
    "neither": {"action": "Ignore"},
}
CONTAINER_FIELDS: dict[str, list[Any]] = {
    "name": ["main", "Main", "m" * 64, "m-1"],
    "image": ["bash:5", ""],
    "ports": [
        [{"containerPort": 0}],
        [{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}],
        [{"containerPort": 80, "name": "a-very-long-name"}],
        [{"containerPort": 80, "protocol": "sctp"}],
        [{"containerPort": 80, "hostPort": 70000}],
        [{"containerPort": 80, "hostPort": 80, "hostIP": "not-an-ip"}],
        [{"containerPort": 80}, {"containerPort": 80}],
    ],
    "env": [
        [{"name": ""}],
        [{"name": "A=B"}],
        [{"name": "1x", "value": "v"}],
        [{"name": "X", "valueFrom": {}}],
        [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "bad key"}}}],
        [
            {
                "name": "X",
                "valueFrom": {
                    "fieldRef": {"fieldPath": "metadata.name"},
                    "secretKeyRef": {"name": "s", "key": "k"},
                },
            }
        ],
    ],
    "envFrom": [
        [{"prefix": "A="}],
        [{}],
        [{"configMapRef": {"name": "c"}, "secretRef": {"name": "s"}}],
    ],
    "resources": [
        {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}},
        {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        {"requests": {"example.com/gpu": "1"}},
        {"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}},
        {"limits": {"example.com/gpu": "1"}},
        {"requests": {"cpu": "0"}},
        {"limits": {"storage": "1Gi"}},
        {"limits": {"kubernetes.io/foo": "1"}},
        {"limits": {"hugepages-2Mi": "2Mi"}},
        {"limits": {"hugepages-2Mi": "2Mi", "memory": "1Gi"}, "requests": {"hugepages-2Mi": "1Mi"}},
        {"limits": {"example.com/gpu": "0.5"}},
    ],
    "livenessProbe": [
        {},
        {"exec": {"command": ["x"]}},
        {"httpGet": {"port": 0}},
        {"httpGet": {"port": "http"}},
        {"grpc": {"port": 0}},
        {"tcpSocket": {"port": "Bad"}},
        {"exec": {"command": ["x"]}, "periodSeconds": -1},
        {"exec": {"command": ["x"]}, "successThreshold": 3},
        {"httpGet": {"port": 80, "scheme": "FTP"}},
    ],
    "lifecycle": [
        {"preStop": {}},
        {"postStart": {"sleep": {"seconds": -1}}},
        {"preStop": {"exec": {"command": ["x"]}}},
    ],
    "volumeMounts": [
        [{"name": "missing", "mountPath": "/m"}],
        [{"name": "data", "mountPath": "/d"}, {"name": "data", "mountPath": "/d"}],
        [{"name": "data", "mountPath": "/d", "subPath": "../x"}],
        [{"name": "data", "mountPath": "/d", "mountPropagation": "Sideways"}],
        [{"name": "data", "mountPath": "/d", "recursiveReadOnly": "Enabled"}],
        [{"name": "data", "mountPath": "relative"}],
    ],
    "imagePullPolicy": ["Always", "Sometimes"],
    "securityContext": [
        {"runAsUser": -1},
        {"runAsNonRoot": True, "runAsUser": 1000, "capabilities": {"add": ["NET_ADMIN"]}},
        {"allowPrivilegeEscalation": False, "privileged": True},
        {"procMount": "Bogus"},
        {"seccompProfile": {"type": "Bogus"}},
        {"seccompProfile": {"type": "Localhost"}},
        {"seccompProfile": {"type": "RuntimeDefault"}},
        {"appArmorProfile": {"type": "Localhost"}},
    ],
    "terminationMessagePath": ["/dev/termination-log", "x" * 5000],
    "workingDir": ["/work", "relative"],
    "volumeDevices": [[{"name": "data", "devicePath": "/dev/x"}]],
    "stdinOnce": [True],
    "lifecycle#stop": [{"stopSignal": "SIGTERM"}, {"stopSignal": "SIGBOGUS"}],
    "readinessProbe#headers": [
        {"httpGet": {"port": 80, "httpHeaders": [{"name": "bad header!", "value": "x"}]}},
        {"httpGet": {"port": 80, "httpHeaders": [{"name": "X-Ok", "value": "x"}]}},
    ],
    "resources#claims": [{"claims": [{"name": "gpu"}]}],
    "resizePolicy": [
        [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
        [{"resourceName": "cpu", "restartPolicy": "Bogus"}],
        [{"resourceName": "gpu", "restartPolicy": "NotRequired"}],
    ],
    "startupProbe": [{"exec": {"command": ["x"]}, "successThreshold": 2}],
    "readinessProbe": [{"exec": {"command": ["x"]}, "successThreshold": 3, "failureThreshold": -1}],
}
ENV_FROM_FIELDS: list[Any] = [
    [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}],
    [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['a']"}}}],
    [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "bogus"}}}],
    [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
    [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "", "key": "k"}}}],
]
POD_FIELDS: dict[str, list[Any]] = {
    "restartPolicy": ["Never", "OnFailure", "Always", ""],
    "volumes": [
        [{"name": "data", "emptyDir": {}}],
        [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}],
        [{"name": "data", "secret": {}}],
        [{"name": "data", "hostPath": {"path": ""}}],
        [{"name": "data", "emptyDir": {"sizeLimit": "-1"}}],
        [{"name": "Data", "emptyDir": {}}],
        [{"name": "data", "configMap": {"name": "c", "defaultMode": 1000}}],
        [{"name": "data", "secret": {"secretName": "s", "items": [{"key": "k", "path": "/abs"}]}}],
    ],
    "dnsPolicy": ["ClusterFirst", "None", "Sometimes"],
    "hostname": ["ok", "Not_OK"],
    "activeDeadlineSeconds": [0, 10],
    "terminationGracePeriodSeconds": [-1, 0, 60],
    "tolerations": [
        [{"operator": "Exists"}],
        [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
        [{"value": "v"}],
        [{"key": "k", "tolerationSeconds": 5, "effect": "NoSchedule"}],
    ],
    "nodeSelector": [{"disk": "ssd"}, {"bad key!": "x"}],
    "securityContext": [
        {"runAsUser": -1},
        {"fsGroup": 1000, "fsGroupChangePolicy": "Bogus"},
        {"sysctls": [{"name": "bad name", "value": "1"}]},
        {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}]},
        {"supplementalGroupsPolicy": "Bogus"},
    ],
    "affinity": [
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Bogus"}]}]
                }
            }
        },
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
            }
        },
        {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 0, "podAffinityTerm": {"topologyKey": "k"}}
                ]
            }
        },
        {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ""}]}},
    ],
    "topologySpreadConstraints": [
        [{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
        [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Bogus"}],
        [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
    ],
    "hostAliases": [
        [{"ip": "not-an-ip", "hostnames": ["a"]}],
        [{"ip": "10.0.0.1", "hostnames": ["a"]}],
    ],
    "imagePullSecrets": [[{"name": ""}], [{"name": "regcred"}]],
    "os": [{"name": "bogus"}, {"name": "linux"}],
    "preemptionPolicy": ["Bogus", "Never"],
    "priority": [5],
    "schedulingGates": [[{"name": "bad gate!"}], [{"name": "example.com/gate"}]],
    "readinessGates": [[{"conditionType": "bad type!"}]],
    "hostNetwork": [True],
    "shareProcessNamespace": [True],
    "hostPID": [True],
    "dnsConfig": [
        {"options": [{"name": ""}]},
        {"nameservers": ["not-an-ip"]},
        {"searches": ["a.b"]},
    ],
    "overhead": [{"cpu": "1"}],
    "runtimeClassName": ["Bad_Name"],
    "subdomain": ["Bad_Name"],
    "priorityClassName": ["Bad_Name"],
    "setHostnameAsFQDN": [True],
    "hostUsers": [False],
    "resources": [{"limits": {"cpu": "1"}}, {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}],
    "enableServiceLinks": [False],
    "automountServiceAccountToken": [False],
    "nodeName": ["Bad_Name", "node-1"],
    "resourceClaims": [
        [{"name": "gpu", "resourceClaimName": "c"}],
        [{"name": "Bad_Name", "resourceClaimName": "c"}],
        [{"name": "gpu"}],
    ],
}
MORE_VOLUMES: list[Any] = [
    [{"name": "data", "persistentVolumeClaim": {"claimName": ""}}],
    [{"name": "data", "projected": {"sources": [{}]}}],
    [
        {
            "name": "data",
            "projected": {
                "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 10}}]
            },
        }
    ],
    [
        {
            "name": "data",
            "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "spec.bogus"}}]},
        }
    ],
    [{"name": "data", "csi": {"driver": ""}}],
    [{"name": "data", "ephemeral": {}}],
    [{"name": "data", "hostPath": {"path": "/x", "type": "Bogus"}}],
    [{"name": "data", "nfs": {"server": "s", "path": "relative"}}],
    [{"name": "data", "image": {"reference": ""}}],
    [{"name": "data", "configMap": {"name": "c", "items": [{"key": "", "path": "p"}]}}],
    [{"name": "data", "emptyDir": {"medium": "Bogus"}}],
]
JOB_FIELDS: dict[str, list[Any]] = {
    "completions": [-1, 0, 1, 5],
    "parallelism": [-1, 0, 2, 100001],
    "completionMode": ["Indexed", "NonIndexed", "Bogus"],
    "backoffLimitPerIndex": [-1, 0, 2],
    "maxFailedIndexes": [-1, 0, 10],
    "backoffLimit": [-1, 0, 3],
    "ttlSecondsAfterFinished": [-1, 0, 60],
    "activeDeadlineSeconds": [-1, 0, 10],
    "podReplacementPolicy": ["Failed", "TerminatingOrFailed", "Bogus"],
    "successPolicy": [
        {"rules": [{"succeededCount": 1}]},
        {"rules": []},
        {"rules": [{"succeededIndexes": "0-10"}]},
        {"rules": [{}]},
    ],
    "managedBy": ["kueue.x-k8s.io/multikueue", "kueue", "kubernetes.io/job-controller"],
    "suspend": [True, False],
}


Mutation = tuple[str, str, Any]
"""(where, field, value): ``where`` is ``container``, ``pod``, ``job``, ``rules`` or ``labels``."""

CATALOGUE: list[Mutation] = [
    *(("container", name, value) for name, values in CONTAINER_FIELDS.items() for value in values),
    *(("pod", name, value) for name, values in POD_FIELDS.items() for value in values),
    *(("job", name, value) for name, values in JOB_FIELDS.items() for value in values),
    *(("container", "env", value) for value in ENV_FROM_FIELDS),
    *(("pod", "volumes", value) for value in MORE_VOLUMES),
    *(("rules", name, PFP_RULES[name]) for name in PFP_RULES),
    ("template", "name", "Bad_Name"),
    ("template", "namespace", "other"),
    ("template", "generateName", "x-"),
    ("template", "finalizers", ["example.com/f"]),
    ("template", "annotations", {"bad key!": "x"}),
    ("template", "annotations", {"Example.COM/Key": "x"}),
    ("labels", "app", "x"),
    ("labels", "app", "bad value!"),
    ("labels", "app", "v" * 64),
    ("labels", "Upper.Case/Key", "x"),
    ("labels", "job-name", "x"),
    ("selector", "manual", True),
    ("selector", "auto", False),
    ("container", "second", "side"),
    ("container", "second", "main"),
]


COMBINATIONS: dict[str, list[Mutation]] = {
    "host-network-port-mismatch": [
        ("pod", "hostNetwork", True),
        ("container", "ports", [{"containerPort": 80, "hostPort": 81}]),
    ],
    "host-network-ports-equal": [
        ("pod", "hostNetwork", True),
        ("container", "ports", [{"containerPort": 80, "hostPort": 80}]),
    ],
    "share-process-namespace-and-host-pid": [
        ("pod", "shareProcessNamespace", True),
        ("pod", "hostPID", True),
    ],
    "host-users-false-with-host-network": [
        ("pod", "hostUsers", False),
        ("pod", "hostNetwork", True),
    ],
    "fail-index-with-backoff-per-index": [
        ("job", "completionMode", "Indexed"),
        ("job", "backoffLimitPerIndex", 1),
        ("rules", "fail-index", PFP_RULES["fail-index"]),
    ],
    "indexed-success-policy-indexes": [
        ("job", "completionMode", "Indexed"),
        ("job", "completions", 5),
        ("job", "successPolicy", {"rules": [{"succeededIndexes": "0,2-4", "succeededCount": 4}]}),
    ],
    "indexed-success-count-above-indexes": [
        ("job", "completionMode", "Indexed"),
        ("job", "completions", 5),
        ("job", "successPolicy", {"rules": [{"succeededIndexes": "0-1", "succeededCount": 3}]}),
    ],
    "exit-code-rule-naming-init-container": [
        ("pod", "initContainers", [{"name": "init", "image": "bash:5"}]),
        (
            "rules",
            "init",
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": "init", "operator": "In", "values": [1]},
            },
        ),
    ],
    "pod-failure-policy-with-replacement-failed": [
        ("rules", "valid", PFP_RULES["valid"]),
        ("job", "podReplacementPolicy", "Failed"),
    ],
    "sidecar-with-startup-probe": [
        (
            "pod",
            "initContainers",
            [
                {
                    "name": "side",
                    "image": "bash:5",
                    "restartPolicy": "Always",
                    "startupProbe": {"exec": {"command": ["x"]}},
                }
            ],
        ),
    ],
    "sleep-within-longer-grace": [
        ("pod", "terminationGracePeriodSeconds", 60),
        ("container", "lifecycle", {"preStop": {"sleep": {"seconds": 45}}}),
    ],
    "mount-and-device-of-one-claim": [
        ("pod", "volumes", [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]),
        ("container", "volumeMounts", [{"name": "data", "mountPath": "/d"}]),
        ("container", "volumeDevices", [{"name": "data", "devicePath": "/dev/d"}]),
    ],
    "high-completions-per-index": [
        ("job", "completionMode", "Indexed"),
        ("job", "completions", 100001),
        ("job", "backoffLimitPerIndex", 1),
    ],
    "dns-none-with-nameserver": [
        ("pod", "dnsPolicy", "None"),
        ("pod", "dnsConfig", {"nameservers": ["1.1.1.1"]}),
    ],
    "dns-none-empty-config": [("pod", "dnsPolicy", "None"), ("pod", "dnsConfig", {})],
    "windows-with-run-as-user": [
        ("pod", "os", {"name": "windows"}),
        ("pod", "securityContext", {"runAsUser": 1}),
    ],
    "windows-with-capabilities": [
        ("pod", "os", {"name": "windows"}),
        ("container", "securityContext", {"capabilities": {"add": ["NET_ADMIN"]}}),
    ],
    "linux-with-windows-options": [
        ("pod", "os", {"name": "linux"}),
        ("container", "securityContext", {"windowsOptions": {"runAsUserName": "u"}}),
    ],
    "stop-signal-with-os": [
        ("pod", "os", {"name": "linux"}),
        ("container", "lifecycle", {"stopSignal": "SIGTERM"}),
    ],
    "indexes-not-increasing": [
        ("job", "completionMode", "Indexed"),
        ("job", "completions", 5),
        ("job", "successPolicy", {"rules": [{"succeededIndexes": "1,0"}]}),
    ],
    "many-exit-codes": [
        (
            "rules",
            "many",
            {"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": list(range(256))}},
        ),
    ],
    "manual-selector-matching-template": [
        ("labels", "app", "x"),
        ("selector", "manual", True),
    ],
}


def mutated(mutations: list[Mutation]) -> dict[str, Any]:
    """The minimal valid JobSink with ``mutations`` applied in order."""
    containers: list[dict[str, Any]] = [{"name": "main", "image": "bash:5"}]
    pod_spec: dict[str, Any] = {"containers": containers}
    spec: dict[str, Any] = {"template": {"spec": pod_spec}}
    for where, name, value in mutations:
        if where == "container" and name == "second":
            containers.append({"name": value, "image": "bash:5"})
        elif where == "container":
            containers[0][name.partition("#")[0]] = value
        elif where == "pod":
            pod_spec[name] = value
        elif where == "job":
            spec[name] = value
        elif where == "rules":
            spec.setdefault("podFailurePolicy", {"rules": []})["rules"].append(value)
        elif where == "pod" and name == "initContainers":
            pod_spec[name] = value
        elif where == "template":
            spec["template"].setdefault("metadata", {})[name] = value
        elif where == "labels":
            spec["template"].setdefault("metadata", {}).setdefault("labels", {})[name] = value
        else:
            spec["manualSelector"] = value
            spec["selector"] = {"matchLabels": {"app": "x"}}
    return {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "metadata": {"name": "fuzz", "namespace": "default", "uid": "fuzz-uid"},
        "spec": {"job": {"spec": spec}},
    }


def assert_same_verdict(control_plane: ControlPlane, namespace: str, obj: dict[str, Any]) -> None:
    ours = validate(default(obj))
    accepted, stderr = dry_run(control_plane, namespace, dry_run_job(default(obj)))
    assert accepted == (not ours), (
        f"apiserver {'accepted' if accepted else 'refused: ' + stderr}; "
        f"we said {[str(e) for e in ours] or 'valid'}"
    )
    if ours and UNDECODABLE not in stderr:
        named = loose(stderr)
        assert any(loose(apiserver_path(e.path)) in named for e in ours), (
            f"the apiserver names none of our fields {[e.path for e in ours]}: {stderr}"
        )


@pytest.mark.parametrize(
    "mutation", CATALOGUE, ids=[f"{w}.{n}={json.dumps(v)[:40]}" for w, n, v in CATALOGUE]
)
def test_each_edge_value_alone(
    control_plane: ControlPlane, oracle_namespace: str, mutation: Mutation
) -> None:
    assert_same_verdict(control_plane, oracle_namespace, mutated([mutation]))


@pytest.mark.parametrize("mutations", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_combinations(
    control_plane: ControlPlane, oracle_namespace: str, mutations: list[Mutation]
) -> None:
    assert_same_verdict(control_plane, oracle_namespace, mutated(mutations))


@settings(
    max_examples=int(os.environ.get("JOBSINK_ORACLE_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations=st.lists(st.sampled_from(CATALOGUE), min_size=2, max_size=3))
def test_random_combinations(
    control_plane: ControlPlane, oracle_namespace: str, mutations: list[Mutation]
) -> None:
    assert_same_verdict(control_plane, oracle_namespace, mutated(mutations))
