"""Realistic batch/v1 Jobs shared by the model tests: each is valid for the 1.36 apiserver."""

from __future__ import annotations

from typing import Any

JOBS: dict[str, dict[str, Any]] = {
    "minimal": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "minimal"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "docker.io/library/bash:5"}],
                }
            }
        },
    },
    "probes-and-quantities": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "web-check",
            "namespace": "team-a",
            "labels": {"app": "checker", "kueue.x-k8s.io/queue-name": "user-queue"},
            "annotations": {"example.com/owner": "team-a"},
        },
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {"app": "checker"}},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [
                        {
                            "name": "server",
                            "image": "nginx:1.27",
                            "ports": [
                                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                {"containerPort": 9090},
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": "http"},
                                "initialDelaySeconds": 1,
                                "periodSeconds": 5,
                            },
                            "livenessProbe": {"tcpSocket": {"port": 9090}, "failureThreshold": 3},
                            "startupProbe": {"grpc": {"port": 9090, "service": "health"}},
                            "resources": {
                                "requests": {
                                    "cpu": 0.25,
                                    "memory": "64Mi",
                                    "ephemeral-storage": "1e3",
                                },
                                "limits": {
                                    "cpu": "500m",
                                    "memory": "128Mi",
                                    "ephemeral-storage": "1Gi",
                                },
                            },
                            "lifecycle": {"preStop": {"sleep": {"seconds": 2}}},
                        }
                    ],
                },
            },
        },
    },
    "secret-volume": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "with-secret"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "volumes": [
                        {
                            "name": "jobsink-event",
                            "secret": {"secretName": "with-secret", "defaultMode": 420},
                        },
                        {"name": "scratch", "emptyDir": {"sizeLimit": "500Mi", "medium": "Memory"}},
                        {
                            "name": "config",
                            "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a.txt"}]},
                        },
                    ],
                    "containers": [
                        {
                            "name": "main",
                            "image": "docker.io/library/bash:5",
                            "command": ["bash", "-c"],
                            "args": ["cat /etc/jobsink-event/event"],
                            "env": [
                                {"name": "K_EVENT_PATH", "value": "/etc/jobsink-event"},
                                {
                                    "name": "TOKEN",
                                    "valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}},
                                },
                                {
                                    "name": "POD",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                },
                            ],
                            "volumeMounts": [
                                {
                                    "name": "jobsink-event",
                                    "mountPath": "/etc/jobsink-event",
                                    "readOnly": True,
                                },
                                {"name": "scratch", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                },
            },
        },
    },
    "indexed-with-policies": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "indexed"},
        "spec": {
            "completionMode": "Indexed",
            "completions": 12,
            "parallelism": 3,
            "backoffLimitPerIndex": 1,
            "maxFailedIndexes": 5,
            "podReplacementPolicy": "Failed",
            "successPolicy": {"rules": [{"succeededIndexes": "0-3", "succeededCount": 2}]},
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]},
                    },
                    {
                        "action": "Ignore",
                        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
                    },
                ]
            },
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox"}],
                }
            },
        },
    },
    "scheduling": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "scheduled", "creationTimestamp": "2026-01-02T15:04:05Z"},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [
                        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
                        {
                            "key": "node.kubernetes.io/not-ready",
                            "operator": "Exists",
                            "effect": "NoExecute",
                            "tolerationSeconds": 300,
                        },
                    ],
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": "topology.kubernetes.io/zone",
                                                "operator": "In",
                                                "values": ["zone-a", "zone-b"],
                                            }
                                        ]
                                    }
                                ]
                            }
                        },
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "topologyKey": "kubernetes.io/hostname",
                                        "labelSelector": {"matchLabels": {"app": "batch"}},
                                    },
                                }
                            ]
                        },
                    },
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "initContainers": [
                        {
                            "name": "setup",
                            "image": "busybox",
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                    "containers": [{"name": "main", "image": "busybox"}],
                }
            },
        },
    },
    "with-status": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "done",
            "uid": "0b6c8f3e-4a4e-4b7a-9a77-1f0b2c3d4e5f",
            "resourceVersion": "12345",
            "generation": 1,
            "ownerReferences": [
                {
                    "apiVersion": "sinks.knative.dev/v1alpha1",
                    "kind": "JobSink",
                    "name": "job-sink",
                    "uid": "4b1e6f0a-1111-2222-3333-444455556666",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [
                {
                    "manager": "jobsink",
                    "operation": "Update",
                    "apiVersion": "batch/v1",
                    "time": "2026-01-02T15:04:05Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:suspend": {}}},
                }
            ],
        },
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "b"}]}
            }
        },
        "status": {
            "startTime": "2026-01-02T15:04:05Z",
            "completionTime": "2026-01-02T15:05:06.123456+01:00",
            "succeeded": 1,
            "ready": 0,
            "uncountedTerminatedPods": {},
            "conditions": [
                {
                    "type": "Complete",
                    "status": "True",
                    "lastProbeTime": "2026-01-02T15:05:06Z",
                    "lastTransitionTime": "2026-01-02T15:05:06Z",
                }
            ],
        },
    },
}
