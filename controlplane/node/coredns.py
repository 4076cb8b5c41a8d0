"""The cluster DNS: CoreDNS as a Deployment in kube-system behind the ``kube-dns`` Service
(pure functions returning the objects, applied once the node is ready).

As upstream's deployment (``coredns/deployment``'s kubernetes manifests), trimmed to one
replica, with one difference on purpose: no ``forward`` plugin. It serves ``cluster.local``
and the reverse zones only; any other name is refused at once (REFUSED, no zone), so no query
ever leaves the machine and the host's resolvers are never consulted.
"""

from __future__ import annotations

from typing import Any

from controlplane.node.addresses import CLUSTER_DOMAIN, DNS_SERVICE_IP
from controlplane.node.binaries import COREDNS_VERSION

COREDNS_IMAGE = f"localhost/jobsink/coredns:{COREDNS_VERSION}"
NAMESPACE = "kube-system"
NAME = "coredns"
SERVICE = "kube-dns"
METRICS_PORT = 9153
READY_PORT = 8181
HEALTH_PORT = 8080
LABELS = {"k8s-app": SERVICE}

COREFILE = f"""\
{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    errors
    health {{
        lameduck 1s
    }}
    ready
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    prometheus :{METRICS_PORT}
    cache 30
    loadbalance
}}
"""


def _rbac() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
    ]


def _deployment() -> dict[str, Any]:
    container = {
        "name": NAME,
        "image": COREDNS_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/coredns", "-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": READY_PORT},
            "periodSeconds": 1,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": HEALTH_PORT},
            "initialDelaySeconds": 60,
            "timeoutSeconds": 5,
            "failureThreshold": 5,
        },
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "170Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "serviceAccountName": NAME,
                    "priorityClassName": "system-cluster-critical",
                    # CoreDNS itself must not ask CoreDNS; it needs no resolver at all.
                    "dnsPolicy": "Default",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "config-volume",
                            "configMap": {
                                "name": NAME,
                                "items": [{"key": "Corefile", "path": "Corefile"}],
                            },
                        }
                    ],
                },
            },
        },
    }


def _service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "selector": LABELS,
            "clusterIP": DNS_SERVICE_IP,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                {"name": "metrics", "port": METRICS_PORT, "protocol": "TCP"},
            ],
        },
    }


def coredns_objects() -> list[dict[str, Any]]:
    """Everything to apply, in order: RBAC, the Corefile, the Deployment, the Service."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": {"Corefile": COREFILE},
    }
    return [*_rbac(), config_map, _deployment(), _service()]
