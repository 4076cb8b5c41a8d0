"""A corpus of JobSinks with the verdict we expect, shared by the unit tests and the e2e oracle.

Each case lists the field paths our validation must report (none for a valid JobSink). The e2e
test ``tests/e2e/test_validation_oracle.py`` checks that the pinned kube-apiserver agrees: it
accepts the rendered Job of every valid case in a server-side dry run and refuses every invalid
one. Cases marked ``admission_only`` are refused for JobSink reasons (name length, injection
conflicts) that a dry run of the rendered Job cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.jobsink.sinks import sink

POD = "spec.job.spec.template.spec"
C0 = f"{POD}.containers[0]"


@dataclass(frozen=True)
class Case:
    id: str
    obj: dict[str, Any]
    errors: tuple[str, ...] = ()
    admission_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "main", "image": "docker.io/library/bash:5", **fields}


def pod(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"containers": list(containers) or [container()], **fields}


def with_name(name: str) -> dict[str, Any]:
    obj = sink()
    obj["metadata"]["name"] = name
    return obj


def with_job_metadata(**meta: Any) -> dict[str, Any]:
    obj = sink()
    obj["spec"]["job"]["metadata"] = meta
    return obj


PFP_RULE = {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}

CASES: list[Case] = [
    # ---- valid ----
    Case("minimal", sink()),
    Case("restart-on-failure", sink(pod=pod(restartPolicy="OnFailure"))),
    Case(
        "indexed-with-backoff-per-index",
        sink(completionMode="Indexed", completions=5, backoffLimitPerIndex=1, maxFailedIndexes=2),
    ),
    Case(
        "pod-failure-policy",
        sink(
            pod=pod(restartPolicy="Never"),
            podFailurePolicy={
                "rules": [
                    {
                        **PFP_RULE,
                        "onExitCodes": {
                            "containerName": "main",
                            "operator": "In",
                            "values": [1, 42],
                        },
                    },
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                ]
            },
        ),
    ),
    Case(
        "success-policy",
        sink(
            completionMode="Indexed",
            completions=3,
            successPolicy={"rules": [{"succeededIndexes": "0-1", "succeededCount": 1}]},
        ),
    ),
    Case(
        "resources-probes-ports",
        sink(
            pod=pod(
                container(
                    ports=[{"containerPort": 8080, "name": "http"}],
                    resources={
                        "requests": {"cpu": "250m", "memory": "64Mi"},
                        "limits": {"cpu": 0.5, "memory": "1Gi"},
                    },
                    readinessProbe={"httpGet": {"port": "http", "path": "/"}},
                    livenessProbe={"tcpSocket": {"port": 8080}},
                    env=[{"name": "my.var-1", "value": "x"}],
                )
            )
        ),
    ),
    Case(
        "volumes-and-mounts",
        sink(
            pod=pod(
                container(
                    volumeMounts=[
                        {"name": "data", "mountPath": "/data"},
                        {"name": "cfg", "mountPath": "/cfg", "subPath": "a"},
                    ]
                ),
                volumes=[
                    {"name": "data", "emptyDir": {}},
                    {"name": "cfg", "configMap": {"name": "cfg"}},
                ],
            )
        ),
    ),
    Case(
        "custom-event-mount",
        sink(pod=pod(container(volumeMounts=[{"name": "jobsink-event", "mountPath": "/in"}]))),
    ),
    Case("suspend-ttl-kueue", with_job_metadata(labels={"kueue.x-k8s.io/queue-name": "q"})),
    Case(
        "sidecar-init-container",
        sink(
            pod=pod(
                initContainers=[
                    container(
                        name="proxy",
                        restartPolicy="Always",
                        readinessProbe={"exec": {"command": ["true"]}},
                    )
                ]
            )
        ),
    ),
    Case(
        "manual-selector",
        sink(
            manualSelector=True,
            selector={"matchLabels": {"app": "x"}},
            template={"metadata": {"labels": {"app": "x"}}, "spec": pod()},
        ),
    ),
    Case("sink-name-63", with_name("a" * 63)),
    # ---- invalid: what the apiserver refuses ----
    Case("restart-always", sink(pod=pod(restartPolicy="Always")), (f"{POD}.restartPolicy",)),
    Case("restart-bogus", sink(pod=pod(restartPolicy="Sometimes")), (f"{POD}.restartPolicy",)),
    Case("no-containers", sink(pod={"containers": []}), (f"{POD}.containers",)),
    Case("no-image", sink(pod=pod({"name": "main"})), (f"{C0}.image",)),
    Case("bad-container-name", sink(pod=pod(container(name="Main"))), (f"{C0}.name",)),
    Case(
        "duplicate-container-names",
        sink(pod=pod(container(), container())),
        (f"{POD}.containers[1].name",),
    ),
    Case(
        "port-out-of-range",
        sink(pod=pod(container(ports=[{"containerPort": 70000}]))),
        (f"{C0}.ports[0].containerPort",),
    ),
    Case(
        "duplicate-port-names",
        sink(
            pod=pod(
                container(
                    ports=[{"containerPort": 1, "name": "p"}, {"containerPort": 2, "name": "p"}]
                )
            )
        ),
        (f"{C0}.ports[1].name",),
    ),
    Case(
        "bad-protocol",
        sink(pod=pod(container(ports=[{"containerPort": 1, "protocol": "HTTP"}]))),
        (f"{C0}.ports[0].protocol",),
    ),
    Case(
        "probe-without-handler",
        sink(pod=pod(container(livenessProbe={"periodSeconds": 3}))),
        (f"{C0}.livenessProbe",),
    ),
    Case(
        "probe-two-handlers",
        sink(
            pod=pod(container(livenessProbe={"exec": {"command": ["x"]}, "tcpSocket": {"port": 1}}))
        ),
        (f"{C0}.livenessProbe.tcpSocket",),
    ),
    Case(
        "liveness-success-threshold",
        sink(pod=pod(container(livenessProbe={"exec": {"command": ["x"]}, "successThreshold": 2}))),
        (f"{C0}.livenessProbe.successThreshold",),
    ),
    Case(
        "requests-above-limits",
        sink(pod=pod(container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}))),
        (f"{C0}.resources.requests[cpu]",),
    ),
    Case(
        "bad-quantity",
        sink(pod=pod(container(resources={"limits": {"memory": "abc"}}))),
        (f"{C0}.resources.limits[memory]",),
    ),
    Case(
        "negative-quantity",
        sink(pod=pod(container(resources={"limits": {"memory": "-1Gi"}}))),
        (f"{C0}.resources.limits[memory]",),
    ),
    Case(
        "unknown-resource",
        sink(pod=pod(container(resources={"limits": {"gpu": "1"}}))),
        (f"{C0}.resources.limits[gpu]",),
    ),
    Case("negative-completions", sink(completions=-1), ("spec.job.spec.completions",)),
    Case("negative-parallelism", sink(parallelism=-2), ("spec.job.spec.parallelism",)),
    Case(
        "negative-ttl", sink(ttlSecondsAfterFinished=-1), ("spec.job.spec.ttlSecondsAfterFinished",)
    ),
    Case("negative-backoff", sink(backoffLimit=-1), ("spec.job.spec.backoffLimit",)),
    Case(
        "bad-completion-mode", sink(completionMode="Sometimes"), ("spec.job.spec.completionMode",)
    ),
    Case(
        "backoff-per-index-needs-indexed",
        sink(backoffLimitPerIndex=1),
        ("spec.job.spec.backoffLimitPerIndex",),
    ),
    Case(
        "pod-failure-policy-needs-never",
        sink(pod=pod(restartPolicy="OnFailure"), podFailurePolicy={"rules": [PFP_RULE]}),
        (f"{POD}.restartPolicy",),
    ),
    Case(
        "pod-failure-policy-bad-operator",
        sink(
            podFailurePolicy={
                "rules": [{"action": "FailJob", "onExitCodes": {"operator": "Is", "values": [1]}}]
            }
        ),
        ("spec.job.spec.podFailurePolicy.rules[0].onExitCodes.operator",),
    ),
    Case(
        "pod-failure-policy-unknown-container",
        sink(
            podFailurePolicy={
                "rules": [
                    {
                        **PFP_RULE,
                        "onExitCodes": {"containerName": "nope", "operator": "In", "values": [1]},
                    }
                ]
            }
        ),
        ("spec.job.spec.podFailurePolicy.rules[0].onExitCodes.containerName",),
    ),
    Case(
        "pod-failure-policy-both-requirements",
        sink(
            podFailurePolicy={
                "rules": [{**PFP_RULE, "onPodConditions": [{"type": "DisruptionTarget"}]}]
            }
        ),
        ("spec.job.spec.podFailurePolicy.rules[0]",),
    ),
    Case(
        "pod-failure-policy-zero-exit-code",
        sink(
            podFailurePolicy={
                "rules": [{"action": "Count", "onExitCodes": {"operator": "In", "values": [0]}}]
            }
        ),
        ("spec.job.spec.podFailurePolicy.rules[0].onExitCodes.values[0]",),
    ),
    Case(
        "pod-failure-policy-bad-action",
        sink(podFailurePolicy={"rules": [{**PFP_RULE, "action": "Retry"}]}),
        ("spec.job.spec.podFailurePolicy.rules[0].action",),
    ),
    Case(
        "success-policy-needs-indexed",
        sink(completions=3, successPolicy={"rules": [{"succeededCount": 1}]}),
        ("spec.job.spec.successPolicy",),
    ),
    Case(
        "replacement-policy-with-pod-failure-policy",
        sink(podReplacementPolicy="TerminatingOrFailed", podFailurePolicy={"rules": [PFP_RULE]}),
        ("spec.job.spec.podReplacementPolicy",),
    ),
    Case(
        "duplicate-volumes",
        sink(pod=pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}])),
        (f"{POD}.volumes[1].name",),
    ),
    Case("volume-without-source-is-an-empty-dir", sink(pod=pod(volumes=[{"name": "v"}]))),
    Case(
        "mount-of-missing-volume",
        sink(pod=pod(container(volumeMounts=[{"name": "nope", "mountPath": "/x"}]))),
        (f"{C0}.volumeMounts[0].name",),
    ),
    Case(
        "duplicate-mount-paths",
        sink(
            pod=pod(
                container(
                    volumeMounts=[
                        {"name": "a", "mountPath": "/x"},
                        {"name": "b", "mountPath": "/x"},
                    ]
                ),
                volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}],
            )
        ),
        (f"{C0}.volumeMounts[1].mountPath",),
    ),
    Case(
        "bad-env-name",
        sink(pod=pod(container(env=[{"name": "A=B", "value": "x"}]))),
        (f"{C0}.env[0].name",),
    ),
    Case(
        "bad-job-label",
        with_job_metadata(labels={"app": "not valid!"}),
        ("spec.job.metadata.labels[app]",),
    ),
    Case(
        "bad-job-annotation-key",
        with_job_metadata(annotations={"-bad": "x"}),
        ("spec.job.metadata.annotations",),
    ),
    Case(
        "bad-template-label",
        sink(template={"metadata": {"labels": {"a": "b c"}}, "spec": pod()}),
        ("spec.job.spec.template.metadata.labels[a]",),
    ),
    Case(
        "selector-without-manual-selector",
        sink(
            selector={"matchLabels": {"app": "x"}},
            template={"metadata": {"labels": {"app": "x"}}, "spec": pod()},
        ),
        ("spec.job.spec.selector",),
    ),
    Case(
        "manual-selector-not-matching",
        sink(manualSelector=True, selector={"matchLabels": {"app": "x"}}),
        ("spec.job.spec.template.metadata.labels",),
    ),
    Case(
        "init-container-probe",
        sink(
            pod=pod(
                initContainers=[container(name="init", livenessProbe={"exec": {"command": ["x"]}})]
            )
        ),
        (f"{POD}.initContainers[0].livenessProbe",),
    ),
    Case("unknown-field", sink(pod=pod(container(imagePolicy="Always"))), (f"{C0}.imagePolicy",)),
    Case("wrong-type", sink(completions="3"), ("spec.job.spec.completions",)),
    Case(
        "bad-pull-policy",
        sink(pod=pod(container(imagePullPolicy="Sometimes"))),
        (f"{C0}.imagePullPolicy",),
    ),
    Case(
        "toleration-exists-with-value",
        sink(pod=pod(tolerations=[{"key": "k", "operator": "Exists", "value": "v"}])),
        (f"{POD}.tolerations[0].operator",),
    ),
    Case("indexed-defaults-completions", sink(completionMode="Indexed")),
    Case(
        "indexed-with-parallelism-needs-completions",
        sink(completionMode="Indexed", parallelism=2),
        ("spec.job.spec.completions",),
    ),
    Case("regular-container-restart-policy", sink(pod=pod(container(restartPolicy="Always")))),
    Case(
        "init-container-restart-on-failure",
        sink(pod=pod(initContainers=[container(name="init", restartPolicy="OnFailure")])),
    ),
    Case("env-name-with-space", sink(pod=pod(container(env=[{"name": "MY VAR", "value": "x"}])))),
    Case(
        "probe-grace-zero",
        sink(
            pod=pod(
                container(
                    livenessProbe={"exec": {"command": ["x"]}, "terminationGracePeriodSeconds": 0}
                )
            )
        ),
        (f"{C0}.livenessProbe.terminationGracePeriodSeconds",),
    ),
    Case(
        "extended-resource-without-limit",
        sink(pod=pod(container(resources={"requests": {"example.com/gpu": "1"}}))),
        (f"{C0}.resources.limits[example.com/gpu]",),
    ),
    Case(
        "extended-resource-fraction",
        sink(pod=pod(container(resources={"limits": {"example.com/gpu": "500m"}}))),
        (f"{C0}.resources.limits[example.com/gpu]",),
    ),
    Case(
        "secret-volume-without-name",
        sink(pod=pod(volumes=[{"name": "s", "secret": {}}])),
        (f"{POD}.volumes[0].secret.secretName",),
    ),
    Case(
        "config-map-volume-without-name",
        sink(pod=pod(volumes=[{"name": "c", "configMap": {}}])),
        (f"{POD}.volumes[0].configMap.name",),
    ),
    Case(
        "two-volume-sources",
        sink(pod=pod(volumes=[{"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}])),
        (f"{POD}.volumes[0].configMap",),
    ),
    Case("dns-none-without-config", sink(pod=pod(dnsPolicy="None")), (f"{POD}.dnsConfig",)),
    Case(
        "pod-deadline-zero",
        sink(pod=pod(activeDeadlineSeconds=0)),
        (f"{POD}.activeDeadlineSeconds",),
    ),
    Case(
        "max-failed-indexes-above-completions",
        sink(completionMode="Indexed", completions=2, backoffLimitPerIndex=1, maxFailedIndexes=3),
        ("spec.job.spec.maxFailedIndexes",),
    ),
    Case("bad-managed-by", sink(managedBy="kueue"), ("spec.job.spec.managedBy",)),
    Case("managed-by", sink(managedBy="kueue.x-k8s.io/multikueue")),
    Case(
        "success-count-above-completions",
        sink(
            completionMode="Indexed",
            completions=2,
            successPolicy={"rules": [{"succeededCount": 3}]},
        ),
        ("spec.job.spec.successPolicy.rules[0].succeededCount",),
    ),
    Case(
        "bad-condition-type",
        sink(
            podFailurePolicy={
                "rules": [{"action": "Ignore", "onPodConditions": [{"type": "bad type"}]}]
            }
        ),
        ("spec.job.spec.podFailurePolicy.rules[0].onPodConditions[0].type",),
    ),
    Case(
        "bad-toleration-effect",
        sink(pod=pod(tolerations=[{"key": "k", "operator": "Exists", "effect": "Never"}])),
        (f"{POD}.tolerations[0].effect",),
    ),
    Case(
        "absolute-sub-path",
        sink(
            pod=pod(
                container(volumeMounts=[{"name": "v", "mountPath": "/v", "subPath": "/a"}]),
                volumes=[{"name": "v", "emptyDir": {}}],
            )
        ),
        (f"{C0}.volumeMounts[0].subPath",),
    ),
    Case(
        "template-sets-job-name-label",
        sink(template={"metadata": {"labels": {"job-name": "x"}}, "spec": pod()}),
        ("spec.job.spec.template.metadata.labels[job-name]",),
    ),
    Case(
        "pre-stop-sleep",
        sink(pod=pod(container(lifecycle={"preStop": {"sleep": {"seconds": 5}}}))),
    ),
    Case(
        "duplicate-host-ports",
        sink(
            pod=pod(
                container(ports=[{"containerPort": 80, "hostPort": 8080}]),
                container(name="b", ports=[{"containerPort": 81, "hostPort": 8080}]),
            )
        ),
        (f"{POD}.containers[1].ports[0].hostPort",),
    ),
    Case(
        "exit-codes-unordered",
        sink(
            podFailurePolicy={
                "rules": [
                    {"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": [3, 1]}}
                ]
            }
        ),
        ("spec.job.spec.podFailurePolicy.rules[0].onExitCodes.values",),
    ),
    Case("image-with-leading-space", sink(pod=pod(container(image=" bash:5")))),
    Case(
        "readiness-probe-grace",
        sink(
            pod=pod(
                container(
                    readinessProbe={"exec": {"command": ["x"]}, "terminationGracePeriodSeconds": 5}
                )
            )
        ),
        (f"{C0}.readinessProbe.terminationGracePeriodSeconds",),
    ),
    Case(
        "value-and-value-from",
        sink(
            pod=pod(
                container(
                    env=[
                        {
                            "name": "A",
                            "value": "x",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        }
                    ]
                )
            )
        ),
        (f"{C0}.env[0].valueFrom",),
    ),
    Case(
        "service-account-name",
        sink(pod=pod(serviceAccountName="Bad_Name")),
        (f"{POD}.serviceAccountName",),
    ),
    # ---- invalid for JobSink reasons only ----
    Case("sink-name-64", with_name("a" * 64), ("metadata.name",)),
    Case(
        "user-volume-named-like-the-event",
        sink(pod=pod(volumes=[{"name": "jobsink-event", "emptyDir": {}}])),
        (f"{POD}.volumes[0].name",),
        admission_only=True,
    ),
    Case(
        "user-mount-at-the-event-path",
        sink(
            pod=pod(
                container(volumeMounts=[{"name": "v", "mountPath": "/etc/jobsink-event"}]),
                volumes=[{"name": "v", "emptyDir": {}}],
            )
        ),
        (f"{C0}.volumeMounts[0].mountPath",),
    ),
    Case("no-job", {**sink(), "spec": {}}, ("spec.job",), admission_only=True),
]
