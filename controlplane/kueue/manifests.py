"""What Kueue needs on the local control plane, as documents (pure functions).

* its Configuration: the batch/job integration only, Jobs without a queue name left alone,
  no leader election, no certificate management of its own (our CA issues its serving
  certificate), every listener on loopback, the visibility API server off (it would need an
  APIService and the aggregation layer; nothing here reads pending workloads through it);
* its RBAC: the module's manager ClusterRole and its Role on the Secrets of Kueue's namespace,
  bound to the user Kueue's client certificate names;
* its webhook configurations: the module's, with each ``service`` client config turned into a
  loopback ``url`` and our CA as ``caBundle``. Only the webhooks of Jobs and of Kueue's own
  resources are kept: the other integrations are off, so their paths are not served, and a
  Pod or Deployment webhook with ``failurePolicy: Fail`` would refuse every Pod of the node.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CONFIG_API_VERSION = "config.kueue.x-k8s.io/v1beta2"
KUEUE_NAMESPACE = "kueue-system"
#: Kustomize gives every object of Kueue's release this prefix; we do the same.
NAME_PREFIX = "kueue-"
KUEUE_USER = "kueue-controller-manager"
QUEUE_NAME_LABEL = "kueue.x-k8s.io/queue-name"
#: Webhook paths of the kinds we keep (Jobs, and ClusterQueues, Workloads, ... of Kueue itself).
KEPT_PATH_PARTS = ("-batch-v1-job", "-kueue-x-k8s-io-")

Document = dict[str, Any]


@dataclass(frozen=True)
class KueuePorts:
    """Kueue's loopback listeners."""

    webhook: int
    health: int
    metrics: int


def configuration(ports: KueuePorts, host: str, cert_dir: str) -> Document:
    """Kueue's Configuration file for the local control plane."""
    return {
        "apiVersion": CONFIG_API_VERSION,
        "kind": "Configuration",
        "namespace": KUEUE_NAMESPACE,
        "manageJobsWithoutQueueName": False,
        "internalCertManagement": {"enable": False},
        "leaderElection": {"leaderElect": False},
        "webhook": {"host": host, "port": ports.webhook, "certDir": cert_dir},
        "health": {"healthProbeBindAddress": f"{host}:{ports.health}"},
        "metrics": {"bindAddress": f"{host}:{ports.metrics}"},
        "integrations": {"frameworks": ["batch/job"]},
        "featureGates": {"VisibilityOnDemand": False},
        # Kueue's own release raises the client's rate limits the same way: a burst of events
        # makes a burst of Workloads, which must not queue behind client-side throttling.
        "clientConnection": {"qps": 50, "burst": 100},
    }


def cluster_role(module_role: Document) -> Document:
    """The module's manager ClusterRole, renamed as its release names it."""
    role = copy.deepcopy(module_role)
    role["metadata"] = {"name": NAME_PREFIX + module_role["metadata"]["name"]}
    return role


def namespaced_role(module_role: Document) -> Document:
    """A Role of the module (its namespace is kustomize's placeholder), in Kueue's namespace."""
    role = copy.deepcopy(module_role)
    role["metadata"] = {
        "name": NAME_PREFIX + module_role["metadata"]["name"],
        "namespace": KUEUE_NAMESPACE,
    }
    return role


def role_binding(role: Document, user: str = KUEUE_USER) -> Document:
    """Binds ``role`` (a ClusterRole or a Role) to ``user``, under the role's name."""
    metadata = {k: v for k, v in role["metadata"].items() if k in ("name", "namespace")}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{role['kind']}Binding",
        "metadata": metadata,
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role["kind"],
            "name": metadata["name"],
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }


def _kept(webhook: Document) -> bool:
    path = str(((webhook.get("clientConfig") or {}).get("service") or {}).get("path") or "")
    return any(part in path for part in KEPT_PATH_PARTS)


def _to_url(webhook: Document, base_url: str, ca_bundle: str) -> Document:
    result = copy.deepcopy(webhook)
    path = webhook["clientConfig"]["service"]["path"]
    result["clientConfig"] = {"url": base_url + path, "caBundle": ca_bundle}
    return result


def webhook_configurations(
    module_documents: Iterable[Document], base_url: str, ca_pem: bytes
) -> list[Document]:
    """The module's webhook configurations, pointed at ``base_url`` (``https://host:port``)."""
    ca_bundle = base64.b64encode(ca_pem).decode("ascii")
    result = []
    for document in module_documents:
        if document.get("kind") not in (
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ):
            continue
        kept = [
            _to_url(webhook, base_url, ca_bundle)
            for webhook in document.get("webhooks") or []
            if _kept(webhook)
        ]
        if kept:
            result.append(
                {
                    "apiVersion": document["apiVersion"],
                    "kind": document["kind"],
                    "metadata": {"name": NAME_PREFIX + document["metadata"]["name"]},
                    "webhooks": kept,
                }
            )
    return result


def probe_job(queue: str) -> Document:
    """A Job whose server-side dry-run create shows whether Kueue's Job webhook is called: Kueue
    suspends every Job it manages on creation."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "kueue-probe-", "labels": {QUEUE_NAME_LABEL: queue}},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "probe", "image": "probe"}],
                }
            }
        },
    }
