"""The MutatingWebhookConfiguration and ValidatingWebhookConfiguration for JobSinks, as dicts.

Used for ``config/webhook/`` (in-cluster, Service reference), by ``jobsink dev`` and the e2e suite
(``url`` on 127.0.0.1) and by self-managed certificates (which patch ``caBundle`` by these names).

The choices, all deliberate:
- ``failurePolicy: Fail``: an unreachable webhook blocks JobSink writes instead of letting unchecked
  objects in (fail closed, with the apiserver naming the webhook in its error);
- ``sideEffects: None``: the optional dry-run create persists nothing, so ``dryRun`` requests are
  safe;
- ``timeoutSeconds: 5``: well below the apiserver's default 10 s; our dry-run deadline is below it;
- ``matchPolicy: Equivalent``: a future JobSink version is still sent here, converted to v1alpha1;
- only ``jobsinks`` CREATE and UPDATE: DELETE needs no admission and status writes go through the
  ``jobsinks/status`` subresource, which these rules do not match;
- the system namespace is excluded so a broken webhook cannot block its own repair there.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from webhook.settings import WEBHOOK_TIMEOUT_SECONDS

GROUP = "sinks.knative.dev"
MUTATING_NAME = "defaulting.webhook.jobsink.knative.dev"
VALIDATING_NAME = "validation.webhook.jobsink.knative.dev"
SYSTEM_NAMESPACE = "knative-eventing"
SERVICE_NAME = "jobsink-webhook"

Kind = Literal["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


def service_client_config(
    path: str, *, namespace: str = SYSTEM_NAMESPACE, service: str = SERVICE_NAME, port: int = 443
) -> dict[str, Any]:
    return {"service": {"name": service, "namespace": namespace, "path": path, "port": port}}


def url_client_config(path: str, *, host: str = "127.0.0.1", port: int) -> dict[str, Any]:
    """For a webhook running next to the apiserver (local development and tests)."""
    return {"url": f"https://{host}:{port}{path}"}


def _configuration(
    kind: Kind,
    name: str,
    client_config: dict[str, Any],
    ca_bundle: bytes | None,
    system_namespace: str,
) -> dict[str, Any]:
    client_config = dict(client_config)
    if ca_bundle:
        client_config["caBundle"] = base64.b64encode(ca_bundle).decode()
    webhook: dict[str, Any] = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": client_config,
        "failurePolicy": "Fail",
        "sideEffects": "None",
        "timeoutSeconds": WEBHOOK_TIMEOUT_SECONDS,
        "matchPolicy": "Equivalent",
        "rules": [
            {
                "apiGroups": [GROUP],
                "apiVersions": ["*"],
                "resources": ["jobsinks"],
                "operations": ["CREATE", "UPDATE"],
                "scope": "Namespaced",
            }
        ],
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": [system_namespace],
                }
            ]
        },
    }
    if kind == "MutatingWebhookConfiguration":
        # Our patch only adds; nothing another webhook does can make it need re-running.
        webhook["reinvocationPolicy"] = "Never"
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "jobsink"}},
        "webhooks": [webhook],
    }


def mutating(
    client_config: dict[str, Any],
    *,
    ca_bundle: bytes | None = None,
    name: str = MUTATING_NAME,
    system_namespace: str = SYSTEM_NAMESPACE,
) -> dict[str, Any]:
    """``client_config`` from ``service_client_config("/defaulting")`` or ``url_client_config``."""
    return _configuration(
        "MutatingWebhookConfiguration", name, client_config, ca_bundle, system_namespace
    )


def validating(
    client_config: dict[str, Any],
    *,
    ca_bundle: bytes | None = None,
    name: str = VALIDATING_NAME,
    system_namespace: str = SYSTEM_NAMESPACE,
) -> dict[str, Any]:
    """``client_config`` from ``service_client_config("/validation")`` or ``url_client_config``."""
    return _configuration(
        "ValidatingWebhookConfiguration", name, client_config, ca_bundle, system_namespace
    )


def local(port: int, ca_bundle: bytes, *, host: str = "127.0.0.1") -> list[dict[str, Any]]:
    """Both configurations for a webhook served at ``https://host:port``."""
    return [
        mutating(url_client_config("/defaulting", host=host, port=port), ca_bundle=ca_bundle),
        validating(url_client_config("/validation", host=host, port=port), ca_bundle=ca_bundle),
    ]


def in_cluster(
    *, namespace: str = SYSTEM_NAMESPACE, service: str = SERVICE_NAME
) -> list[dict[str, Any]]:
    """Both configurations pointing at the webhook Service; ``caBundle`` is filled at run time."""
    return [
        mutating(
            service_client_config("/defaulting", namespace=namespace, service=service),
            system_namespace=namespace,
        ),
        validating(
            service_client_config("/validation", namespace=namespace, service=service),
            system_namespace=namespace,
        ),
    ]
